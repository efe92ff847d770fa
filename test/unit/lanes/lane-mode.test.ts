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

  // The mode follows the customer's shared limits: each grant says where the breaker and the pause stand.
  it.each<[Event[], ['closed' | 'half-open' | 'open', boolean][], string, boolean]>([
    [[], [['open', false]], 'open', false],
    [
      [],
      [
        ['open', false],
        ['half-open', false],
      ],
      'running',
      false,
    ],
    [[], [['closed', true]], 'paused', true],
    [
      [],
      [
        ['closed', true],
        ['open', true],
      ],
      'paused',
      true,
    ],
    [
      [],
      [
        ['closed', true],
        ['open', false],
      ],
      'open',
      false,
    ], // resumed while the breaker is open
    [
      [],
      [
        ['closed', true],
        ['closed', false],
      ],
      'running',
      false,
    ],
    [['hold'], [['closed', true]], 'held', true], // followed while held, applied on release
    [
      ['hold'],
      [
        ['closed', true],
        ['closed', false],
      ],
      'held',
      false,
    ],
    [['stop'], [['open', true]], 'stopping', false], // nothing changes a stopping lane
  ])('after %j, following %j: %s (operator paused %s)', (before, grants, mode, paused) => {
    const m = new ModeMachine();
    for (const e of before) apply(m, e);
    for (const [breaker, p] of grants) m.follow(breaker, p);
    expect(m.mode).toBe(mode);
    expect(m.operatorPaused).toBe(paused);
  });

  it('a pause followed while held is where release returns', () => {
    const m = new ModeMachine();
    m.hold();
    m.follow('open', true);
    m.release();
    expect(m.mode).toBe('paused');
    m.follow('open', false);
    expect(m.mode).toBe('open');
  });
});
