import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { killOnExit } from './binaries.ts';
import { kafkaMockBinary } from './kafka-build.ts';

/**
 * A librdkafka mock cluster (real Kafka wire protocol, in a child process): the test broker. Built from the
 * librdkafka sources inside @confluentinc/kafka-javascript with a small patch of our own (see kafka-build.ts
 * and librdkafka-mock.patch).
 */
export interface KafkaMock {
  /** `host:port` bootstrap list, one per broker (broker ids are 1..N in this order). */
  readonly brokers: string[];
  /** Create a topic (the mock broker does not implement CreateTopics). */
  createTopic(name: string, partitions: number): Promise<void>;
  /** Disconnect broker `id` and refuse new connections (no leader change happens). */
  brokerDown(id: number): Promise<void>;
  /** Accept connections on broker `id` again. */
  brokerUp(id: number): Promise<void>;
  /** Announce `host:port` for broker `id` in metadata (a gateway in front of it, see kafka-gateway.ts). */
  advertise(id: number, host: string, port: number): Promise<void>;
  /** Destroy the cluster and wait for the process to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface StartKafkaMockOptions {
  /** Default 1. */
  brokers?: number;
  topics?: { name: string; partitions: number }[];
}

const START_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

let uniqueCounter = 0;

/** A Kafka-safe name (`[a-zA-Z0-9._-]`) unique across tests, workers and runs, for topics and groups. */
export function uniqueName(prefix: string): string {
  uniqueCounter += 1;
  const safe = prefix.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${safe}-${process.pid}-${uniqueCounter}-${randomBytes(3).toString('hex')}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Start a mock Kafka cluster; resolves once its brokers listen. Call `stop()` in afterAll/afterEach. */
export async function startKafkaMock(opts: StartKafkaMockOptions = {}): Promise<KafkaMock> {
  const bin = await kafkaMockBinary();
  const args = ['--brokers', String(opts.brokers ?? 1)];
  for (const t of opts.topics ?? []) args.push('--topic', `${t.name}:${t.partitions}`);

  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  killOnExit(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-8_000);
  });
  child.stdin.on('error', () => {}); // EPIPE if it died; reported through the pending command instead
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let dead = false;

  // Every stdout line answers exactly one request, in order: first BOOTSTRAP, then one per command.
  const waiters: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  const failAll = (err: Error): void => {
    for (const w of waiters.splice(0)) w.reject(err);
  };
  const nextLine = (): Promise<string> => new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  const bootstrapLine = nextLine();
  createInterface({ input: child.stdout }).on('line', (line) => waiters.shift()?.resolve(line));
  child.once('error', (err) => {
    dead = true;
    failAll(new Error(`kafka-mock failed to start: ${err.message}`));
  });
  child.once('close', (code, signal) => {
    dead = true;
    failAll(new Error(`kafka-mock exited (code ${code}, signal ${signal}):\n${stderr}`));
  });

  let first: string;
  try {
    first = await withTimeout(bootstrapLine, START_TIMEOUT_MS, 'kafka-mock start');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const match = /^BOOTSTRAP (\S+)$/.exec(first);
  if (match === null) {
    child.kill('SIGKILL');
    throw new Error(`kafka-mock: unexpected first line ${JSON.stringify(first)}:\n${stderr}`);
  }
  const brokers = match[1].split(',');

  let stopping: Promise<void> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const command = (line: string): Promise<void> => {
    const run = async (): Promise<void> => {
      if (dead || stopping !== undefined) throw new Error(`kafka-mock is not running (command: ${line})`);
      const reply = nextLine();
      child.stdin.write(`${line}\n`);
      const answer = await withTimeout(reply, COMMAND_TIMEOUT_MS, `kafka-mock "${line}"`).catch(
        (err: unknown) => {
          child.kill('SIGKILL'); // a late reply would answer the next command: never reuse a stuck launcher
          throw err;
        },
      );
      if (answer !== 'OK') throw new Error(`kafka-mock "${line}": ${answer}`);
    };
    const result = queue.then(run, run);
    queue = result.catch(() => {});
    return result;
  };
  const checkId = (id: number): string => {
    if (!Number.isInteger(id) || id < 1 || id > brokers.length) {
      throw new Error(`broker id ${id} out of range 1..${brokers.length}`);
    }
    return String(id);
  };

  return {
    brokers,
    createTopic(name, partitions) {
      if (!/^[a-zA-Z0-9._-]{1,249}$/.test(name) || !Number.isInteger(partitions) || partitions < 1) {
        return Promise.reject(new Error(`invalid topic ${JSON.stringify(name)} / partitions ${partitions}`));
      }
      return command(`topic ${name} ${partitions}`);
    },
    brokerDown: async (id) => command(`down ${checkId(id)}`),
    brokerUp: async (id) => command(`up ${checkId(id)}`),
    advertise: async (id, host, port) => {
      if (!/^[a-zA-Z0-9.:-]{1,253}$/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`invalid address ${host}:${port}`);
      }
      return command(`advertise ${checkId(id)} ${host} ${port}`);
    },
    stop() {
      stopping ??= (async () => {
        if (dead) return;
        child.stdin.end('quit\n');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
