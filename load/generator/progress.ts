/**
 * The generator's progress on stderr. On a terminal: one line redrawn in place. Otherwise (docker compose
 * logs, CI, a pipe): a plain line every `lineIntervalMs`, so a long run still shows it is alive, and the
 * last state at the end.
 */
import type { GeneratorProgress } from './generator.ts';

const BAR_WIDTH = 30;

export function formatProgress(p: GeneratorProgress): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.events / seconds : 0;
  const detail =
    p.updated > 0 || p.deleted > 0
      ? ` (${p.inserted} inserted, ${p.updated} updated, ${p.deleted} deleted)`
      : '';
  const stats = `${p.events} events${detail} · ${rate.toFixed(1)} ev/s · ${seconds.toFixed(1)} s`;
  const cancelled = p.packagesCancelled > 0 ? ` (${p.packagesCancelled} cancelled)` : '';
  if (p.quantity === null) {
    const delivered = p.packagesCompleted - p.packagesCancelled;
    return `${delivered} packages delivered${cancelled}, ${p.packagesStarted - p.packagesCompleted} on the road · ${stats}`;
  }
  const fraction = p.quantity === 0 ? 1 : Math.min(1, p.packagesCompleted / p.quantity);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
  return `[${bar}] ${p.packagesCompleted}/${p.quantity} packages${cancelled} · ${stats}`;
}

export interface ProgressOptions {
  /** Redraw interval on a terminal. */
  intervalMs?: number;
  /** Interval between plain lines when the stream is not a terminal. */
  lineIntervalMs?: number;
  now?: () => number;
}

export interface ProgressReporter {
  update(p: GeneratorProgress): void;
  finish(p: GeneratorProgress | null): void;
}

export function progressReporter(
  stream: Pick<NodeJS.WriteStream, 'write' | 'isTTY'>,
  { intervalMs = 100, lineIntervalMs = 5000, now = Date.now }: ProgressOptions = {},
): ProgressReporter {
  const tty = stream.isTTY === true;
  let last = now();
  if (tty) last -= intervalMs; // draw the first update at once
  let shown: GeneratorProgress | null = null;
  const show = (p: GeneratorProgress): void => {
    shown = p;
    stream.write(tty ? `\r${formatProgress(p)}\u001b[K` : `${formatProgress(p)}\n`);
  };
  return {
    update(p) {
      const t = now();
      if (t - last < (tty ? intervalMs : lineIntervalMs)) return;
      last = t;
      show(p);
    },
    finish(p) {
      if (p === null) return;
      if (shown !== p) show(p);
      if (tty) stream.write('\n');
    },
  };
}
