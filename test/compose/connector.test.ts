/** connectors/package-status.json and connectors/register.sh. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { argv, composeConfig, REPO_ROOT } from './compose.ts';
import type { ComposeFile } from './compose.ts';

const execFileAsync = promisify(execFile);
const CONNECTOR_FILE = join(REPO_ROOT, 'connectors/package-status.json');
const config = JSON.parse(readFileSync(CONNECTOR_FILE, 'utf8')) as Record<string, unknown>;

let compose: ComposeFile;
beforeAll(async () => {
  compose = await composeConfig();
});

describe('connectors/package-status.json', () => {
  it.each([
    ['name', 'package-status'],
    ['connector.class', 'io.debezium.connector.postgresql.PostgresConnector'],
    ['plugin.name', 'pgoutput'],
    ['topic.prefix', 'dbserver1'],
    ['table.include.list', 'public.package_status'],
    ['message.key.columns', 'public.package_status:package_id'],
    ['publication.autocreate.mode', 'filtered'],
    ['topic.creation.default.replication.factor', '1'],
    ['key.converter', 'org.apache.kafka.connect.json.JsonConverter'],
    ['value.converter', 'org.apache.kafka.connect.json.JsonConverter'],
    ['tasks.max', '1'],
  ])('%s = %s', (key, value) => {
    expect(config[key]).toBe(value);
  });

  it('every value is a string, as the Connect REST API stores them', () => {
    for (const [key, value] of Object.entries(config)) expect(typeof value, key).toBe('string');
  });

  it('names a slot and the publication that deploy/postgres creates', () => {
    expect(config['slot.name']).toMatch(/^[a-z0-9_]{1,63}$/); // Postgres slot names
    const initSql = readFileSync(join(REPO_ROOT, 'deploy/postgres/init/01-package-status.sql'), 'utf8');
    expect(initSql).toContain(
      `CREATE PUBLICATION ${String(config['publication.name'])} FOR TABLE package_status`,
    );
    expect(initSql).toMatch(/REPLICA IDENTITY FULL/);
  });

  it('has a heartbeat, and valid snapshot, decimal, time and tombstone settings', () => {
    expect(Number(config['heartbeat.interval.ms'])).toBeGreaterThan(0);
    expect(['initial', 'always', 'no_data', 'never', 'when_needed', 'initial_only']).toContain(
      config['snapshot.mode'],
    );
    expect(['precise', 'double', 'string']).toContain(config['decimal.handling.mode']);
    expect(['adaptive', 'adaptive_time_microseconds', 'connect']).toContain(config['time.precision.mode']);
    expect(['true', 'false']).toContain(config['tombstones.on.delete']);
  });

  it('uses the same JsonConverter shape for keys and values (the integrator accepts both shapes)', () => {
    expect(['true', 'false']).toContain(config['key.converter.schemas.enable']);
    expect(config['value.converter.schemas.enable']).toBe(config['key.converter.schemas.enable']);
  });

  it('agrees with docker-compose.yml: database, and the partitions topics-init creates', () => {
    const postgres = compose.services.postgres;
    expect(config['database.hostname']).toBe('postgres');
    expect(config['database.port']).toBe('5432');
    expect(config['database.dbname']).toBe(postgres?.environment?.POSTGRES_DB);
    expect(config['database.user']).toBe(postgres?.environment?.POSTGRES_USER);
    expect(config['database.password']).toBe(postgres?.environment?.POSTGRES_PASSWORD);

    const partitions = Number(config['topic.creation.default.partitions']);
    expect(partitions).toBeGreaterThan(1);
    const topicsInit = argv(compose.services['topics-init']?.command);
    expect(topicsInit[topicsInit.indexOf('--partitions') + 1]).toBe(String(partitions));
    expect(topicsInit[topicsInit.indexOf('--topic') + 1]).toBe(
      `${String(config['topic.prefix'])}.public.package_status`,
    );
    expect(String(compose.services.kafka?.environment?.KAFKA_NUM_PARTITIONS)).toBe(String(partitions));
  });

  it('connectors/README.md explains every setting', () => {
    const readme = readFileSync(join(REPO_ROOT, 'connectors/README.md'), 'utf8');
    for (const key of Object.keys(config)) expect(readme, key).toContain(`\`${key}\``);
  });
});

/** A scripted stand-in for the Kafka Connect REST API. */
interface FakeConnect {
  url: string;
  puts: { path: string; body: unknown }[];
  close(): Promise<void>;
}

async function fakeConnect(script: {
  listFailures: number;
  putAnswers: number[];
  statuses: string[];
}): Promise<FakeConnect> {
  const puts: { path: string; body: unknown }[] = [];
  let lists = 0;
  let statusCalls = 0;
  const answer = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/connectors') {
        lists++;
        answer(res, lists <= script.listFailures ? 503 : 200, lists <= script.listFailures ? '{}' : '[]');
      } else if (req.method === 'PUT' && req.url === '/connectors/package-status/config') {
        puts.push({ path: req.url, body: JSON.parse(body) });
        const status = script.putAnswers[Math.min(puts.length - 1, script.putAnswers.length - 1)] ?? 500;
        answer(res, status, status < 300 ? body : '{"error_code":409,"message":"rebalance in progress"}');
      } else if (req.method === 'GET' && req.url === '/connectors/package-status/status') {
        const status = script.statuses[Math.min(statusCalls++, script.statuses.length - 1)] ?? '{}';
        answer(res, 200, status);
      } else {
        answer(res, 404, '{}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    puts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const RUNNING =
  '{"name":"package-status","connector":{"state":"RUNNING","worker_id":"connect:8083"},' +
  '"tasks":[{"id":0,"state":"RUNNING","worker_id":"connect:8083"}],"type":"source"}';
const NO_TASK_YET =
  '{"name":"package-status","connector":{"state":"RUNNING","worker_id":"connect:8083"},"tasks":[]}';
const FAILED =
  '{"name":"package-status","connector":{"state":"RUNNING","worker_id":"connect:8083"},' +
  '"tasks":[{"id":0,"state":"FAILED","worker_id":"connect:8083","trace":"slot in use"}],"type":"source"}';

async function register(connectUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return execFileAsync('sh', [join(REPO_ROOT, 'connectors/register.sh'), CONNECTOR_FILE], {
    env: { PATH: process.env.PATH, CONNECT_URL: connectUrl, WAIT_SECONDS: '30' },
    timeout: 90_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: unknown) => {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    },
  );
}

describe('connectors/register.sh', () => {
  let fake: FakeConnect | null = null;
  afterEach(async () => {
    await fake?.close();
    fake = null;
  });

  it('waits for Connect, PUTs the config (retrying a busy worker) and waits until the task runs', async () => {
    fake = await fakeConnect({ listFailures: 1, putAnswers: [409, 201], statuses: [NO_TASK_YET, RUNNING] });
    const result = await register(fake.url);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/connector 'package-status' created/);
    expect(result.stdout).toMatch(/connector 'package-status' is running/);
    expect(fake.puts).toHaveLength(2);
    expect(fake.puts[1]?.body).toEqual(config);
  });

  it('is idempotent: a second run updates the same connector', async () => {
    fake = await fakeConnect({ listFailures: 0, putAnswers: [200], statuses: [RUNNING] });
    const result = await register(fake.url);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/updated/);
    expect(fake.puts.map((p) => p.path)).toEqual(['/connectors/package-status/config']);
  });

  it('fails when the task fails', async () => {
    fake = await fakeConnect({ listFailures: 0, putAnswers: [201], statuses: [FAILED] });
    const result = await register(fake.url);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/connector 'package-status' failed: .*slot in use/);
  });
});
