/**
 * Simulated customers: each request is answered after a seeded latency with 2xx, 5xx, 429 + Retry-After,
 * a 400, or never (a hang, cut by the sender's timeout). The receiver's ledger records what the customer
 * itself took in (a 2xx it wrote), even when the answer never reached the integrator — a timeout after
 * processing, a crashed integrator, a shutdown abort — because that is what the customer sees.
 *
 * Each customer also records, across all integrator processes, when each request reached it and the most
 * requests it had open at once (a request is open until its answer, the sender's timeout, an abort, or the
 * death of the process that sent it: its connection closes with it).
 */
import type { Clock } from '../../src/clock.ts';
import type { AttemptReport } from '../../src/delivery/outcome.ts';
import type { Sender } from '../../src/delivery/http-sender.ts';

export interface Behaviour {
  latencyMs: [number, number];
  /** Shares of requests (the rest are 2xx). */
  fail: number;
  rateLimited: number;
  hang: number;
  /** Processed (2xx written), but the answer comes after the timeout. */
  lateOk: number;
  /** Permanent refusals (400) for these statuses (their step index). */
  refuseSteps: number[];
}

export interface Receipt {
  customer: string;
  eventId: string;
  packageId: string;
  step: number;
  at: number;
}

export class Ledger {
  readonly receipts: Receipt[] = [];
  /** (customer, event) that the customer took in while the integrator did not hear the 2xx. */
  readonly unacknowledged = new Set<string>();
  record(r: Receipt, acknowledged: boolean): void {
    this.receipts.push(r);
    if (!acknowledged) this.unacknowledged.add(`${r.customer}|${r.eventId}`);
  }
}

type Rand = () => number;

export class SimCustomer {
  behaviour: Behaviour;
  /** When each request reached the customer. */
  readonly sends: number[] = [];
  /** The most requests open at once, and when. */
  maxOpen = 0;
  maxOpenAt = 0;
  private readonly open = new Set<{ alive: () => boolean }>();
  constructor(
    readonly id: string,
    behaviour: Behaviour,
    private readonly clock: Clock,
    private readonly ledger: Ledger,
    private readonly random: Rand,
  ) {
    this.behaviour = behaviour;
  }

  /** A sender for one integrator process; `alive()` false = the process died: it hears no more answers. */
  sender(timeoutMs: number, alive: () => boolean): Sender {
    return {
      send: (req, signal) =>
        new Promise<AttemptReport>((resolve) => {
          const b = this.behaviour;
          const body = JSON.parse(req.body) as { data: { package_id: string; step: number } };
          const receipt = (): Receipt => ({
            customer: this.id,
            eventId: req.id,
            packageId: body.data.package_id,
            step: body.data.step,
            at: this.clock.now(),
          });
          const conn = { alive };
          for (const c of this.open) if (!c.alive()) this.open.delete(c);
          this.open.add(conn);
          this.sends.push(this.clock.now());
          if (this.open.size > this.maxOpen) {
            this.maxOpen = this.open.size;
            this.maxOpenAt = this.clock.now();
          }
          const latency = b.latencyMs[0] + this.random() * (b.latencyMs[1] - b.latencyMs[0]);
          const roll = this.random();
          let settled = false;
          const answer = (r: AttemptReport) => {
            if (settled) return;
            settled = true;
            this.open.delete(conn);
            if (alive()) resolve(r);
          };
          const timer = this.clock.after(timeoutMs, () => answer({ kind: 'timeout', afterMs: timeoutMs }));
          signal?.addEventListener(
            'abort',
            () => {
              timer.cancel();
              answer({ kind: 'network', code: 'ABORTED', message: 'aborted by shutdown' });
            },
            { once: true },
          );
          if (b.refuseSteps.includes(body.data.step)) {
            return void this.clock.after(latency, () =>
              answer({ kind: 'response', status: 400, bodySnippet: 'refused' }),
            );
          }
          let p = roll;
          if ((p -= b.hang) < 0) return; // never answers; the timeout (or an abort) ends it
          if ((p -= b.fail) < 0) {
            return void this.clock.after(latency, () => answer({ kind: 'response', status: 503 }));
          }
          if ((p -= b.rateLimited) < 0) {
            return void this.clock.after(latency, () =>
              answer({ kind: 'response', status: 429, retryAfter: String(this.random() < 0.5 ? 0 : 1) }),
            );
          }
          const late = p - b.lateOk < 0;
          const at = late ? timeoutMs + 1 + latency : latency;
          this.clock.after(at, () => {
            // The customer wrote its 2xx: it has the status, whatever the integrator hears.
            const heard = !settled && alive() && !signal?.aborted;
            this.ledger.record(receipt(), heard);
            timer.cancel();
            answer({ kind: 'response', status: 200 });
          });
        }),
      close: async () => {},
    };
  }
}
