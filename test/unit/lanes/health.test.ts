import { describe, expect, it } from 'vitest';
import { HealthJudge } from '../../../src/lanes/health.ts';
import type { HealthMode } from '../../../src/lanes/health.ts';

describe('HealthJudge: a verdict changes only when the instant has agreed for graceMs', () => {
  // [at ms, healthy now?] → mode after
  it.each<[string, [number, boolean][], HealthMode[]]>([
    [
      'healthy stays healthy',
      [
        [0, true],
        [5000, true],
      ],
      ['healthy', 'healthy'],
    ],
    [
      'a short doubt passes',
      [
        [0, false],
        [500, false],
        [900, true],
      ],
      ['doubtful', 'doubtful', 'healthy'],
    ],
    [
      'a doubt that lasts the grace: unhealthy',
      [
        [0, false],
        [999, false],
        [1000, false],
      ],
      ['doubtful', 'doubtful', 'unhealthy'],
    ],
    [
      'a doubt that restarts measures from the new start',
      [
        [0, false],
        [600, true],
        [700, false],
        [1500, false],
        [1700, false],
      ],
      ['doubtful', 'healthy', 'doubtful', 'doubtful', 'unhealthy'],
    ],
    [
      'recovery takes the grace too, and one relapse ends it',
      [
        [0, false],
        [1000, false],
        [1100, true],
        [1500, false],
        [1600, true],
        [2600, true],
      ],
      ['doubtful', 'unhealthy', 'hopeful', 'unhealthy', 'hopeful', 'healthy'],
    ],
  ])('%s', (_name, steps, modes) => {
    const j = new HealthJudge(1000);
    expect(steps.map(([t, h]) => (j.observe(h, t), j.mode))).toEqual(modes);
  });

  it('the verdict is healthy while doubtful, unhealthy while hopeful', () => {
    const j = new HealthJudge(1000);
    expect(j.observe(false, 0)).toBe('healthy');
    expect(j.observe(false, 1000)).toBe('unhealthy');
    expect(j.observe(true, 1001)).toBe('unhealthy');
    expect(j.observe(true, 2001)).toBe('healthy');
  });

  it('with no grace the instant decides at once', () => {
    const j = new HealthJudge(0);
    expect([j.observe(false, 0), j.observe(true, 0), j.observe(false, 1)]).toEqual([
      'unhealthy',
      'healthy',
      'unhealthy',
    ]);
    expect(() => new HealthJudge(-1)).toThrow(/graceMs/);
  });
});
