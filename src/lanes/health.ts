/**
 * A lane's health, judged over time rather than at one instant. One instant can mislead: the first answers
 * of a flood come slowly (new connections, cold code, a process busy decoding the batch), and a lane judged
 * unhealthy parks its backlog in the store, which costs the CPU that makes it look slower still. So the
 * verdict changes only when the instant's judgment (`healthyNow`, `intake-policy.ts`) has held for
 * `graceMs` (half of PARK_AFTER_MS by default), both ways:
 *
 *   healthy ──now unhealthy──▶ doubtful ──still, for graceMs──▶ unhealthy
 *      ▲                          │ now healthy                    │ now healthy
 *      │◀─────────────────────────┘                                ▼
 *      └───────────────still healthy, for graceMs───────────── hopeful ──now unhealthy──▶ unhealthy
 *
 * The verdict is `healthy` in healthy and doubtful, `unhealthy` in unhealthy and hopeful. The price, said
 * in the README: a customer that turns slow can make fetching wait for up to `graceMs` (plus one spill
 * check) before its lane parks instead; work it cannot take is still parked by its age (PARK_AFTER_MS).
 */
import { DrainRate, healthyNow } from './intake-policy.ts';
import type { LaneLoad } from './intake-policy.ts';

export type HealthMode = 'healthy' | 'doubtful' | 'unhealthy' | 'hopeful';

const NEXT: Record<HealthMode, readonly HealthMode[]> = {
  healthy: ['doubtful'],
  doubtful: ['healthy', 'unhealthy'],
  unhealthy: ['hopeful'],
  hopeful: ['unhealthy', 'healthy'],
};

export class HealthJudge {
  private current: HealthMode = 'healthy';
  private since = 0;

  constructor(private readonly graceMs: number) {
    if (!(graceMs >= 0)) throw new Error(`HealthJudge: graceMs ${graceMs}`);
  }

  get mode(): HealthMode {
    return this.current;
  }

  get verdict(): 'healthy' | 'unhealthy' {
    return this.current === 'healthy' || this.current === 'doubtful' ? 'healthy' : 'unhealthy';
  }

  /** The instant's judgment at `now`; returns the verdict. */
  observe(healthyNow: boolean, now: number): 'healthy' | 'unhealthy' {
    // At most two steps (e.g. healthy → doubtful → unhealthy when graceMs is 0).
    for (let step = 0; step < 2; step++) {
      const next = this.next(healthyNow, now - this.since >= this.graceMs);
      if (next === this.current) break;
      this.setMode(next, now);
    }
    return this.verdict;
  }

  private next(healthyNow: boolean, graceOver: boolean): HealthMode {
    switch (this.current) {
      case 'healthy':
        return healthyNow ? 'healthy' : 'doubtful';
      case 'doubtful':
        return healthyNow ? 'healthy' : graceOver ? 'unhealthy' : 'doubtful';
      case 'unhealthy':
        return healthyNow ? 'hopeful' : 'unhealthy';
      case 'hopeful':
        return !healthyNow ? 'unhealthy' : graceOver ? 'healthy' : 'hopeful';
    }
  }

  private setMode(to: HealthMode, now: number): void {
    if (!NEXT[this.current].includes(to))
      throw new Error(`HealthJudge: ${this.current} → ${to} is not a transition`);
    this.current = to;
    this.since = now;
  }
}

/** A lane's drain rate and its settled health: what its load tells the intake decisions. */
export class LaneHealth {
  private readonly rate: DrainRate;
  private readonly judge: HealthJudge;

  constructor(
    limits: { concurrency: number; ratePerSecond: number | null },
    private readonly parkAfterMs: number,
  ) {
    this.rate = new DrainRate(limits.concurrency, limits.ratePerSecond);
    this.judge = new HealthJudge(parkAfterMs / 2);
  }

  /** An attempt took this long. */
  took(durationMs: number): void {
    this.rate.observe(durationMs);
  }

  load(x: Omit<LaneLoad, 'drainable' | 'parkAfterMs' | 'verdict'>, now: number): LaneLoad {
    const drainable = (this.rate.perSecond(x.oldestOutMs) * this.parkAfterMs) / 1000;
    const load: LaneLoad = { ...x, drainable, parkAfterMs: this.parkAfterMs, verdict: null };
    load.verdict = this.judge.observe(healthyNow(load), now);
    return load;
  }
}
