import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DURATION_S,
  DEFAULT_PARTITIONS,
  DEFAULT_RATE,
  generationWindowMs,
  parseDemoArgs,
} from '../../demo/args.ts';

describe('parseDemoArgs', () => {
  it.each([
    {
      argv: [],
      want: {
        durationS: DEFAULT_DURATION_S,
        rate: DEFAULT_RATE,
        packages: null,
        partitions: DEFAULT_PARTITIONS,
        seed: 7,
      },
    },
    { argv: ['--duration', '20'], want: { durationS: 20, rate: 20, packages: null, partitions: 6, seed: 7 } },
    {
      argv: ['--duration=5', '--rate', '2.5'],
      want: { durationS: 5, rate: 2.5, packages: null, partitions: 6, seed: 7 },
    },
    {
      argv: ['--packages', '10', '--partitions', '1', '--seed=-3'],
      want: { durationS: 60, rate: 20, packages: 10, partitions: 1, seed: -3 },
    },
  ])('$argv', ({ argv, want }) => {
    expect(parseDemoArgs(argv, 7)).toEqual({ kind: 'run', args: want });
  });

  it.each([['--help'], ['-h'], ['--duration', '5', '--help']])('%s asks for help', (...argv) => {
    expect(parseDemoArgs(argv, 7)).toEqual({ kind: 'help' });
  });

  it.each([
    { argv: ['--duration', '0'], problem: /--duration must be an integer from 1/ },
    { argv: ['--duration', '1.5'], problem: /--duration/ },
    { argv: ['--rate', '0'], problem: /--rate must be a number above 0/ },
    { argv: ['--rate', 'fast'], problem: /--rate/ },
    { argv: ['--rate', '-1'], problem: /--rate/ },
    { argv: ['--packages', 'x'], problem: /--packages/ },
    { argv: ['--partitions', '0'], problem: /--partitions/ },
    { argv: ['--seed', '1.5'], problem: /--seed must be an integer/ },
    { argv: ['--nope'], problem: /nope/ },
    { argv: ['positional'], problem: /positional/ },
  ])('$argv is refused', ({ argv, problem }) => {
    const r = parseDemoArgs(argv, 7);
    expect(r.kind).toBe('invalid');
    if (r.kind === 'invalid') expect(r.problems.join('\n')).toMatch(problem);
  });

  it('lists every problem at once', () => {
    const r = parseDemoArgs(['--duration', '0', '--rate', 'x', '--packages', '0'], 7);
    expect(r.kind === 'invalid' && r.problems.length).toBe(3);
  });
});

describe('generationWindowMs', () => {
  it.each([
    { durationS: 60, want: 57_000 },
    { durationS: 20, want: 17_000 },
    { durationS: 12, want: 9_000 },
    { durationS: 8, want: 6_000 },
    { durationS: 1, want: 750 },
  ])('$durationS s → generate for $want ms', ({ durationS, want }) => {
    expect(generationWindowMs(durationS)).toBe(want);
  });
});
