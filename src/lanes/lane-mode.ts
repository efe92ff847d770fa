/**
 * What a lane is doing, as one state machine (pure). The mode decides what may leave for the customer
 * and where new work goes:
 *
 *                 breaker opens                      pause (operator)
 *     running ◀───────────────────────▶ open     running | open ─────────▶ paused
 *        ▲      breaker half-open/closes              ◀───────── resume (to open if the breaker is open)
 *        │
 *        │ hold (a rebalance started)   running | open | paused ──▶ held ──release──▶ the mode it left
 *        │                              (pause / resume / breaker changes while held update where it returns)
 *        ▼
 *     any but stopped ──stop──▶ stopping ──(in-flight done or aborted)──▶ stopped
 *
 *   mode       sends                          new work for a package not in memory   queued memory work
 *   running    yes (breaker allows one probe    memory, or the store when the lane      stays
 *              when half-open)                  cannot drain it in time
 *   open       no                             store                                   parked
 *   paused     no                             store                                   parked
 *   held       no                             memory                                  stays (the next owner
 *                                                                                      may read it again)
 *   stopping   no (in-flight finish)          refused (fetching has stopped)          left unsettled
 *   stopped    no                             refused                                 —
 */
export type LaneMode = 'running' | 'open' | 'paused' | 'held' | 'stopping' | 'stopped';
type Returnable = 'running' | 'open' | 'paused';

export class ModeMachine {
  private current: LaneMode = 'running';
  /** Where `release` goes back to: the history of the held state. */
  private afterHold: Returnable = 'running';

  constructor(private readonly onChange: (from: LaneMode, to: LaneMode) => void = () => {}) {}

  get mode(): LaneMode {
    return this.current;
  }

  get sends(): boolean {
    return this.current === 'running';
  }

  /** Queued memory work should go to the store: the customer cannot take it now. */
  get parksQueued(): boolean {
    return this.current === 'open' || this.current === 'paused';
  }

  get accepts(): boolean {
    return this.current !== 'stopping' && this.current !== 'stopped';
  }

  /** The operator's pause holds (also while held); false when resumed or never paused. */
  get operatorPaused(): boolean {
    return this.current === 'paused' || (this.current === 'held' && this.afterHold === 'paused');
  }

  breakerOpened(): void {
    if (this.current === 'running') this.set('open');
    else if (this.current === 'held' && this.afterHold === 'running') this.afterHold = 'open';
  }

  /** The breaker let a probe through (half-open) or closed. */
  breakerAllows(): void {
    if (this.current === 'open') this.set('running');
    else if (this.current === 'held' && this.afterHold === 'open') this.afterHold = 'running';
  }

  pause(): void {
    if (this.current === 'running' || this.current === 'open') this.set('paused');
    else if (this.current === 'held') this.afterHold = 'paused';
  }

  /** `breakerOpen`: where the breaker stands now (it kept running while paused). */
  resume(breakerOpen: boolean): void {
    const to: Returnable = breakerOpen ? 'open' : 'running';
    if (this.current === 'paused') this.set(to);
    else if (this.current === 'held' && this.afterHold === 'paused') this.afterHold = to;
  }

  /** Follow the customer's shared limits: its breaker, and the operator's pause (kept in the store). */
  follow(breaker: 'closed' | 'half-open' | 'open', paused: boolean): void {
    if (breaker === 'open') this.breakerOpened();
    else this.breakerAllows();
    if (paused && !this.operatorPaused) this.pause();
    else if (!paused && this.operatorPaused) this.resume(breaker === 'open');
  }

  hold(): void {
    if (this.current === 'running' || this.current === 'open' || this.current === 'paused') {
      this.afterHold = this.current;
      this.set('held');
    }
  }

  release(): void {
    if (this.current === 'held') this.set(this.afterHold);
  }

  stop(): void {
    if (this.current !== 'stopping' && this.current !== 'stopped') this.set('stopping');
  }

  stopped(): void {
    this.set('stopped');
  }

  private set(next: LaneMode): void {
    if (!LEGAL[this.current].includes(next)) throw new Error(`lane mode: illegal ${this.current} → ${next}`);
    const from = this.current;
    this.current = next;
    this.onChange(from, next);
  }
}

const LEGAL: Record<LaneMode, LaneMode[]> = {
  running: ['open', 'paused', 'held', 'stopping'],
  open: ['running', 'paused', 'held', 'stopping'],
  paused: ['running', 'open', 'held', 'stopping'],
  held: ['running', 'open', 'paused', 'stopping'],
  stopping: ['stopped'],
  stopped: [],
};
