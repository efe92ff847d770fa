/**
 * Optional delivery audit trail in Postgres (DATABASE_URL): one row per settled delivery (delivered,
 * dead-lettered, or parked), written in batches off the hot path. The trail is a record, not the source of
 * truth: if Postgres is away, rows wait in a bounded buffer and the oldest are dropped (and counted in the
 * log) rather than slowing deliveries.
 */
import pg from 'pg';
import type { Logger } from '../observe/logger.ts';
import type { DeliveryObserver } from '../observe/delivery-events.ts';

type Settlement = 'delivered' | 'dead' | 'parked';

export const AUDIT_DDL = `
CREATE TABLE IF NOT EXISTS integrator_delivery_audit (
  id           BIGSERIAL PRIMARY KEY,
  at           TIMESTAMPTZ NOT NULL,
  customer_id  TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  outcome      TEXT NOT NULL,
  source_shard TEXT NOT NULL,
  source_offset TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS integrator_delivery_audit_event ON integrator_delivery_audit (event_id);`;

interface Row {
  at: Date;
  customer: string;
  eventId: string;
  how: Settlement;
  shard: string;
  offset: string;
}

const MAX_BUFFER = 100_000;
const BATCH = 1000;

export class AuditTrail {
  private readonly pool: pg.Pool;
  private buffer: Row[] = [];
  private dropped = 0;
  private ready: Promise<void> | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    url: string,
    private readonly log: Logger,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: 2 });
    this.pool.on('error', (err) => this.log.warn({ err: err.message }, 'audit database connection error'));
    this.timer = setInterval(() => void this.flush(), 1000);
    this.timer.unref();
  }

  /** The trail as a listener of delivery events: one row per delivered, dead-lettered or parked delivery. */
  observer(): DeliveryObserver {
    return {
      change: () => {},
      delivery: (e) => {
        const how =
          e.kind === 'delivered'
            ? 'delivered'
            : e.kind === 'dead'
              ? 'dead'
              : e.kind === 'parked'
                ? 'parked'
                : null;
        if (how) this.record({ customer: e.customer, eventId: e.eventId, how, shard: '', offset: '' });
      },
    };
  }

  record(info: { customer: string; eventId: string; how: Settlement; shard: string; offset: string }): void {
    if (this.buffer.length >= MAX_BUFFER) {
      this.buffer.shift();
      this.dropped += 1;
    }
    this.buffer.push({ at: new Date(), ...info });
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      while (this.buffer.length > 0) {
        const rows = this.buffer.slice(0, BATCH);
        try {
          this.ready ??= this.pool.query(AUDIT_DDL).then(() => undefined);
          await this.ready;
          const values: unknown[] = [];
          const tuples = rows.map((r, i) => {
            values.push(r.at, r.customer, r.eventId, r.how, r.shard, r.offset);
            const b = i * 6;
            return `($${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5},$${b + 6})`;
          });
          await this.pool.query(
            `INSERT INTO integrator_delivery_audit (at, customer_id, event_id, outcome, source_shard, source_offset) VALUES ${tuples.join(',')}`,
            values,
          );
          this.buffer.splice(0, rows.length);
        } catch (err) {
          this.ready = null;
          this.log.warn(
            { err: (err as Error).message, buffered: this.buffer.length },
            'audit write failed; will retry',
          );
          return;
        }
      }
      if (this.dropped > 0) {
        this.log.warn({ dropped: this.dropped }, 'audit rows dropped while the database was unavailable');
        this.dropped = 0;
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    await this.pool.end();
  }
}
