/**
 * Is the integrator itself the bottleneck? A lane judges its customer by the latency it sees, but when the
 * process's event loop is saturated, or the process is short of CPU (a loaded host, a container's CPU
 * quota), every request looks slow, because answers wait for the process, not for the customer. Parking then costs CPU that makes every lane look slower still (a spiral that detours a
 * healthy backlog through the store). While the process is busy, a lane whose requests are all young is
 * judged healthy and fetching waits for it: the backlog stays in Kafka (README "Guarantees and how they are
 * kept"). A customer with a request out for PARK_AFTER_MS is still slow, busy or not.
 *
 * Two signals, sampled once a second: the event loop's utilization (busy running JavaScript), and how late
 * its timers fire (the loop delay: also late when the process waits for a CPU while it is not busy).
 *
 *   calm ──(utilization ≥ 0.9, or loop delay ≥ 20 ms)──▶ busy ──(utilization < 0.7 and delay < 10 ms)──▶ calm
 *
 * The hysteresis keeps one sample near a threshold from flipping every lane's decisions back and forth.
 * Pure: the caller measures and feeds the values in.
 */
export type ProcessLoadMode = 'calm' | 'busy';

export class ProcessLoad {
  private current: ProcessLoadMode = 'calm';
  private lastUtilization = 0;

  constructor(
    private readonly enterAt = { utilization: 0.9, delayMs: 20 },
    private readonly leaveAt = { utilization: 0.7, delayMs: 10 },
  ) {
    if (!(leaveAt.utilization < enterAt.utilization) || !(leaveAt.delayMs < enterAt.delayMs))
      throw new Error('ProcessLoad: leaveAt must be below enterAt');
  }

  get mode(): ProcessLoadMode {
    return this.current;
  }

  get busy(): boolean {
    return this.current === 'busy';
  }

  get utilization(): number {
    return this.lastUtilization;
  }

  /** `utilization`: the share of the last interval the event loop was busy, in [0, 1]; `delayMs`: its timers' median lateness. */
  sample(utilization: number, delayMs: number): void {
    if (!(utilization >= 0 && utilization <= 1)) throw new Error(`ProcessLoad: utilization ${utilization}`);
    if (!(delayMs >= 0)) throw new Error(`ProcessLoad: loop delay ${delayMs}`);
    this.lastUtilization = utilization;
    const enter = utilization >= this.enterAt.utilization || delayMs >= this.enterAt.delayMs;
    const leave = utilization < this.leaveAt.utilization && delayMs < this.leaveAt.delayMs;
    if (this.current === 'calm' && enter) this.setMode('busy');
    else if (this.current === 'busy' && leave) this.setMode('calm');
  }

  private setMode(to: ProcessLoadMode): void {
    if (to === this.current) throw new Error(`ProcessLoad: already ${to}`);
    this.current = to;
  }
}
