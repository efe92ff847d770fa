/**
 * The commit loop: every `intervalMs`, the settled prefix of every partition goes to the source as its
 * committed offset (never past an unsettled record). Commits run one at a time; a failed one is retried at
 * the next tick (a rebalance refuses them; the next owner reads again what was not committed).
 *
 * A commit refused for a rebalance is told to `onRebalanceRefusal` with the number of assignments the
 * pipeline had handled when the commit was sent: the answer may arrive after the assignment that ended
 * that rebalance, and only the pipeline can tell.
 */
import type { Clock, Timer } from '../clock.ts';
import { RebalanceRefusal } from '../intake/source.ts';
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
      /** How many assignments the pipeline has handled so far. */
      assignmentsSeen?: () => number;
      onRebalanceRefusal?: (assignmentsSeenAtSend: number) => void;
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
    const seenAtSend = this.deps.assignmentsSeen?.() ?? 0;
    try {
      await source.commit(
        pending.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset.toString() })),
      );
      for (const p of pending) offsets.markCommitted(p.topic, p.partition, p.offset);
      metrics.commits.inc({ result: 'ok' });
    } catch (err) {
      metrics.commits.inc({ result: 'error' });
      log.warn({ err: (err as Error).message }, 'offset commit failed; will retry');
      if (err instanceof RebalanceRefusal) this.deps.onRebalanceRefusal?.(seenAtSend);
    }
  }
}
