/**
 * The commit loop: every `intervalMs`, the settled prefix of every partition goes to the source as its
 * committed offset (never past an unsettled record). Commits run one at a time; a failed one is retried at
 * the next tick (a rebalance refuses them; the next owner reads again what was not committed).
 */
import type { Clock, Timer } from '../clock.ts';
import type { Source } from '../intake/source.ts';
import type { Logger } from '../report/logger.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { OffsetTracker } from './offset-tracker.ts';

export class Committer {
  private running: Promise<void> = Promise.resolve();
  private timer: Timer | null = null;

  constructor(
    private readonly deps: {
      offsets: OffsetTracker;
      source: Pick<Source, 'commit'>;
      metrics: Metrics;
      log: Logger;
      clock: Clock;
      intervalMs: number;
    },
  ) {}

  start(): void {
    const tick = () => {
      this.timer = this.deps.clock.after(this.deps.intervalMs, tick);
      void this.commitNow();
    };
    this.timer = this.deps.clock.after(this.deps.intervalMs, tick);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private gauged = new Set<string>();

  commitNow(): Promise<void> {
    this.running = this.running.then(() => this.commit());
    return this.running;
  }

  private async commit(): Promise<void> {
    const { offsets, source, metrics, log } = this.deps;
    const pending = offsets.pendingCommits();
    // Partitions no longer ours leave the gauge (summed across replicas, a stale value would count twice).
    const reported = new Set<string>();
    for (const u of offsets.uncommitted()) {
      const labels = { topic: u.topic, partition: String(u.partition) };
      metrics.uncommitted.set(labels, u.count);
      reported.add(JSON.stringify(labels));
    }
    for (const gone of [...this.gauged].filter((k) => !reported.has(k)))
      metrics.uncommitted.remove(JSON.parse(gone) as { topic: string; partition: string });
    this.gauged = reported;
    if (pending.length === 0) return;
    try {
      await source.commit(
        pending.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset.toString() })),
      );
      for (const p of pending) offsets.markCommitted(p.topic, p.partition, p.offset);
      metrics.commits.inc({ result: 'ok' });
    } catch (err) {
      metrics.commits.inc({ result: 'error' });
      log.warn({ err: (err as Error).message }, 'offset commit failed; will retry');
    }
  }
}
