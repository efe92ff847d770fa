/**
 * Builds the test broker: librdkafka's mock cluster (a real Kafka wire-protocol broker, in-process in
 * `kafka-mock.c`), compiled from the librdkafka sources that ship inside the `@confluentinc/kafka-javascript`
 * npm package, with our own patch `librdkafka-mock.patch` applied (what it fixes is written at its top).
 *
 * Built once and cached under node_modules/.cache/integrator-harness/, keyed by a hash of every input
 * (launcher source, patch, librdkafka version, configure flags): a new input builds a new binary. Offline:
 * configure without the features that would download or need system libraries (TLS, compression codecs,
 * curl, GSSAPI). Needs gcc, make and patch (`.ci/run` installs them).
 *
 * Concurrent vitest workers: the first takes a lock directory and builds; the others wait for the binary.
 * `npm test` builds it before vitest starts (the `pretest` script runs this file), so no test hook waits
 * on a first build; `npm run bench` and single test files build it on first use.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { missingPrerequisite, requireBinary } from './binaries.ts';

const execFileAsync = promisify(execFile);
const LAUNCHER = fileURLToPath(new URL('./kafka-mock.c', import.meta.url));
const PATCH = fileURLToPath(new URL('./librdkafka-mock.patch', import.meta.url));
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/integrator-harness/', import.meta.url));
const CONFIGURE_FLAGS = [
  '--disable-ssl',
  '--disable-zlib',
  '--disable-zstd',
  '--disable-curl',
  '--disable-gssapi',
  '--disable-lz4-ext',
  '--disable-debug-symbols',
];
/** How long a worker waits for another worker's build before giving up. */
const WAIT_FOR_OTHER_BUILD_MS = 15 * 60_000;
/** Files an in-place build of the npm package leaves in its librdkafka tree: never copied. */
const GENERATED = /\.(o|d|a|so(\.\d+)*|pc|lds)$|^(config\.h|config\.cache|config\.log.*|Makefile\.config)$/;
const NOT_NEEDED = new Set(['tests', 'src-cpp', 'win32', 'packaging', 'examples']);

/** `…/@confluentinc/kafka-javascript/deps/librdkafka`, and the version its header declares. */
function librdkafkaSources(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve('@confluentinc/kafka-javascript/package.json');
  } catch {
    throw new Error(
      'the test broker is built from the librdkafka sources inside @confluentinc/kafka-javascript: run npm ci',
    );
  }
  const dir = join(dirname(pkgJson), 'deps', 'librdkafka');
  const header = join(dir, 'src', 'rdkafka.h');
  if (!existsSync(header)) throw new Error(`librdkafka sources missing: ${header} not found`);
  const m = /#define RD_KAFKA_VERSION\s+(0x[0-9a-fA-F]+)/.exec(readFileSync(header, 'utf8'));
  if (m === null) throw new Error(`cannot read RD_KAFKA_VERSION from ${header}`);
  return { dir, version: m[1] };
}

async function run(cmd: string, args: string[], cwd: string, what: string): Promise<void> {
  try {
    await execFileAsync(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const out = `${e.stdout ?? ''}\n${e.stderr ?? ''}`.trim().slice(-6000);
    throw new Error(`building the test broker: ${what} failed:\n${out || String(err)}`, { cause: err });
  }
}

async function build(target: string, sources: { dir: string }, log: (line: string) => void): Promise<void> {
  const gcc = requireBinary('gcc');
  const make = requireBinary('make');
  const patch = requireBinary('patch');
  if (!existsSync('/usr/include/stdio.h')) throw missingPrerequisite('C headers', 'libc6-dev');
  const work = `${target}.build-${process.pid}-${randomBytes(4).toString('hex')}`;
  const tree = join(work, 'librdkafka');
  const started = Date.now();
  log(`building the test broker (librdkafka mock cluster + ${basename(PATCH)}), first run only…`);
  try {
    await mkdir(work, { recursive: true });
    await cp(sources.dir, tree, {
      recursive: true,
      filter: (src) => {
        const name = basename(src);
        if (src === sources.dir) return true;
        if (dirname(src) === sources.dir && NOT_NEEDED.has(name)) return false;
        return !GENERATED.test(name);
      },
    });
    await run(patch, ['-p1', '--batch', '--forward', '-i', PATCH], tree, 'patch');
    await run('./configure', CONFIGURE_FLAGS, tree, `./configure ${CONFIGURE_FLAGS.join(' ')}`);
    const jobs = String(Math.max(1, Math.min(2, cpus().length)));
    await run(make, ['-j', jobs, '-C', 'src', 'librdkafka.a'], tree, 'make');
    const tmp = `${target}.${process.pid}.tmp`;
    await run(
      gcc,
      [
        '-O2',
        '-Wall',
        '-I',
        join(tree, 'src'),
        '-o',
        tmp,
        LAUNCHER,
        join(tree, 'src', 'librdkafka.a'),
      ].concat(['-lm', '-ldl', '-lpthread', '-lrt']),
      work,
      `compiling ${LAUNCHER}`,
    );
    await rename(tmp, target);
    log(`test broker built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${target}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Build unless cached; one builder at a time across processes (a lock directory holding the builder's pid). */
async function buildOnce(
  target: string,
  sources: { dir: string },
  log: (line: string) => void,
): Promise<void> {
  const lock = `${target}.lock`;
  const deadline = Date.now() + WAIT_FOR_OTHER_BUILD_MS;
  for (;;) {
    if (existsSync(target)) return;
    try {
      await mkdir(lock);
    } catch {
      // Someone else builds: wait for the binary, or take over a lock whose builder died.
      const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => 'NaN'));
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if ((Number.isInteger(owner) && !alive(owner)) || (!Number.isInteger(owner) && age > 30_000)) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for another process to build ${target}`);
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      await writeFile(join(lock, 'pid'), String(process.pid));
      if (!existsSync(target)) await build(target, sources, log);
      return;
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}

let built: Promise<string> | undefined;

/** Path of the launcher binary, built on first use. */
export function kafkaMockBinary(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  built ??= (async () => {
    const sources = librdkafkaSources();
    const hash = createHash('sha256')
      .update(await readFile(LAUNCHER))
      .update(await readFile(PATCH))
      .update(`librdkafka ${sources.version}\n${CONFIGURE_FLAGS.join(' ')}\n`)
      .digest('hex')
      .slice(0, 16);
    await mkdir(CACHE_DIR, { recursive: true });
    const target = `${CACHE_DIR}kafka-mock-${hash}`;
    await buildOnce(target, sources, log);
    return target;
  })();
  // A failed build must not poison later attempts in the same process.
  built.catch(() => (built = undefined));
  return built;
}

// `tsx test/harness/kafka-build.ts` (the pretest script): build now, print where.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  kafkaMockBinary().then(
    (bin) => process.stdout.write(`test broker: ${bin}\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
