/** docker-compose.yml: valid for Compose, converging in dependency order, and every file it uses exists. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  argv,
  bindMounts,
  composeConfig,
  dependencies,
  dockerCompose,
  publishedPorts,
  REPO_ROOT,
} from './compose.ts';
import type { ComposeFile, ComposeService } from './compose.ts';
import { INTEGRATOR_NODE_FLAGS } from '../harness/runtime.ts';

let compose: ComposeFile;
let services: [string, ComposeService][];

beforeAll(async () => {
  compose = await composeConfig();
  services = Object.entries(compose.services);
});

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

describe('docker-compose.yml', () => {
  it('passes `docker-compose config -q`', async () => {
    const { stderr } = await dockerCompose(['config', '-q']);
    expect(stderr).toBe('');
  });

  it('has the whole pipeline', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'connect',
        'connector-init',
        'generator',
        'grafana',
        'integrator',
        'integrator-proxy',
        'k6',
        'kafka',
        'kafka-ui',
        'mock-customers',
        'postgres',
        'prometheus',
        'redis',
        'topics-init',
        'tracking-api',
      ].sort(),
    );
  });

  it('starts in dependency order: only healthy / completed conditions, on services that can satisfy them', () => {
    for (const [name, svc] of services) {
      for (const [dep, condition] of Object.entries(dependencies(svc))) {
        expect(['service_healthy', 'service_completed_successfully'], `${name} → ${dep}`).toContain(
          condition,
        );
        const target = compose.services[dep];
        expect(target, `${name} depends on unknown ${dep}`).toBeDefined();
        if (condition === 'service_healthy')
          expect(target?.healthcheck, `${dep} has no healthcheck`).toBeDefined();
        if (condition === 'service_completed_successfully')
          expect(target?.restart, `${dep} must not restart`).toBe('no');
        // A default service may not wait for one that only starts under a profile.
        if (!svc.profiles) expect(target?.profiles, `${name} → ${dep} (profile)`).toBeUndefined();
      }
    }
    expect(dependencies(service('connector-init'))).toMatchObject({ connect: 'service_healthy' });
    expect(dependencies(service('integrator'))).toMatchObject({
      'topics-init': 'service_completed_successfully',
      kafka: 'service_healthy',
      redis: 'service_healthy',
    });
    expect(dependencies(service('integrator-proxy'))).toMatchObject({ integrator: 'service_healthy' });
    expect(dependencies(service('generator'))).toMatchObject({
      'connector-init': 'service_completed_successfully',
      integrator: 'service_healthy',
    });
  });

  it('publishes the documented, non-default host ports', () => {
    const ports = Object.fromEntries(
      services.filter(([, s]) => s.ports).map(([n, s]) => [n, publishedPorts(s)]),
    );
    expect(ports).toEqual({
      postgres: [15432],
      kafka: [19092],
      connect: [18083],
      redis: [16379],
      'integrator-proxy': [18080],
      'mock-customers': [14000],
      prometheus: [19090],
      grafana: [13000],
      'kafka-ui': [18081],
      'tracking-api': [13001],
    });
    const docs = readFileSync(join(REPO_ROOT, 'docs/PIPELINE.md'), 'utf8');
    for (const port of Object.values(ports).flat())
      expect(docs, `docs/PIPELINE.md mentions ${port}`).toContain(String(port));
  });

  it('scales the integrator (`--scale integrator=N`): no host port of its own, the proxy on 18080 reaches every replica', () => {
    const integrator = service('integrator');
    expect(integrator.ports ?? []).toEqual([]);
    expect(integrator.environment?.KAFKA_GROUP_ID).toBeTruthy(); // one group…
    expect(integrator.environment?.REDIS_URL).toBe('redis://redis:6379'); // …one store, the same for every replica
    // Nothing that would tie the service to one container.
    const raw = integrator as Record<string, unknown>;
    expect(raw.container_name).toBeUndefined();
    expect(raw.hostname).toBeUndefined();
    const proxy = service('integrator-proxy');
    const conf = bindMounts(proxy).find((m) => m.target === '/etc/nginx/conf.d/default.conf');
    expect(conf && relative(REPO_ROOT, conf.source)).toBe('deploy/nginx/integrator.conf');
    const nginx = readFileSync(join(REPO_ROOT, 'deploy/nginx/integrator.conf'), 'utf8');
    const upstream = /upstream (\w+) \{([^}]*)\}/.exec(nginx);
    expect(upstream?.[2]).toMatch(/^\s*server integrator:8080\b/m);
    expect(nginx).toContain(`proxy_pass http://${upstream?.[1]};`);
    expect(nginx).toMatch(/^\s*listen 8080;/m);
    expect(publishedPorts(proxy)).toEqual([18080]);
    // k6 compares the integrator's metrics before and after a run: both from the replica the proxy keeps.
    expect(service('k6').environment?.INTEGRATOR_URL).toBe('http://integrator-proxy:8080');
    // The live stream goes through unbuffered.
    expect(nginx).toMatch(/proxy_buffering off;/);
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('docker compose up --scale integrator=3');
  });

  it('keeps the optional parts behind profiles, and a topic browser in the default one', () => {
    expect(service('tracking-api').profiles?.sort()).toEqual(['k6', 'load']);
    expect(service('k6').profiles).toEqual(['k6']);
    expect(service('generator').profiles).toBeUndefined();
    expect(service('kafka-ui').profiles).toBeUndefined();
    expect(service('kafka-ui').image).toMatch(/^ghcr\.io\/kafbat\/kafka-ui:/);
    expect(service('kafka-ui').environment).toMatchObject({
      KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS: 'kafka:29092',
      KAFKA_CLUSTERS_0_KAFKACONNECT_0_ADDRESS: 'http://connect:8083',
    });
  });

  it('pins every image (no :latest, no untagged)', () => {
    for (const [name, svc] of services) {
      expect(svc.image, name).toMatch(/:[\w.-]+$/);
      expect(svc.image, name).not.toMatch(/:latest$/);
    }
  });

  it('runs Postgres with logical decoding', () => {
    expect(argv(service('postgres').command).join(' ')).toContain('wal_level=logical');
  });

  it('runs Redis as README "Configuration" asks of the store: AOF, its fsync policy, no eviction, a volume', () => {
    const args = argv(service('redis').command);
    const flag = (name: string): string | undefined => args[args.indexOf(`--${name}`) + 1];
    expect(flag('appendonly')).toBe('yes');
    expect(flag('maxmemory-policy')).toBe('noeviction');
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| `REDIS_URL`')) ?? '';
    expect(row).toContain('`appendonly yes`');
    expect(row).toContain(`\`appendfsync ${String(flag('appendfsync'))}\``);
    expect(row).toContain('`maxmemory-policy noeviction`');
    expect(
      service('redis').volumes?.some((v) => typeof v === 'string' && v.startsWith('redis-data:/data')),
    ).toBe(true);
  });

  it("passes Kafka Connect's worker settings the way its image reads them (CONNECT_*, or the entrypoint's five)", () => {
    const entrypointReads = [
      'BOOTSTRAP_SERVERS',
      'GROUP_ID',
      'CONFIG_STORAGE_TOPIC',
      'OFFSET_STORAGE_TOPIC',
      'STATUS_STORAGE_TOPIC',
    ];
    const env = Object.keys(service('connect').environment ?? {});
    for (const name of env)
      expect(entrypointReads.includes(name) || name.startsWith('CONNECT_'), name).toBe(true);
    for (const topic of ['CONFIG', 'OFFSET', 'STATUS'])
      expect(String(service('connect').environment?.[`CONNECT_${topic}_STORAGE_REPLICATION_FACTOR`])).toBe(
        '1',
      );
  });

  it('configures the integrator as CONTRACT §2 asks', () => {
    const env = service('integrator').environment ?? {};
    for (const name of ['KAFKA_BROKERS', 'REDIS_URL', 'CUSTOMERS_FILE', 'ADMIN_TOKEN', 'DATABASE_URL']) {
      expect(env[name], name).toBeTruthy();
    }
    expect(env.KAFKA_BROKERS).toBe('kafka:29092');
    expect(env.KAFKA_TOPICS).toBe('dbserver1.public.package_status');
    expect(env.OUTBOX_TOPICS).toBe('outbox.event.package');
    const customers = bindMounts(service('integrator')).find((m) => m.target === env.CUSTOMERS_FILE);
    expect(customers && relative(REPO_ROOT, customers.source)).toBe('deploy/customers.compose.json');
  });
});

describe('every repo file a service uses exists', () => {
  it('bind-mount sources', () => {
    for (const [name, svc] of services) {
      for (const mount of bindMounts(svc)) {
        expect(existsSync(mount.source), `${name}: ${mount.source}`).toBe(true);
        expect(relative(REPO_ROOT, mount.source).startsWith('..'), `${name} mounts outside the repo`).toBe(
          false,
        );
      }
    }
  });

  it('commands and entrypoints: mounted files, and dist/ files the image builds from sources', () => {
    const build = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    let checked = 0;
    for (const [name, svc] of services) {
      for (const token of [...argv(svc.entrypoint), ...argv(svc.command)]) {
        if (token.startsWith('dist/')) {
          // Built by `npm run build` (tsc, tsconfig.build.json) from <path>.ts, which the Dockerfile copies in.
          expect(svc.build, `${name} runs ${token} but is not built from the repo`).toBeDefined();
          const source = token.replace(/^dist\//, '').replace(/\.js$/, '.ts');
          expect(existsSync(join(REPO_ROOT, source)), `${name}: ${token} ← ${source}`).toBe(true);
          const top = source.split('/')[0] as string;
          expect(build.include, `tsconfig.build.json builds ${top}/`).toContain(top);
          expect(dockerfile, `Dockerfile copies ${top}/`).toMatch(
            new RegExp(`^COPY ${top} \\./${top}$`, 'm'),
          );
          checked++;
        } else if (token.startsWith('/')) {
          const mount = bindMounts(svc).find((m) => token === m.target || token.startsWith(`${m.target}/`));
          if (!mount) continue; // a file of the image itself (e.g. /opt/kafka/bin/kafka-topics.sh)
          const hostPath = join(mount.source, token.slice(mount.target.length));
          expect(existsSync(hostPath) && statSync(hostPath).isFile(), `${name}: ${token} → ${hostPath}`).toBe(
            true,
          );
          checked++;
        }
      }
    }
    // integrator, mock-customers, generator, tracking-api (dist/…), connector-init (3 files), k6 (1 file)
    expect(checked).toBe(8);
  });

  it('the Dockerfile builds with npm ci + npm run build and runs the integrator as a non-root user', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:24\.\d+\.\d+-slim AS build$/m);
    expect(dockerfile).toMatch(/^RUN npm ci$/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    // The same node flags as `npm start` and every test and bench run (test/harness/integrator.ts); npm
    // start, like the image, runs the compiled build (through tsx the same work took more CPU).
    const cmd = ['node', ...INTEGRATOR_NODE_FLAGS, 'dist/src/main.js'];
    expect(dockerfile).toContain(`\nCMD ${JSON.stringify(cmd).replaceAll(',', ', ')}\n`);
    expect(argv(service('integrator').command), 'compose runs the integrator as the image does').toEqual(cmd);
    expect(dockerfile).toMatch(/^ENV MALLOC_ARENA_MAX=2$/m);
    expect(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).toContain(
      `"start": "tsc -p tsconfig.build.json --incremental --tsBuildInfoFile dist/.tsbuildinfo && MALLOC_ARENA_MAX=\${MALLOC_ARENA_MAX:-2} node ${INTEGRATOR_NODE_FLAGS.join(' ')} dist/src/main.js"`,
    );
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.build).toMatch(/tsconfig\.build\.json/);
  });
});

describe('.dockerignore', () => {
  it('keeps node_modules, .git and local state out of the build context, but not what the Dockerfile copies', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', '.git', 'dist', '.env']) expect(ignored, entry).toContain(entry);
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      (m[1] ?? '').split(/\s+/),
    );
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'src', 'load']));
    for (const path of copied) {
      expect(existsSync(join(REPO_ROOT, path)), path).toBe(true);
      expect(
        ignored.some((i) => path === i || path.startsWith(`${i}/`)),
        `${path} is ignored`,
      ).toBe(false);
    }
  });
});
