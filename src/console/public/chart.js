/* global document */
// A small SVG chart of deliveries (and failures) per bucket: no library, no inline styles.
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** points: [{t, delivered, failed, dead}], oldest first. */
export function sparkline(points, { width = 160, height = 32, stepSeconds = 5, label = 'deliveries' } = {}) {
  const max = Math.max(1, ...points.map((p) => Math.max(p.delivered, p.failed + p.dead)));
  const x = (i) => (points.length <= 1 ? 0 : (i / (points.length - 1)) * (width - 2) + 1);
  const y = (v) => height - 2 - (v / max) * (height - 4);
  const line = (key) =>
    points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
  const total = points.reduce((n, p) => n + p.delivered, 0);
  const failed = points.reduce((n, p) => n + p.failed + p.dead, 0);
  const minutes = Math.round((points.length * stepSeconds) / 60);
  const root = svg('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    class: 'spark',
    'aria-label': `${label}: ${total} delivered, ${failed} failed attempts in the last ${minutes} minutes`,
  });
  const area = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.delivered).toFixed(1)}`);
  if (points.length > 1) {
    root.append(
      svg('path', {
        d: `${area.join(' ')} L${x(points.length - 1)},${height} L${x(0)},${height} Z`,
        class: 'spark-area',
      }),
    );
    root.append(svg('path', { d: line('delivered'), class: 'spark-ok' }));
    if (failed > 0) {
      const bad = points.map(
        (p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.failed + p.dead).toFixed(1)}`,
      );
      root.append(svg('path', { d: bad.join(' '), class: 'spark-bad' }));
    }
  }
  const title = svg('title', {});
  title.textContent = root.getAttribute('aria-label');
  root.prepend(title);
  return root;
}
