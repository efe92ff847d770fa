/**
 * Who may do what on the operator surface (README "For operators"): `ADMIN_TOKEN` may do everything,
 * `READ_TOKEN` may read. Both travel as `Authorization: Bearer …`, compared in constant time.
 *
 * The browser's EventSource cannot send that header, so the stream also accepts a ticket: a short-lived
 * (TICKET_MS) HMAC-signed `v1.<expiry>.<role>.<mac>` that a signed-in client gets from
 * `POST /events/stream/ticket`. It grants reading the stream only, is useless after a minute, and the
 * token itself never appears in a URL (URLs end up in logs and browser history). The signing key is
 * random per process: a restart invalidates every ticket.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type Role = 'admin' | 'read';

export const TICKET_MS = 60_000;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Access {
  private readonly key = randomBytes(32);

  constructor(
    private readonly adminToken: string | null,
    private readonly readToken: string | null,
    private readonly now: () => number = Date.now,
  ) {}

  /** Nothing is configured: every protected endpoint refuses (403). */
  get disabled(): boolean {
    return this.adminToken === null && this.readToken === null;
  }

  /** The role of a bearer `Authorization` header, or null when it is missing or wrong. */
  roleOf(header: string | undefined): Role | null {
    if (!header?.startsWith('Bearer ')) return null;
    const given = header.slice(7).trim();
    if (this.adminToken !== null && same(given, this.adminToken)) return 'admin';
    if (this.readToken !== null && same(given, this.readToken)) return 'read';
    return null;
  }

  ticket(role: Role): { ticket: string; expiresAt: string } {
    const exp = this.now() + TICKET_MS;
    const body = `v1.${exp}.${role}`;
    return { ticket: `${body}.${this.mac(body)}`, expiresAt: new Date(exp).toISOString() };
  }

  /** The role a ticket grants, or null when it is malformed, forged or expired. */
  checkTicket(ticket: string): Role | null {
    const m = /^(v1\.(\d{1,15})\.(admin|read))\.([A-Za-z0-9_-]{43})$/.exec(ticket);
    if (!m) return null;
    if (!same(this.mac(m[1]!), m[4]!)) return null;
    if (Number(m[2]) < this.now()) return null;
    return m[3] as Role;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
