/**
 * A real lane for tests, on virtual time, with the memory store and a sender answered by hand: requests wait
 * until the test answers them.
 */
import { Lane } from '../../../src/lanes/lane.ts';
import type { CustomerConfig } from '../../../src/config/customers.ts';
import type { Sender, SendRequest } from '../../../src/delivery/http-sender.ts';
import type { AttemptReport } from '../../../src/delivery/outcome.ts';
import { MemoryRetryStore } from '../../../src/store/memory.ts';
import { createMetrics } from '../../../src/observe/metrics.ts';
import { createLogger } from '../../../src/report/logger.ts';
import { SimClock } from '../../sim/clock.ts';

export function customer(concurrency: number, maxInMemory: number): CustomerConfig {
  return {
    id: 'c1',
    url: 'http://customer.invalid/hook',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    match: '*',
    concurrency,
    ratePerSecond: null,
    timeoutMs: 60_000,
    maxInMemory,
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
    breaker: { errorThresholdPercentage: 50, volumeThreshold: 100, windowMs: 10_000, resetTimeoutMs: 1000 },
  };
}

/** Requests wait until the test answers them; `open` is what the customer has open right now. */
export class HandSender implements Sender {
  readonly waiting: { req: SendRequest; answer: (r: AttemptReport) => void }[] = [];
  maxOpen = 0;
  send(req: SendRequest): Promise<AttemptReport> {
    return new Promise((answer) => {
      this.waiting.push({ req, answer });
      this.maxOpen = Math.max(this.maxOpen, this.waiting.length);
    });
  }
  /** Answers 204 to the oldest request open (of delivery `id`, if given); returns its id. */
  ok(id?: string): string {
    const i = id === undefined ? 0 : this.waiting.findIndex((w) => w.req.id === id);
    const [w] = this.waiting.splice(i, 1);
    w!.answer({ kind: 'response', status: 204 });
    return w!.req.id;
  }
  get open(): string[] {
    return this.waiting.map((w) => w.req.id);
  }
  async close(): Promise<void> {}
}

export function handLane(config: CustomerConfig): { clock: SimClock; sender: HandSender; lane: Lane } {
  const clock = new SimClock();
  const sender = new HandSender();
  const lane = new Lane({
    customer: config,
    sender,
    store: new MemoryRetryStore(),
    metrics: createMetrics({ defaultMetrics: false }),
    log: createLogger('silent'),
    clock,
    random: () => 0.5,
  });
  return { clock, sender, lane };
}
