/** connectors/package-status.json, connectors/outbox.json and connectors/register.sh. */
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
import { AGGREGATE_TYPE } from '../../load/tracking-api/outbox.ts';

const execFileAsync = promisify(execFile);
const CONNECTOR_FILE = join(REPO_ROOT, 'connectors/package-status.json');
const OUTBOX_FILE = join(REPO_ROOT, 'connectors/outbox.json');
const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const config = read(CONNECTOR_FILE);
const outbox = read(OUTBOX_FILE);
const both = [
  ['package-status', config],
  ['outbox', outbox],
] as const;

/** topics-init's shell loop: the topics it creates and the partitions it gives them. */
function topicsInit(compose: ComposeFile): { topics: string[]; partitions: string } {
  const script = argv(compose.services['topics-init']?.command).join(' ');
  const topics = /for topic in ([^;]+);/.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
  const partitions = /--partitions (\d+)/.exec(script)?.[1] ?? '';
  return { topics, partitions };
}

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
    ['publication.autocreate.mode', 'disabled'],
    ['topic.creation.default.replication.factor', '1'],
    ['key.converter', 'org.apache.kafka.connect.json.JsonConverter'],
    ['value.converter', 'org.apache.kafka.connect.json.JsonConverter'],
    ['tasks.max', '1'],
  ])('%s = %s', (key, value) => {
    expect(config[key]).toBe(value);
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
    const init = topicsInit(compose);
    expect(init.partitions).toBe(String(partitions));
    expect(init.topics).toContain(`${String(config['topic.prefix'])}.public.package_status`);
    expect(String(compose.services.kafka?.environment?.KAFKA_NUM_PARTITIONS)).toBe(String(partitions));
  });
});

describe('connectors/outbox.json (README "Outbox source")', () => {
  it.each([
    ['name', 'outbox'],
    ['connector.class', 'io.debezium.connector.postgresql.PostgresConnector'],
    ['plugin.name', 'pgoutput'],
    ['table.include.list', 'public.outbox'],
    ['publication.autocreate.mode', 'disabled'],
    ['transforms', 'outbox'],
    ['transforms.outbox.type', 'io.debezium.transforms.outbox.EventRouter'],
    // The headers the integrator reads: `id` (always added) and `eventType` from the type column.
    ['transforms.outbox.table.field.event.id', 'id'],
    ['transforms.outbox.table.fields.additional.placement', 'type:header:eventType'],
    ['transforms.outbox.table.field.event.key', 'aggregateid'],
    ['transforms.outbox.table.field.event.payload', 'payload'],
    // The EventRouter takes inserts only: updates would be warned about, deletes dropped.
    ['skipped.operations', 'u,d,t'],
    ['tasks.max', '1'],
  ])('%s = %s', (key, value) => {
    expect(outbox[key]).toBe(value);
  });

  it('routes to the topic the integrator reads as OUTBOX_TOPICS, which topics-init creates', () => {
    const topic = String(outbox['transforms.outbox.route.topic.replacement']).replace(
      '${routedByValue}',
      AGGREGATE_TYPE,
    );
    expect(topic).toBe('outbox.event.package');
    expect(outbox['transforms.outbox.route.by.field']).toBe('aggregatetype');
    expect(compose.services.integrator?.environment?.OUTBOX_TOPICS).toBe(topic);
    const init = topicsInit(compose);
    expect(init.topics).toContain(topic);
    expect(outbox['topic.creation.default.partitions']).toBe(init.partitions);
  });

  it('has its own slot, publication and topic prefix, beside the package-status connector', () => {
    for (const key of ['slot.name', 'publication.name', 'topic.prefix'])
      expect(outbox[key], key).not.toBe(config[key]);
    for (const key of [
      'database.hostname',
      'database.port',
      'database.user',
      'database.password',
      'database.dbname',
    ])
      expect(outbox[key], key).toBe(config[key]);
  });
});

describe('both connectors', () => {
  it.each(both)('%s: every value is a string, as the Connect REST API stores them', (_name, c) => {
    for (const [key, value] of Object.entries(c)) expect(typeof value, key).toBe('string');
  });

  it.each(both)(
    '%s: its name is its file name (register.sh PUTs /connectors/<file name>/config)',
    (name, c) => {
      expect(c.name).toBe(name);
    },
  );

  it.each(both)('%s: slot and publication names Postgres accepts', (_name, c) => {
    expect(c['slot.name']).toMatch(/^[a-z0-9_]{1,63}$/);
    expect(c['publication.name']).toMatch(/^[a-z0-9_]{1,63}$/);
  });

  it.each(both)('%s: a heartbeat that writes, so a quiet table does not hold WAL', (_name, c) => {
    expect(Number(c['heartbeat.interval.ms'])).toBeGreaterThan(0);
    expect(String(c['heartbeat.action.query'])).toMatch(/^INSERT INTO debezium_heartbeat /);
  });

  it('connectors/README.md explains every setting of both', () => {
    const readme = readFileSync(join(REPO_ROOT, 'connectors/README.md'), 'utf8');
    for (const [name, c] of both)
      for (const key of Object.keys(c)) expect(readme, `${name}: ${key}`).toContain(`\`${key}\``);
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
  const putCalls = new Map<string, number>();
  const statusCalls = new Map<string, number>();
  const nth = (counts: Map<string, number>, name: string): number => {
    const n = counts.get(name) ?? 0;
    counts.set(name, n + 1);
    return n;
  };
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
      } else if (req.method === 'PUT' && /^\/connectors\/[a-z-]+\/config$/.test(req.url ?? '')) {
        const name = (req.url ?? '').split('/')[2] ?? '';
        puts.push({ path: req.url ?? '', body: JSON.parse(body) });
        const n = nth(putCalls, name);
        const status = script.putAnswers[Math.min(n, script.putAnswers.length - 1)] ?? 500;
        answer(res, status, status < 300 ? body : '{"error_code":409,"message":"rebalance in progress"}');
      } else if (req.method === 'GET' && /^\/connectors\/[a-z-]+\/status$/.test(req.url ?? '')) {
        const name = (req.url ?? '').split('/')[2] ?? '';
        const n = nth(statusCalls, name);
        const status = (script.statuses[Math.min(n, script.statuses.length - 1)] ?? '{}').replace(
          '"package-status"',
          JSON.stringify(name),
        );
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

async function register(
  connectUrl: string,
  files = [CONNECTOR_FILE],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return execFileAsync('sh', [join(REPO_ROOT, 'connectors/register.sh'), ...files], {
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

  it('registers several connectors in turn, as compose does, each waited for until it runs', async () => {
    fake = await fakeConnect({ listFailures: 0, putAnswers: [201], statuses: [NO_TASK_YET, RUNNING] });
    const result = await register(fake.url, [CONNECTOR_FILE, OUTBOX_FILE]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /connector 'package-status' is running[\s\S]*connector 'outbox' is running/,
    );
    expect(fake.puts.map((p) => p.path)).toEqual([
      '/connectors/package-status/config',
      '/connectors/outbox/config',
    ]);
    expect(fake.puts.map((p) => p.body)).toEqual([config, outbox]);
  });

  it('stops at the first connector that fails', async () => {
    fake = await fakeConnect({ listFailures: 0, putAnswers: [201], statuses: [FAILED] });
    const result = await register(fake.url, [CONNECTOR_FILE, OUTBOX_FILE]);
    expect(result.code).toBe(1);
    expect(fake.puts.map((p) => p.path)).toEqual(['/connectors/package-status/config']);
  });

  it('fails when the task fails', async () => {
    fake = await fakeConnect({ listFailures: 0, putAnswers: [201], statuses: [FAILED] });
    const result = await register(fake.url);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/connector 'package-status' failed: .*slot in use/);
  });
});
