/**
 * What one mock customer has seen: counters, duplicate and out-of-order detection, latency percentiles and a
 * capped list of the deliveries it accepted. Pure bookkeeping (times are passed in); the server feeds it.
 *
 * Counting rules
 * - `requests`: every POST to the customer's webhook URL.
 * - `received`: answered 2xx (duplicates included). Requests answered with an injected error, 410, 429, a
 *   reset or a hang are NOT received; they count under `injected`. A request whose client gave up while the
 *   mock was still waiting out its latency counts as `abandoned`, not received.
 * - `unique`: distinct webhook-ids answered 2xx. `duplicates`: 2xx answers for a webhook-id that had already
 *   been answered 2xx. So received = unique + duplicates.
 * - Out of order (judged on first 2xx deliveries only; duplicates are not judged again), per `data.package_id`:
 *   - an event with a source position — `data.id`, the row's BIGSERIAL id, on created / updated / snapshot
 *     events — is out of order when a larger position of that package was already received, or the same
 *     position (the same row, changed again) with a later `occurredAt`;
 *   - an event without one (deleted: `data` is the before-image, its id is an old row's; or no numeric
 *     `data.id`) is out of order when its `occurredAt` is earlier than the latest `occurredAt` received for
 *     that package;
 *   - without `package_id`, or with neither position nor `occurredAt`, the event is not judged
 *     (`orderUnknown`).
 *   Caveat: BIGSERIAL ids are handed out at insert time, not commit time, so two concurrent transactions on
 *   one package can commit in the opposite order of their ids; the load generator writes a package's
 *   changes one after another, where id order is commit order.
 */
import { LatencyWindow } from './percentiles.ts';
import type { LatencySummary } from './percentiles.ts';

export type InjectedKind = 'rateLimited' | 'reset' | 'hang' | 'error' | 'gone';
export type InvalidSignatureReason = 'missing_headers' | 'stale_timestamp' | 'bad_signature';

/** The parts of a webhook the ledger needs, read defensively from whatever body arrived. */
export interface EventFacts {
  /** The `webhook-id` header. */
  eventId: string;
  /** The body's `id` (should equal eventId, CONTRACT §5). */
  bodyId: string | null;
  type: string | null;
  packageId: string | null;
  status: string | null;
  /** `data.id` as a decimal string when it is the event's source position (see the header), else null. */
  position: string | null;
  occurredAt: string | null;
}

export interface DeliveryRecord {
  eventId: string;
  type: string | null;
  packageId: string | null;
  status: string | null;
  /** `data.id` (decimal string) when used as source position, else null. */
  position: string | null;
  occurredAt: string | null;
  /** When the 2xx was sent (ISO 8601). */
  receivedAt: string;
  duplicate: boolean;
  outOfOrder: boolean;
}

export interface LedgerStats {
  requests: number;
  received: number;
  unique: number;
  duplicates: number;
  outOfOrder: number;
  orderUnknown: number;
  invalidSignatures: number;
  invalidSignatureReasons: Record<InvalidSignatureReason, number>;
  /** Signature fine, body not a JSON object: answered 400. */
  malformed: number;
  /** Accepted deliveries whose body `id` differs from the `webhook-id` header. */
  idMismatches: number;
  injected: Record<InjectedKind, number>;
  abandoned: number;
  /** Time the mock spent answering (arrival → response written), over every answered request, ms. */
  latencyMs: LatencySummary;
}

export interface LedgerSnapshot extends LedgerStats {
  /** The most recent accepted deliveries, oldest first (at most `deliveryLogLimit`). */
  deliveries: DeliveryRecord[];
  /** Accepted deliveries that fell off the front of the capped list. */
  deliveriesDropped: number;
}

export interface LedgerOptions {
  /** How many deliveries to keep for inspection; 0 keeps none. Default 10 000. */
  deliveryLogLimit?: number;
  /** How many recent answer times percentiles are computed over. Default 100 000. */
  latencyWindow?: number;
}

const DELETED_TYPE = 'package_status.deleted';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function decimalOrNull(value: unknown): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return value.replace(/^0+(?=\d)/, '');
  return null;
}

export function extractEventFacts(eventId: string, body: unknown): EventFacts {
  const envelope = isRecord(body) ? body : {};
  const data = isRecord(envelope['data']) ? envelope['data'] : {};
  const type = stringOrNull(envelope['type']);
  return {
    eventId,
    bodyId: stringOrNull(envelope['id']),
    type,
    packageId: stringOrNull(data['package_id']),
    status: stringOrNull(data['status']),
    position: type === DELETED_TYPE ? null : decimalOrNull(data['id']),
    occurredAt: stringOrNull(envelope['occurredAt']),
  };
}

interface PackageMark {
  /** Largest position received, with the occurredAt of the event that carried it. */
  position: bigint | null;
  positionOccurredAtMs: number | null;
  /** Latest occurredAt received, any event. */
  latestOccurredAtMs: number | null;
}

type OrderVerdict = 'in_order' | 'out_of_order' | 'unknown';

function parseTime(iso: string | null): number | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** Judges one first delivery against its package's marks and advances the marks. Pure apart from `marks`. */
export function judgeOrder(marks: Map<string, PackageMark>, facts: EventFacts): OrderVerdict {
  const occurredAtMs = parseTime(facts.occurredAt);
  const position = facts.position === null ? null : BigInt(facts.position);
  if (facts.packageId === null || (position === null && occurredAtMs === null)) return 'unknown';

  const mark = marks.get(facts.packageId) ?? {
    position: null,
    positionOccurredAtMs: null,
    latestOccurredAtMs: null,
  };
  let outOfOrder: boolean;
  if (position !== null) {
    outOfOrder =
      mark.position !== null &&
      (position < mark.position ||
        (position === mark.position &&
          occurredAtMs !== null &&
          mark.positionOccurredAtMs !== null &&
          occurredAtMs < mark.positionOccurredAtMs));
  } else {
    outOfOrder =
      occurredAtMs !== null && mark.latestOccurredAtMs !== null && occurredAtMs < mark.latestOccurredAtMs;
  }

  if (
    position !== null &&
    (mark.position === null ||
      position > mark.position ||
      (position === mark.position && (occurredAtMs ?? -Infinity) > (mark.positionOccurredAtMs ?? -Infinity)))
  ) {
    mark.position = position;
    mark.positionOccurredAtMs = occurredAtMs;
  }
  if (occurredAtMs !== null && (mark.latestOccurredAtMs === null || occurredAtMs > mark.latestOccurredAtMs)) {
    mark.latestOccurredAtMs = occurredAtMs;
  }
  marks.set(facts.packageId, mark);
  return outOfOrder ? 'out_of_order' : 'in_order';
}

export class Ledger {
  private readonly deliveryLogLimit: number;
  private readonly latency: LatencyWindow;
  private readonly delivered = new Set<string>();
  private readonly marks = new Map<string, PackageMark>();
  private log: DeliveryRecord[] = [];
  private logStart = 0;
  private droppedBeforeTrim = 0;
  private counters = {
    requests: 0,
    received: 0,
    duplicates: 0,
    outOfOrder: 0,
    orderUnknown: 0,
    malformed: 0,
    idMismatches: 0,
    abandoned: 0,
  };
  private readonly invalidSignatureReasons: Record<InvalidSignatureReason, number> = {
    missing_headers: 0,
    stale_timestamp: 0,
    bad_signature: 0,
  };
  private readonly injected: Record<InjectedKind, number> = {
    rateLimited: 0,
    reset: 0,
    hang: 0,
    error: 0,
    gone: 0,
  };

  constructor(options: LedgerOptions = {}) {
    this.deliveryLogLimit = Math.max(0, Math.floor(options.deliveryLogLimit ?? 10_000));
    this.latency = new LatencyWindow(options.latencyWindow ?? 100_000);
  }

  countRequest(): void {
    this.counters.requests += 1;
  }

  recordInvalidSignature(reason: InvalidSignatureReason): void {
    this.invalidSignatureReasons[reason] += 1;
  }

  recordMalformed(): void {
    this.counters.malformed += 1;
  }

  recordInjected(kind: InjectedKind): void {
    this.injected[kind] += 1;
  }

  recordAbandoned(): void {
    this.counters.abandoned += 1;
  }

  recordAnswerTime(ms: number): void {
    this.latency.add(ms);
  }

  /** A 2xx was sent for this event. */
  recordDelivered(facts: EventFacts, receivedAtMs: number): { duplicate: boolean; outOfOrder: boolean } {
    this.counters.received += 1;
    if (facts.bodyId !== facts.eventId) this.counters.idMismatches += 1;
    const duplicate = this.delivered.has(facts.eventId);
    let outOfOrder = false;
    if (duplicate) {
      this.counters.duplicates += 1;
    } else {
      this.delivered.add(facts.eventId);
      const verdict = judgeOrder(this.marks, facts);
      if (verdict === 'out_of_order') {
        outOfOrder = true;
        this.counters.outOfOrder += 1;
      } else if (verdict === 'unknown') {
        this.counters.orderUnknown += 1;
      }
    }
    if (this.deliveryLogLimit > 0) {
      this.log.push({
        eventId: facts.eventId,
        type: facts.type,
        packageId: facts.packageId,
        status: facts.status,
        position: facts.position,
        occurredAt: facts.occurredAt,
        receivedAt: new Date(receivedAtMs).toISOString(),
        duplicate,
        outOfOrder,
      });
      // Trim lazily (amortised O(1)): keep at most twice the limit in the array.
      if (this.log.length - this.logStart > this.deliveryLogLimit) this.logStart += 1;
      if (this.logStart >= this.deliveryLogLimit) {
        this.log = this.log.slice(this.logStart);
        this.droppedBeforeTrim += this.logStart;
        this.logStart = 0;
      }
    }
    return { duplicate, outOfOrder };
  }

  stats(): LedgerStats {
    return {
      requests: this.counters.requests,
      received: this.counters.received,
      unique: this.delivered.size,
      duplicates: this.counters.duplicates,
      outOfOrder: this.counters.outOfOrder,
      orderUnknown: this.counters.orderUnknown,
      invalidSignatures: Object.values(this.invalidSignatureReasons).reduce((a, b) => a + b, 0),
      invalidSignatureReasons: { ...this.invalidSignatureReasons },
      malformed: this.counters.malformed,
      idMismatches: this.counters.idMismatches,
      injected: { ...this.injected },
      abandoned: this.counters.abandoned,
      latencyMs: this.latency.summary(),
    };
  }

  deliveries(): DeliveryRecord[] {
    return this.log.slice(this.logStart).map((record) => ({ ...record }));
  }

  snapshot(): LedgerSnapshot {
    return {
      ...this.stats(),
      deliveries: this.deliveries(),
      deliveriesDropped: this.droppedBeforeTrim + this.logStart,
    };
  }
}
