import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { secretKey, webhookHeaders } from '../../../src/delivery/signing.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('Standard Webhooks signing', () => {
  it('is verified by the official standardwebhooks library', () => {
    const body = '{"id":"evt_1","data":{"big":9007199254740993}}';
    const headers = webhookHeaders(secretKey(SECRET), 'evt_1', body, Date.now());
    expect(() => new Webhook(SECRET).verify(body, headers)).not.toThrow();
  });

  it('a changed body fails verification', () => {
    const headers = webhookHeaders(secretKey(SECRET), 'evt_1', '{"a":1}', Date.now());
    expect(() => new Webhook(SECRET).verify('{"a":2}', headers)).toThrow();
  });

  it('matches the known vector of the spec (id.timestamp.body, base64 HMAC-SHA256)', () => {
    const headers = webhookHeaders(
      secretKey(SECRET),
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      '{"test": 2432232314}',
      1614265330_000,
    );
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    expect(headers['webhook-timestamp']).toBe('1614265330');
  });
});
