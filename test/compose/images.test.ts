/**
 * Every image the stack runs, against the table kept beside the compose file (deploy/image-env.json):
 * - pinned to the tag the table records, with the registry page (or source) that documents that tag;
 * - every environment variable a service sets is one its image reads (per the documentation the table
 *   cites), or one the service's own scripts read (checked in those files);
 * - every program a health check or an entrypoint runs is one the image has (per the table's source).
 * Nothing is pulled here (no Docker engine): the table is the reviewed record, this keeps the files true to it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { argv, composeConfig, REPO_ROOT } from './compose.ts';
import type { ComposeFile, ComposeService } from './compose.ts';

interface ImageEntry {
  tag: string;
  tagSource: string;
  env: Record<string, string>;
  binaries: Record<string, string>;
}

interface Table {
  images: Record<string, ImageEntry>;
  built: { dockerfile: string; base: string };
  scripts: Record<string, string[]>;
}

const table = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/image-env.json'), 'utf8')) as Table;
const dockerfile = readFileSync(join(REPO_ROOT, table.built.dockerfile), 'utf8');

/** `quay.io/debezium/connect:2.7.4.Final` → repository and tag (the tag follows the last `:` after the last `/`). */
export function splitImage(ref: string): { repository: string; tag: string | null } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash
    ? { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) }
    : { repository: ref, tag: null };
}

/** The Dockerfile's base images (FROM lines that are not earlier stages), the last one being the runtime's. */
function dockerfileBases(): string[] {
  const stages = new Set<string>();
  const bases: string[] = [];
  for (const m of dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$/gim)) {
    if (!stages.has(m[1]!)) bases.push(m[1]!);
    if (m[2]) stages.add(m[2]);
  }
  return bases;
}

/** The programs a health check runs: CMD's executable, or for CMD-SHELL the shell and each command in it. */
export function healthcheckPrograms(test: string[] | string): string[] {
  const words = Array.isArray(test) ? test : ['CMD-SHELL', test];
  if (words[0] === 'CMD') return [words[1]!];
  if (words[0] !== 'CMD-SHELL') throw new Error(`unsupported health check ${JSON.stringify(test)}`);
  const script = words
    .slice(1)
    .join(' ')
    .replace(/"[^"]*"|'[^']*'/g, '""'); // quoted text is no command
  const commands = script.split(/\|\||&&|[|;]/).map((part) =>
    part
      .trim()
      .split(/\s+/)
      .find((w) => !/^\w+=/.test(w)),
  );
  return ['sh', ...commands.filter((c): c is string => Boolean(c))];
}

/** Does this script read the variable (process.env.X, env['X'], str('X'), __ENV.X, $X / ${X…})? */
export function reads(source: string, name: string): boolean {
  const patterns = [
    `process.env.${name}`,
    `env.${name}`,
    `'${name}'`,
    `"${name}"`,
    `__ENV.${name}`,
    `\${${name}`,
    `$${name}`,
  ];
  return patterns.some((p) => {
    let at = source.indexOf(p);
    while (at !== -1) {
      const next = source[at + p.length] ?? '';
      if (!/\w/.test(next)) return true;
      at = source.indexOf(p, at + 1);
    }
    return false;
  });
}

let compose: ComposeFile;
let services: [string, ComposeService][];
beforeAll(async () => {
  compose = await composeConfig();
  services = Object.entries(compose.services);
});

/** The table entry of the image a service runs: its own, or the Dockerfile's runtime base when built here. */
function imageOf(name: string, svc: ComposeService): { repository: string; entry: ImageEntry } {
  if (svc.build) {
    const runtime = splitImage(dockerfileBases().at(-1)!);
    expect(runtime.repository, `${name}: the Dockerfile's runtime base`).toBe(table.built.base);
    return { repository: runtime.repository, entry: table.images[runtime.repository]! };
  }
  const { repository } = splitImage(svc.image ?? '');
  const entry = table.images[repository];
  if (!entry) throw new Error(`${name}: image ${svc.image} is not in deploy/image-env.json`);
  return { repository, entry };
}

describe('deploy/image-env.json and the images', () => {
  it('every image reference, in compose and the Dockerfile, is pinned to the tag the table documents', () => {
    const refs = [
      ...services.filter(([, s]) => !s.build).map(([n, s]) => [n, s.image ?? ''] as const),
      ...dockerfileBases().map((ref) => ['Dockerfile', ref] as const),
    ];
    const used = new Set<string>();
    for (const [where, ref] of refs) {
      const { repository, tag } = splitImage(ref);
      const entry = table.images[repository];
      expect(entry, `${where}: ${ref} is not in deploy/image-env.json`).toBeDefined();
      expect(tag, `${where}: ${ref}`).toBe(entry?.tag);
      used.add(repository);
    }
    // And the table holds nothing stale.
    expect([...used].sort()).toEqual(Object.keys(table.images).sort());
  });

  it.each(Object.entries(table.images))(
    '%s: a release tag, and where the registry documents it',
    (_repo, entry) => {
      expect(entry.tag).toMatch(/^v?\d+\.\d+(\.\d+)?([.-][\w.]+)?$/); // e.g. 16.15, v2.53.0, 2.7.4.Final, 7.4.11-alpine
      expect(entry.tag).not.toMatch(/latest/);
      expect(entry.tagSource).toMatch(/https:\/\//);
      // The source names the version it vouches for.
      const version = /^v?(\d+\.\d+(?:\.\d+)?)/.exec(entry.tag)?.[1] ?? '';
      expect(entry.tagSource).toContain(version);
    },
  );

  it('every environment variable a service sets is one its image reads, or one its own scripts read', () => {
    let checked = 0;
    for (const [name, svc] of services) {
      const { repository, entry } = imageOf(name, svc);
      const scripts = (table.scripts[name] ?? []).map((f) => readFileSync(join(REPO_ROOT, f), 'utf8'));
      for (const variable of Object.keys(svc.environment ?? {})) {
        const documented = Object.hasOwn(entry.env, variable);
        const readByScript = scripts.some((source) => reads(source, variable));
        expect(
          documented || readByScript,
          `${name} sets ${variable}: neither ${repository} reads it (deploy/image-env.json) nor ${(table.scripts[name] ?? ['its scripts']).join(', ')}`,
        ).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('each documented variable says where it is documented, and is set by some service (no stale rows)', () => {
    const set = new Map<string, Set<string>>();
    for (const [name, svc] of services) {
      const { repository } = imageOf(name, svc);
      for (const v of Object.keys(svc.environment ?? {}))
        set.set(repository, (set.get(repository) ?? new Set()).add(v));
    }
    for (const [repository, entry] of Object.entries(table.images)) {
      for (const [variable, source] of Object.entries(entry.env)) {
        expect(source.length, `${repository} ${variable}`).toBeGreaterThan(10);
        expect(set.get(repository)?.has(variable), `${repository} ${variable} is set by no service`).toBe(
          true,
        );
      }
    }
  });

  it('every program a health check or an entrypoint runs is one its image has', () => {
    let checked = 0;
    for (const [name, svc] of services) {
      const { repository, entry } = imageOf(name, svc);
      const programs = [
        ...(svc.healthcheck ? healthcheckPrograms(svc.healthcheck.test) : []),
        ...argv(svc.entrypoint).slice(0, 1),
      ];
      for (const program of programs) {
        expect(
          Object.hasOwn(entry.binaries, program),
          `${name} runs ${program}, which ${repository} is not known to have`,
        ).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it('the services that run scripts of this repo name them, and they exist', () => {
    for (const [name, files] of Object.entries(table.scripts)) {
      expect(compose.services[name], name).toBeDefined();
      for (const f of files) expect(() => readFileSync(join(REPO_ROOT, f)), f).not.toThrow();
    }
  });
});

describe('the checks themselves', () => {
  it.each([
    ['postgres:16.15', 'postgres', '16.15'],
    ['quay.io/debezium/connect:2.7.4.Final', 'quay.io/debezium/connect', '2.7.4.Final'],
    ['localhost:5000/app', 'localhost:5000/app', null],
  ])('splitImage(%s)', (ref, repository, tag) => {
    expect(splitImage(ref)).toEqual({ repository, tag });
  });

  it('finds the programs of a shell health check, not the words inside its quotes', () => {
    expect(
      healthcheckPrograms([
        'CMD-SHELL',
        'psql -h 127.0.0.1 -tAc "SELECT 1 | 2; ls" | grep -qx 2 && FOO=1 curl -fs x > /dev/null',
      ]),
    ).toEqual(['sh', 'psql', 'grep', 'curl']);
    expect(healthcheckPrograms(['CMD', 'redis-cli', 'ping'])).toEqual(['redis-cli']);
  });

  it('recognises a script reading a variable, not a longer name or a mention in prose', () => {
    expect(reads('const url = process.env.DATABASE_URL;', 'DATABASE_URL')).toBe(true);
    expect(reads("str('KAFKA_BROKERS', '')", 'KAFKA_BROKERS')).toBe(true);
    expect(reads('curl "${CONNECT_URL:-x}"', 'CONNECT_URL')).toBe(true);
    expect(reads('process.env.DATABASE_URL_RO', 'DATABASE_URL')).toBe(false);
    expect(reads('set DATABASE_URL first', 'DATABASE_URL')).toBe(false);
  });
});
