/**
 * Standard Webhooks verification with the official `standardwebhooks` package, plus a classification of why a
 * request was refused. Headers and the timestamp window are checked first (same ±5 minutes the package uses)
 * so that the reason is known without reading the package's error messages.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { WebhookVerificationError } from 'standardwebhooks';
import type { Webhook } from 'standardwebhooks';
import type { InvalidSignatureReason } from './ledger.ts';

export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

export type SignatureCheck =
  { ok: true; webhookId: string } | { ok: false; reason: InvalidSignatureReason; message: string };

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function verifySignature(
  webhook: Webhook,
  rawBody: string,
  headers: IncomingHttpHeaders,
  nowMs: number = Date.now(),
): SignatureCheck {
  const id = single(headers['webhook-id']);
  const timestamp = single(headers['webhook-timestamp']);
  const signature = single(headers['webhook-signature']);
  if (!id || !timestamp || !signature) {
    return {
      ok: false,
      reason: 'missing_headers',
      message: 'webhook-id, webhook-timestamp and webhook-signature are required',
    };
  }
  if (!/^\d+$/.test(timestamp)) {
    return { ok: false, reason: 'missing_headers', message: 'webhook-timestamp must be unix seconds' };
  }
  const skew = Math.floor(nowMs / 1000) - Number(timestamp);
  if (Math.abs(skew) > TIMESTAMP_TOLERANCE_SECONDS) {
    return {
      ok: false,
      reason: 'stale_timestamp',
      message: `webhook-timestamp is ${Math.abs(skew)} s ${skew > 0 ? 'old' : 'in the future'} (tolerance ${TIMESTAMP_TOLERANCE_SECONDS} s)`,
    };
  }
  try {
    webhook.verify(
      rawBody,
      { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature },
      { jsonParse: false },
    );
  } catch (error) {
    if (error instanceof WebhookVerificationError) {
      return { ok: false, reason: 'bad_signature', message: 'no matching v1 signature' };
    }
    throw error;
  }
  return { ok: true, webhookId: id };
}
