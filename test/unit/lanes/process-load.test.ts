import { describe, expect, it } from 'vitest';
import { ProcessLoad } from '../../../src/lanes/process-load.ts';

describe('ProcessLoad: is the integrator itself the bottleneck?', () => {
  // [utilization, loop delay ms] per sample
  it.each<[string, [number, number][], ('calm' | 'busy')[]]>([
    [
      'quiet stays calm',
      [
        [0.1, 0],
        [0.5, 5],
        [0.89, 19],
      ],
      ['calm', 'calm', 'calm'],
    ],
    ['a saturated loop is busy', [[0.95, 0]], ['busy']],
    ['late timers are busy too (short of CPU, not running JavaScript)', [[0.3, 40]], ['busy']],
    [
      'busy holds above the lower thresholds',
      [
        [0.95, 0],
        [0.8, 0],
        [0.5, 12],
      ],
      ['busy', 'busy', 'busy'],
    ],
    [
      'busy ends when both are low',
      [
        [0.95, 0],
        [0.69, 9],
      ],
      ['busy', 'calm'],
    ],
    [
      'one sample near the top does not flip back and forth',
      [
        [0.9, 0],
        [0.85, 0],
        [0.9, 0],
        [0.6, 0],
      ],
      ['busy', 'busy', 'busy', 'calm'],
    ],
  ])('%s', (_name, samples, modes) => {
    const load = new ProcessLoad();
    expect(samples.map(([u, d]) => (load.sample(u, d), load.mode))).toEqual(modes);
    expect(load.busy).toBe(modes.at(-1) === 'busy');
    expect(load.utilization).toBe(samples.at(-1)![0]);
  });

  it('refuses what is not a measurement, and thresholds that cannot hold', () => {
    expect(() => new ProcessLoad().sample(1.5, 0)).toThrow(/utilization/);
    expect(() => new ProcessLoad().sample(Number.NaN, 0)).toThrow(/utilization/);
    expect(() => new ProcessLoad().sample(0.5, -1)).toThrow(/delay/);
    expect(
      () => new ProcessLoad({ utilization: 0.5, delayMs: 20 }, { utilization: 0.6, delayMs: 10 }),
    ).toThrow(/leaveAt/);
  });
});
