import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { longDigitRuns } from '../../../src/intake/json.ts';

/** The definition, one character at a time: maximal runs of 16 or more digits. */
function naive(text: string): number {
  let runs = 0;
  let run = 0;
  for (const ch of text) {
    if (ch >= '0' && ch <= '9') {
      run += 1;
      if (run === 16) runs += 1;
    } else run = 0;
  }
  return runs;
}

describe('longDigitRuns (which texts JSON.parse might round)', () => {
  it.each([
    ['', 0],
    ['123456789012345', 0], // 15 digits
    ['1234567890123456', 1], // 16, the whole text
    ['x1234567890123456', 1],
    ['1234567890123456x', 1],
    ['12345678901234567890123456789012', 1], // 32 digits: one run, not two
    ['1234567890123456,1234567890123456', 2],
    ['{"ts_ms":1700000000000,"ts_ns":1700000000000000000}', 1],
    ['{"a":123456789012345,"b":1.23456789012345}', 0], // 15 + 1 + 14: the dot breaks the run
    ['{"a":0.1234567890123456}', 1],
    ['9'.repeat(15) + 'x' + '9'.repeat(15), 0],
  ])('%j → %i', (text, runs) => {
    expect(longDigitRuns(text)).toBe(runs);
    expect(naive(text)).toBe(runs);
  });

  it('agrees with the one-character-at-a-time count on any text of digits and separators', () => {
    const text = fc
      .array(fc.oneof(fc.constantFrom('0', '5', '9'), fc.constantFrom('x', ',', '"', '.', ':')), {
        maxLength: 200,
      })
      .map((cs) => cs.join(''));
    // Long digit stretches with the odd separator, where the windows and the skips meet their edges.
    const runsy = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom('x', ',', '.')), { maxLength: 12 })
      .map((parts) => parts.map(([n, sep]) => '7'.repeat(n) + sep).join(''));
    fc.assert(
      fc.property(fc.oneof(text, runsy), (t) => longDigitRuns(t) === naive(t)),
      { numRuns: 3000 },
    );
  });
});
