import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { verifySignature } from '../../mock-customers/signature.ts';
import { hmacSignature } from './helpers.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OTHER = 'whsec_YVdiei3QehZusGHArXkh8FwpFRCkGcyn';
const NOW_MS = Date.now();
const NOW = Math.floor(NOW_MS / 1000);
const BODY = '{"id":"evt_1","data":{"status":"Ünïcødé ✓"}}';

function headers(signature: string, timestamp = NOW, id = 'evt_1') {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

describe('signing: CONTRACT §5 by hand agrees with the standardwebhooks package', () => {
  it.each([
    ['ascii', '{"a":1}'],
    ['unicode', BODY],
    ['empty', ''],
  ])('%s body', (_name, body) => {
    const library = new Webhook(SECRET).sign('msg_1', new Date(NOW * 1000), body);
    expect(hmacSignature(SECRET, 'msg_1', NOW, body)).toBe(library);
  });
});

describe('verifySignature', () => {
  const webhook = new Webhook(SECRET);

  it('accepts a good signature', () => {
    expect(
      verifySignature(webhook, BODY, headers(hmacSignature(SECRET, 'evt_1', NOW, BODY)), NOW_MS),
    ).toEqual({
      ok: true,
      webhookId: 'evt_1',
    });
  });

  it('accepts when one of several space-separated signatures matches (key rotation)', () => {
    const signature = `${hmacSignature(OTHER, 'evt_1', NOW, BODY)} ${hmacSignature(SECRET, 'evt_1', NOW, BODY)}`;
    expect(verifySignature(webhook, BODY, headers(signature), NOW_MS).ok).toBe(true);
  });

  it.each([
    ['another secret', headers(hmacSignature(OTHER, 'evt_1', NOW, BODY)), BODY, 'bad_signature'],
    ['a changed body', headers(hmacSignature(SECRET, 'evt_1', NOW, BODY)), BODY + ' ', 'bad_signature'],
    ['another id', headers(hmacSignature(SECRET, 'evt_1', NOW, BODY), NOW, 'evt_2'), BODY, 'bad_signature'],
    [
      'a v2 signature',
      headers(hmacSignature(SECRET, 'evt_1', NOW, BODY).replace('v1,', 'v2,')),
      BODY,
      'bad_signature',
    ],
    [
      'an old timestamp',
      headers(hmacSignature(SECRET, 'evt_1', NOW - 301, BODY), NOW - 301),
      BODY,
      'stale_timestamp',
    ],
    [
      'a future timestamp',
      headers(hmacSignature(SECRET, 'evt_1', NOW + 301, BODY), NOW + 301),
      BODY,
      'stale_timestamp',
    ],
    ['a timestamp in ms', headers('v1,x', NOW_MS), BODY, 'stale_timestamp'],
    [
      'a non-numeric timestamp',
      { ...headers('v1,x'), 'webhook-timestamp': 'yesterday' },
      BODY,
      'missing_headers',
    ],
    ['no signature', { 'webhook-id': 'evt_1', 'webhook-timestamp': String(NOW) }, BODY, 'missing_headers'],
    ['no headers', {}, BODY, 'missing_headers'],
  ])('refuses %s', (_name, requestHeaders, body, reason) => {
    expect(verifySignature(webhook, body, requestHeaders, NOW_MS)).toMatchObject({ ok: false, reason });
  });
});
