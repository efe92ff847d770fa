/** Who the mock plays: customer specs, their validation, and the well-known default three. */
import type { BehaviorPatch } from './behavior.ts';

export interface MockCustomerSpec {
  /** `[a-z0-9-]+`, as in the integrator's customers file (CONTRACT §3). */
  id: string;
  /** Standard Webhooks secret, `whsec_` + base64. */
  secret: string;
  /** Knobs to start with, over BASE_BEHAVIOR (instant 200). */
  behavior?: BehaviorPatch;
}

export const CUSTOMER_ID_PATTERN = /^[a-z0-9-]+$/;
const SECRET_PATTERN =
  /^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;

/**
 * The default three customers. Their secrets are well known on purpose: `mock-customers/customers.example.json`
 * (the integrator's CONTRACT §3 format) carries the same ids and secrets, so the integrator and the mocks
 * work together with no configuration.
 */
export const DEFAULT_MOCK_CUSTOMERS: readonly Readonly<MockCustomerSpec>[] = Object.freeze([
  { id: 'customer-1', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', behavior: { latencyMs: 300 } },
  { id: 'customer-2', secret: 'whsec_YVdiei3QehZusGHArXkh8FwpFRCkGcyn', behavior: { latencyMs: 30_000 } },
  { id: 'customer-3', secret: 'whsec_NwzQsjRtQwnQ5iQyo5dzqqGhYAlKgVlr', behavior: { latencyMs: 300 } },
]);

/** Problems with an id (empty when fine). */
export function checkCustomerId(id: unknown): string[] {
  if (typeof id !== 'string' || !CUSTOMER_ID_PATTERN.test(id)) return ['must match [a-z0-9-]+'];
  return [];
}

/** Problems with a secret (empty when fine). */
export function checkSecret(secret: unknown): string[] {
  if (typeof secret !== 'string' || !SECRET_PATTERN.test(secret)) {
    return ['must be a Standard Webhooks secret: whsec_ followed by base64'];
  }
  return [];
}

export function webhookPath(id: string): string {
  return `/customers/${encodeURIComponent(id)}/webhooks`;
}
