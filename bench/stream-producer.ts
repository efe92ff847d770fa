/**
 * The throughput figure's streaming producer: the bench's stand-in for Debezium and Kafka's producers, which
 * in production run on other hosts. Here it shares the two cores with the integrator or the bare client it
 * loads, so whatever it spends per event is taken from what it measures. It spends as little as it can:
 *
 * - the events are built before the window (`prepare`), into one buffer, with a placeholder for their
 *   commit time; sending one writes the current time over the placeholder and hands a slice of that buffer
 *   to librdkafka's own producer API (no promise per event, no delivery report per event);
 * - what was acknowledged is read from the broker afterwards: the topic is new, so the sum of its
 *   partitions' high watermarks after a flush is the number of events it holds.
 *
 * Measured alone at 14,000 events/s for 10 s (docs/BENCHMARKS.md, 2026-12-02 "the streaming producer"):
 * 0.29–0.46 of a core building events during the window and sending them through the KafkaJS-compatible
 * `send`, 0.10 this way.
 */
import { RdKafka } from '@confluentinc/kafka-javascript';
import type { EventStream } from './load.ts';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The commit time's placeholder in a prepared event: 13 digits, as `Date.now()` is until 2286, and small
 * enough that the event's `ts_us` (× 1000 + 123, a JSON number) is still an exact integer (< 2^53).
 */
const PLACEHOLDER_MS = 8_888_888_888_888;
const PLACEHOLDER = Buffer.from(String(PLACEHOLDER_MS), 'latin1');

/** Events built ahead: keys and values side by side in one buffer, each value's time placeholders listed. */
export interface Prepared {
  readonly count: number;
  readonly buf: Buffer;
  /** Per event: key start, key end = value start, value end. */
  readonly bounds: Uint32Array;
  /** Where the placeholders are (offsets into `buf`); event i's are `stampAt[stampFrom[i] … stampFrom[i+1]]`. */
  readonly stampAt: Uint32Array;
  readonly stampFrom: Uint32Array;
}

/** Build `count` events of `stream` now, their commit time to be written when each is sent. */
export function prepare(stream: EventStream, count: number): Prepared {
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  let size = 0;
  for (let i = 0; i < count; i++) {
    const { message } = stream.next(PLACEHOLDER_MS);
    const k = Buffer.from(message.key, 'utf8');
    const v = Buffer.from(message.value ?? '', 'utf8');
    keys.push(k);
    values.push(v);
    size += k.length + v.length;
  }
  const buf = Buffer.allocUnsafe(size);
  const bounds = new Uint32Array(count * 3);
  const stamps: number[] = [];
  const stampFrom = new Uint32Array(count + 1);
  let at = 0;
  for (let i = 0; i < count; i++) {
    bounds[i * 3] = at;
    at += keys[i]!.copy(buf, at);
    bounds[i * 3 + 1] = at;
    const value = values[i]!;
    stampFrom[i] = stamps.length;
    // Searched in the value alone: a search of `buf` would run on to its end after the last one.
    for (let p = value.indexOf(PLACEHOLDER); p >= 0; p = value.indexOf(PLACEHOLDER, p + 1))
      stamps.push(at + p);
    at += value.copy(buf, at);
    bounds[i * 3 + 2] = at;
  }
  stampFrom[count] = stamps.length;
  return { count, buf, bounds, stampAt: Uint32Array.from(stamps), stampFrom };
}

/** Write `nowText` (13 digits) over event `i`'s placeholders; its key and value as slices of the buffer. */
export function stamp(p: Prepared, i: number, nowText: string): { key: Buffer; value: Buffer } {
  for (let s = p.stampFrom[i]!; s < p.stampFrom[i + 1]!; s++) p.buf.write(nowText, p.stampAt[s]!, 'latin1');
  const b = i * 3;
  return {
    key: p.buf.subarray(p.bounds[b]!, p.bounds[b + 1]!),
    value: p.buf.subarray(p.bounds[b + 1]!, p.bounds[b + 2]!),
  };
}

export interface StreamRun {
  /**
   * Stop sending and flush; `sent` = events handed to librdkafka, `total` = events the broker holds
   * (`highWatermarks` summed), `late` = events built during the window.
   */
  stop(): Promise<{ sent: number; total: number; late: number }>;
}

export interface StreamProducer {
  /**
   * `rate` events/s from `prepared` to `topic` (new, written by no one else), in ticks of 10 ms, until stop().
   * Past the prepared events it builds more as it goes (`late` counts them; the window should not need any).
   */
  paced(topic: string, stream: EventStream, prepared: Prepared, rate: number): StreamRun;
  close(): Promise<void>;
}

export async function connectStreamProducer(
  brokers: string[],
  highWatermarks: (topic: string) => Promise<Map<number, bigint>>,
): Promise<StreamProducer> {
  const producer = new RdKafka.Producer({
    'metadata.broker.list': brokers.join(','),
    'linger.ms': 5,
    'enable.idempotence': true,
    dr_cb: false,
  });
  await new Promise<void>((resolve, reject) => {
    producer.once('ready', () => resolve());
    producer.once('connection.failure', (err) => reject(err));
    producer.connect();
  });
  producer.setPollInterval(100);
  const flush = (): Promise<void> =>
    new Promise((resolve, reject) => producer.flush(30_000, (err) => (err ? reject(err) : resolve())));
  return {
    paced(topic, stream, prepared, rate) {
      let stopping = false;
      let late = 0;
      const started = Date.now();
      let sent = 0;
      const loop = (async () => {
        while (!stopping) {
          const now = Date.now();
          const due = Math.floor(((now - started) * rate) / 1000);
          const nowText = String(now);
          for (; sent < due; sent++) {
            if (sent < prepared.count) {
              const { key, value } = stamp(prepared, sent, nowText);
              producer.produce(topic, -1, value, key, now);
            } else {
              late += 1;
              const { message } = stream.next(now);
              producer.produce(topic, -1, Buffer.from(message.value ?? ''), message.key, now);
            }
          }
          await sleep(10);
        }
      })();
      return {
        async stop() {
          stopping = true;
          await loop;
          await flush();
          let total = 0;
          for (const high of (await highWatermarks(topic)).values()) total += Number(high);
          return { sent, total, late };
        },
      };
    },
    async close() {
      await flush().catch(() => {});
      await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
    },
  };
}
