/** The demo's terminal output: the live table, the plain per-second line, the summary. Pure: text out. */
import type { CustomerSummary, DemoSummary } from './summary.ts';

export interface Frame {
  elapsedS: number;
  durationS: number;
  generating: boolean;
  rate: number;
  source: string;
  store: string;
  metricsUrl: string;
  mocksUrl: string;
  customers: readonly CustomerSummary[];
}

export function formatMs(v: number | null): string {
  if (v === null) return '–';
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  return `${Math.round(v)} ms`;
}

function num(v: number | null): string {
  return v === null ? '–' : String(v);
}

interface Column {
  title: string;
  align: 'left' | 'right';
  cell: (c: CustomerSummary) => string;
}

function table(columns: readonly Column[], rows: readonly CustomerSummary[]): string[] {
  const cells = rows.map((r) => columns.map((c) => c.cell(r)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (columns[i]!.align === 'left' ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...cells.map(line)];
}

const LIVE_COLUMNS: readonly Column[] = [
  { title: 'customer', align: 'left', cell: (c) => c.id },
  { title: 'answers in', align: 'right', cell: (c) => formatMs(c.mockLatencyMs) },
  { title: 'sent', align: 'right', cell: (c) => String(c.sent) },
  { title: 'delivered', align: 'right', cell: (c) => String(c.delivered) },
  { title: 'in flight', align: 'right', cell: (c) => num(c.inflight) },
  { title: 'pending', align: 'right', cell: (c) => num(c.pending) },
  { title: 'parked', align: 'right', cell: (c) => num(c.parked) },
  { title: 'p50 e2e', align: 'right', cell: (c) => formatMs(c.e2e.p50Ms) },
  { title: 'p99 e2e', align: 'right', cell: (c) => formatMs(c.e2e.p99Ms) },
  { title: 'breaker', align: 'left', cell: (c) => c.breaker ?? '–' },
];

/** The live view, redrawn every second on a terminal. */
export function renderFrame(f: Frame): string[] {
  const phase = f.generating ? `generating ${f.rate} events/s` : 'generator stopped, draining';
  return [
    `package-status integrator demo — ${Math.floor(f.elapsedS)} s of ${f.durationS} s — ${phase}`,
    `source: ${f.source}; store: ${f.store}`,
    `metrics: ${f.metricsUrl}   mock customers: ${f.mocksUrl}/stats`,
    '',
    ...table(LIVE_COLUMNS, f.customers),
    '',
    "e2e = from the change's commit to the customer's 2xx. pending = in memory, parked = in the store.",
    'Ctrl-C ends early with the summary.',
  ];
}

/** One line per second when stdout is not a terminal. */
export function renderPlainLine(f: Frame): string {
  const parts = f.customers.map(
    (c) =>
      `${c.id} sent=${c.sent} delivered=${c.delivered} inflight=${num(c.inflight)} pending=${num(c.pending)} ` +
      `parked=${num(c.parked)} p50=${formatMs(c.e2e.p50Ms).replace(' ', '')} ` +
      `p99=${formatMs(c.e2e.p99Ms).replace(' ', '')} breaker=${c.breaker ?? '-'}`,
  );
  const t = `${Math.floor(f.elapsedS)}s`.padStart(5);
  return `[${t}]${f.generating ? '' : ' (draining)'} ${parts.join(' | ')}`;
}

/** Terminal rows the lines take on a screen `columns` wide (long lines wrap). */
export function screenRows(lines: readonly string[], columns: number | undefined): number {
  const width = columns && columns > 0 ? columns : Number.POSITIVE_INFINITY;
  return lines.reduce((rows, line) => rows + Math.max(1, Math.ceil([...line].length / width)), 0);
}

/** Move the cursor up over the previous frame's rows, clear from there down, write the new frame (ANSI). */
export function redraw(previousRows: number, lines: readonly string[]): string {
  const back = previousRows > 0 ? `\x1b[${previousRows}F\x1b[0J` : '';
  return `${back}${lines.join('\n')}\n`;
}

const SUMMARY_COLUMNS: readonly Column[] = [
  { title: 'customer', align: 'left', cell: (c) => c.id },
  { title: 'role', align: 'left', cell: (c) => c.role },
  { title: 'answers in', align: 'right', cell: (c) => formatMs(c.mockLatencyMs) },
  { title: 'sent', align: 'right', cell: (c) => String(c.sent) },
  { title: 'delivered', align: 'right', cell: (c) => String(c.delivered) },
  { title: 'waiting', align: 'right', cell: (c) => String(c.undelivered) },
  { title: 'p50 e2e', align: 'right', cell: (c) => formatMs(c.e2e.p50Ms) },
  { title: 'p99 e2e', align: 'right', cell: (c) => formatMs(c.e2e.p99Ms) },
  { title: 'max e2e', align: 'right', cell: (c) => formatMs(c.e2e.maxMs) },
  {
    title: 'p99 1st → 2nd half',
    align: 'right',
    cell: (c) => `${formatMs(c.e2eFirstHalf.p99Ms)} → ${formatMs(c.e2eSecondHalf.p99Ms)}`,
  },
  {
    title: 'integrator p99',
    align: 'right',
    cell: (c) => (c.integrator ? formatMs(c.integrator.e2eP99Ms) : '–'),
  },
];

export function renderSummary(s: DemoSummary): string[] {
  return [
    `Summary after ${s.durationS} s (events generated for ${s.generatedForS} s at ${s.rate}/s; ` +
      `source: ${s.source}, store: ${s.store})`,
    '',
    ...table(SUMMARY_COLUMNS, s.customers),
    '',
    "e2e: commit of the change → 2xx from the customer, exact, from the mock customers' ledgers;",
    'integrator p99: the same span from integrator_end_to_end_seconds (bucket-interpolated, as Prometheus would).',
    '',
    `Verdict: ${s.verdict.text}`,
  ];
}

/** The machine-readable last line. */
export function summaryLine(s: DemoSummary): string {
  return `DEMO_SUMMARY ${JSON.stringify(s)}`;
}
