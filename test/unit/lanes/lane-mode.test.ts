import { describe, expect, it } from 'vitest';
import { ModeMachine } from '../../../src/lanes/lane-mode.ts';

type Event = 'open' | 'allow' | 'pause' | 'resume' | 'resumeOpen' | 'hold' | 'release' | 'stop' | 'stopped';

function apply(m: ModeMachine, e: Event): void {
  if (e === 'open') m.breakerOpened();
  else if (e === 'allow') m.breakerAllows();
  else if (e === 'pause') m.pause();
  else if (e === 'resume') m.resume(false);
  else if (e === 'resumeOpen') m.resume(true);
  else if (e === 'hold') m.hold();
  else if (e === 'release') m.release();
  else if (e === 'stop') m.stop();
  else m.stopped();
}

describe('lane mode machine', () => {
  it.each<[Event[], string, boolean]>([
    [[], 'running', false],
    [['open'], 'open', false],
    [['open', 'allow'], 'running', false],
    [['pause'], 'paused', true],
    [['pause', 'open'], 'paused', true], // the breaker does not end a pause
    [['pause', 'resumeOpen'], 'open', false],
    [['pause', 'resume'], 'running', false],
    [['hold'], 'held', false],
    [['hold', 'release'], 'running', false],
    [['open', 'hold', 'release'], 'open', false],
    [['hold', 'open', 'release'], 'open', false], // the breaker opened while held
    [['open', 'hold', 'allow', 'release'], 'running', false],
    [['hold', 'pause', 'release'], 'paused', true], // paused while held: stays paused
    [['pause', 'hold'], 'held', true],
    [['pause', 'hold', 'resume', 'release'], 'running', false],
    [['pause', 'hold', 'resumeOpen', 'release'], 'open', false],
    [['hold', 'stop'], 'stopping', false],
    [['stop', 'stopped'], 'stopped', false],
    [['stop', 'hold', 'pause', 'open', 'release'], 'stopping', false], // nothing moves a stopping lane
  ])('%j → %s (operator paused: %s)', (events, mode, paused) => {
    const m = new ModeMachine();
    for (const e of events) apply(m, e);
    expect(m.mode).toBe(mode);
    expect(m.operatorPaused).toBe(paused);
  });

  it('says what each mode allows', () => {
    const m = new ModeMachine();
    expect([m.sends, m.parksQueued, m.accepts]).toEqual([true, false, true]);
    m.breakerOpened();
    expect([m.sends, m.parksQueued, m.accepts]).toEqual([false, true, true]);
    m.hold();
    expect([m.sends, m.parksQueued, m.accepts]).toEqual([false, false, true]);
    m.stop();
    expect([m.sends, m.parksQueued, m.accepts]).toEqual([false, false, false]);
  });

  it('refuses an illegal transition and reports legal ones', () => {
    const seen: string[] = [];
    const m = new ModeMachine((from, to) => seen.push(`${from}→${to}`));
    m.pause();
    m.resume(false);
    m.stop();
    expect(() => m.stopped()).not.toThrow();
    expect(() => m.stopped()).toThrow(/illegal stopped → stopped/);
    expect(seen).toEqual(['running→paused', 'paused→running', 'running→stopping', 'stopping→stopped']);
  });
});
