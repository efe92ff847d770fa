// @ts-check
/**
 * Reading the integrator's /metrics (Prometheus text format) without Prometheus: histogram buckets,
 * their difference between two scrapes, and a quantile the way PromQL's histogram_quantile() computes it.
 * Pure (no k6 imports), so the Node side loads and tests it too.
 */

/**
 * @typedef {object} Sample
 * @property {string} name
 * @property {Record<string, string>} labels
 * @property {number} value
 */

/** @typedef {{ le: number, count: number }} Bucket cumulative count of observations <= le */

/** @param {string} raw */
function parseValue(raw) {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  return Number(raw);
}

/**
 * @param {string} body the label set between the braces, e.g. `customer="customer-1",le="0.5"`
 * @returns {Record<string, string>}
 */
function parseLabels(body) {
  /** @type {Record<string, string>} */
  const labels = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/g;
  let match;
  while ((match = re.exec(body)) !== null) {
    const key = /** @type {string} */ (match[1]);
    const escaped = /** @type {string} */ (match[2]);
    labels[key] = escaped.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}

/**
 * Every sample of the exposition text (comments skipped).
 * @param {string} text
 * @returns {Sample[]}
 */
export function parseSamples(text) {
  /** @type {Sample[]} */
  const samples = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(trimmed);
    if (!match) continue;
    samples.push({
      name: /** @type {string} */ (match[1]),
      labels: match[2] === undefined ? {} : parseLabels(match[2]),
      value: parseValue(/** @type {string} */ (match[3])),
    });
  }
  return samples;
}

/**
 * The buckets of histogram `metric`, one list per value of `byLabel`, each sorted by `le`.
 * @param {string} text
 * @param {string} metric e.g. 'integrator_end_to_end_seconds'
 * @param {string} byLabel e.g. 'customer'
 * @returns {Record<string, Bucket[]>}
 */
export function histogramBuckets(text, metric, byLabel) {
  /** @type {Record<string, Bucket[]>} */
  const result = {};
  for (const sample of parseSamples(text)) {
    if (sample.name !== `${metric}_bucket`) continue;
    const key = sample.labels[byLabel];
    const le = sample.labels.le;
    if (key === undefined || le === undefined) continue;
    const buckets = result[key] ?? (result[key] = []);
    const bound = parseValue(le);
    const existing = buckets.find((b) => b.le === bound);
    // Other labels (if any) are summed over, as `sum by (byLabel, le)` would.
    if (existing) existing.count += sample.value;
    else buckets.push({ le: bound, count: sample.value });
  }
  for (const buckets of Object.values(result)) buckets.sort((a, b) => a.le - b.le);
  return result;
}

/**
 * Observations made between two scrapes: `after - before`, bucket by bucket (a missing `before` counts as 0).
 * @param {Bucket[]} after
 * @param {Bucket[] | undefined} before
 * @returns {Bucket[]}
 */
export function bucketsDelta(after, before) {
  return after.map((bucket) => {
    const earlier = before?.find((b) => b.le === bucket.le);
    return { le: bucket.le, count: Math.max(0, bucket.count - (earlier ? earlier.count : 0)) };
  });
}

/**
 * The q-quantile (0..1) of cumulative buckets, as PromQL histogram_quantile(): linear interpolation inside
 * the bucket holding the rank; the highest finite bound when the rank falls into +Inf; NaN without data.
 * @param {number} q
 * @param {Bucket[]} buckets sorted by le, the last being +Inf
 * @returns {number}
 */
export function histogramQuantile(q, buckets) {
  if (buckets.length === 0) return NaN;
  const last = /** @type {Bucket} */ (buckets[buckets.length - 1]);
  const total = last.count;
  if (!(total > 0) || last.le !== Infinity) return NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (let i = 0; i < buckets.length; i++) {
    const bucket = /** @type {Bucket} */ (buckets[i]);
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) {
        return i > 0 ? /** @type {Bucket} */ (buckets[i - 1]).le : NaN;
      }
      const inBucket = bucket.count - lowerCount;
      if (inBucket <= 0) return bucket.le;
      return lowerBound + (bucket.le - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return NaN;
}

/**
 * The value of a gauge sample whose labels include `labels`, or null.
 * @param {string} text
 * @param {string} metric
 * @param {Record<string, string>} labels
 * @returns {number | null}
 */
export function sampleValue(text, metric, labels) {
  const sample = parseSamples(text).find(
    (s) => s.name === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return sample ? sample.value : null;
}
