/** The generator's progress line (stderr, only when it is a terminal). */
import type { GeneratorProgress } from './generator.ts';

const BAR_WIDTH = 30;

export function formatProgress(p: GeneratorProgress): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.events / seconds : 0;
  const stats = `${p.events} events · ${rate.toFixed(1)} ev/s · ${seconds.toFixed(1)} s`;
  if (p.quantity === null) {
    return `${p.packagesCompleted} packages delivered, ${p.packagesStarted - p.packagesCompleted} on the road · ${stats}`;
  }
  const fraction = p.quantity === 0 ? 1 : Math.min(1, p.packagesCompleted / p.quantity);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
  return `[${bar}] ${p.packagesCompleted}/${p.quantity} packages · ${stats}`;
}

/** Redraws one line on a TTY stream, at most every `intervalMs`; `finish()` prints the last state. */
export function progressBar(
  stream: NodeJS.WriteStream,
  intervalMs = 100,
): { update(p: GeneratorProgress): void; finish(p: GeneratorProgress | null): void } {
  let lastDraw = 0;
  const draw = (p: GeneratorProgress): void => {
    stream.write(`\r${formatProgress(p)}\u001b[K`);
  };
  return {
    update(p) {
      if (!stream.isTTY) return;
      const now = Date.now();
      if (now - lastDraw < intervalMs) return;
      lastDraw = now;
      draw(p);
    },
    finish(p) {
      if (!stream.isTTY || p === null) return;
      draw(p);
      stream.write('\n');
    },
  };
}
