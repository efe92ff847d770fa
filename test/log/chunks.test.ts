/**
 * The delivery log's buffer on the delivery path (src/log/chunks.ts): records come out in order, whole,
 * as UTF-8; the buffer never holds more records than its capacity, drops the oldest first and says how
 * many.
 */
import { describe, expect, it } from 'vitest';
import { ChunkBuffer } from '../../src/log/chunks.ts';
import type { Chunk } from '../../src/log/chunks.ts';

const text = (chunks: Chunk[]): string =>
  chunks.map((c) => Buffer.from(c.data, 0, c.length).toString('utf8')).join('');

function drain(b: ChunkBuffer): Chunk[] {
  const out: Chunk[] = [];
  for (let c = b.take(); c !== null; c = b.take()) out.push(c);
  return out;
}

describe('ChunkBuffer', () => {
  it('gives back every record in order, multi-byte text included, across chunks of a few bytes', () => {
    const b = new ChunkBuffer(1000, 16);
    const lines = Array.from({ length: 50 }, (_, i) => `r${i}\tpaquete ✓ ${'é'.repeat(i % 7)}\n`);
    for (const l of lines) expect(b.push(l)).toBe(0);
    expect(b.size).toBe(50);
    const chunks = drain(b);
    expect(text(chunks)).toBe(lines.join(''));
    expect(chunks.reduce((n, c) => n + c.records, 0)).toBe(50);
    expect(b.size).toBe(0);
    expect(b.take()).toBeNull();
  });

  it('takes a line longer than a chunk in a chunk of its own size', () => {
    const b = new ChunkBuffer(100, 64);
    const long = `${'x'.repeat(500)}\n`;
    b.push('a\n');
    b.push(long);
    b.push('b\n');
    const chunks = drain(b);
    expect(text(chunks)).toBe(`a\n${long}b\n`);
    expect(chunks.some((c) => c.length === long.length && c.records === 1)).toBe(true);
  });

  it('seals a chunk at a quarter of the capacity in records, and take() seals a partial one', () => {
    const b = new ChunkBuffer(40, 1 << 20);
    for (let i = 0; i < 25; i++) b.push(`${i}\n`);
    const chunks = drain(b);
    expect(chunks.map((c) => c.records)).toEqual([10, 10, 5]);
  });

  it.each([
    // capacity, pushed, dropped, kept (the newest)
    [10, 10, 0, 10],
    [10, 11, 2, 9],
    [10, 30, 20, 10],
    [10, 31, 22, 9],
    [40, 100, 60, 40],
    [1000, 5000, 4000, 1000],
  ])(
    'capacity %i, %i pushed: %i of the oldest dropped, %i newest kept',
    (capacity, pushed, dropped, kept) => {
      const b = new ChunkBuffer(capacity, 1 << 20);
      let n = 0;
      for (let i = 0; i < pushed; i++) {
        n += b.push(`${i}\n`);
        expect(b.size).toBeLessThanOrEqual(capacity);
      }
      expect(n).toBe(dropped);
      expect(b.size).toBe(kept);
      const got = text(drain(b)).split('\n').filter(Boolean).map(Number);
      expect(got).toEqual(Array.from({ length: kept }, (_, i) => pushed - kept + i));
    },
  );

  it('keeps at least three quarters of its capacity when it drops', () => {
    const b = new ChunkBuffer(400, 1 << 20);
    for (let i = 0; i < 10_000; i++) {
      b.push(`${i}\n`);
      if (i >= 400) expect(b.size).toBeGreaterThanOrEqual(300);
    }
  });

  it('clear() forgets everything and says how much', () => {
    const b = new ChunkBuffer(100, 32);
    for (let i = 0; i < 30; i++) b.push(`${i}\n`);
    expect(b.clear()).toBe(30);
    expect(b.size).toBe(0);
    expect(b.take()).toBeNull();
  });

  it('refuses a capacity below one record', () => {
    expect(() => new ChunkBuffer(0)).toThrow(/capacity/);
  });
});
