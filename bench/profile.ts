/**
 * Summarises V8 .cpuprofile files (`node --cpu-prof`): self time per function and per package/file, so a
 * missed target comes with where the CPU went. Also runnable: `tsx bench/profile.ts <dir-or-file> [top]`.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** node_modules/<pkg> (scoped too), a project file, node internals, or the V8 pseudo-frames. */
export function bucketOf(url: string, functionName: string): string {
  if (url === '') return `(${functionName || 'anonymous'})`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  return relative(ROOT, path);
}

export interface ProfileSummary {
  totalMs: number;
  functions: { name: string; where: string; ms: number }[];
  buckets: { bucket: string; ms: number }[];
}

export function summariseProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, { name: string; where: string; ms: number }>();
  const bucket = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    if (!node) continue;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const b = bucketOf(url, functionName);
    const where =
      url === '' ? '' : `${b}${b.includes('.') ? '' : ` ${url.split('/').pop()}`}:${lineNumber + 1}`;
    const key = `${functionName}@${url}:${lineNumber}`;
    const entry = fn.get(key) ?? { name: functionName || '(anonymous)', where, ms: 0 };
    entry.ms += dt;
    fn.set(key, entry);
    bucket.set(b, (bucket.get(b) ?? 0) + dt);
  }
  return {
    totalMs: total,
    functions: [...fn.values()].sort((a, b) => b.ms - a.ms),
    buckets: [...bucket.entries()].map(([b, ms]) => ({ bucket: b, ms })).sort((a, b) => b.ms - a.ms),
  };
}

export function formatSummary(s: ProfileSummary, top: number): string {
  const pct = (ms: number): string => `${((ms / Math.max(1, s.totalMs)) * 100).toFixed(1)}%`;
  const lines = [`  sampled ${(s.totalMs / 1000).toFixed(1)} s; self time by package/file:`];
  for (const b of s.buckets.slice(0, 15)) lines.push(`    ${pct(b.ms).padStart(6)}  ${b.bucket}`);
  lines.push(`  top ${top} functions by self time:`);
  for (const f of s.functions.slice(0, top))
    lines.push(`    ${pct(f.ms).padStart(6)}  ${f.name}  ${f.where}`);
  return lines.join('\n');
}

function busyMs(s: ProfileSummary): number {
  return s.totalMs - (s.buckets.find((b) => b.bucket === '((idle))')?.ms ?? 0);
}

/**
 * Summarise the .cpuprofile files in `dir` (or one file). `node --cpu-prof` writes one file per thread
 * (under tsx, the module loader's worker thread too): the thread with the most non-idle time is taken as
 * the main thread and shown in full; the others get one line each.
 */
export async function summariseProfileDir(dirOrFile: string, top = 25): Promise<string> {
  const files = (await stat(dirOrFile)).isDirectory()
    ? (await readdir(dirOrFile)).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dirOrFile, f))
    : [dirOrFile];
  if (files.length === 0) return `  (no .cpuprofile in ${dirOrFile})`;
  const summaries = await Promise.all(
    files.map(async (f) => ({
      file: f,
      s: summariseProfile(JSON.parse(await readFile(f, 'utf8')) as CpuProfile),
    })),
  );
  summaries.sort((a, b) => busyMs(b.s) - busyMs(a.s));
  const [main, ...others] = summaries;
  const share = (s: ProfileSummary): string => `${((busyMs(s) / Math.max(1, s.totalMs)) * 100).toFixed(0)}%`;
  const lines = [
    `  main thread (${relative(ROOT, main!.file)}): ${(busyMs(main!.s) / 1000).toFixed(1)} s busy of ${(main!.s.totalMs / 1000).toFixed(1)} s (${share(main!.s)})`,
    formatSummary(main!.s, top),
  ];
  for (const o of others) {
    lines.push(
      `  other thread (${relative(ROOT, o.file)}): ${(busyMs(o.s) / 1000).toFixed(1)} s busy of ${(o.s.totalMs / 1000).toFixed(1)} s (${share(o.s)})`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = process.argv[2];
  if (!target) {
    console.error('usage: tsx bench/profile.ts <dir-or-.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(await summariseProfileDir(target, Number(process.argv[3] ?? 30)));
}
