/**
 * When each iteration starts, as k6's arrival-rate executors would start them: constant-arrival-rate
 * starts `rate` per second evenly; ramping-arrival-rate lets the rate move linearly through its stages,
 * and iteration k starts when the area under the rate curve reaches k. Pure.
 */
import type { Load } from './k6-lib.ts';

/** Start times in seconds from the beginning, ascending, at most `maxIterations`. */
export function arrivalTimes(load: Load, maxIterations = Number.POSITIVE_INFINITY): number[] {
  const times: number[] = [];
  if (load.executor === 'constant-arrival-rate') {
    const count = Math.min(Math.floor(load.rate * load.durationSeconds + 1e-9), maxIterations);
    for (let k = 0; k < count; k++) times.push(k / load.rate);
    return times;
  }
  let stageStart = 0;
  let areaBefore = 0;
  let rate0 = load.startRate;
  let k = 0;
  for (const stage of load.stages) {
    const T = stage.durationSeconds;
    const rate1 = stage.target;
    const area = ((rate0 + rate1) / 2) * T;
    // Within the stage the area after t seconds is rate0·t + (rate1 − rate0)·t² / (2T).
    while (k < areaBefore + area - 1e-9 && times.length < maxIterations) {
      const need = k - areaBefore;
      const slope = (rate1 - rate0) / T;
      let t: number;
      if (Math.abs(slope) < 1e-12) t = need / rate0;
      else t = (-rate0 + Math.sqrt(rate0 * rate0 + 2 * slope * need)) / slope;
      times.push(stageStart + Math.min(Math.max(t, 0), T));
      k++;
    }
    stageStart += T;
    areaBefore += area;
    rate0 = rate1;
  }
  return times;
}

/** "30s", "2m", "1h", "1m30s", "1.5m" or plain seconds ("45") → seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new RangeError(`not a duration: '${text}' (try 30s, 2m, 1m30s)`);
  }
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * (unit[p[2] as string] as number), 0);
}
