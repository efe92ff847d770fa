/** deploy/customers.compose.json: the integrator accepts it, and it matches the mock customers' secrets. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { customersFileSchema } from '../../src/config/customers.ts';
import { REPO_ROOT } from './compose.ts';

interface Entry {
  id: string;
  url: string;
  secret: string;
}

const read = (path: string): { customers: Entry[] } =>
  JSON.parse(readFileSync(join(REPO_ROOT, path), 'utf8')) as { customers: Entry[] };

const compose = read('deploy/customers.compose.json');

describe('deploy/customers.compose.json', () => {
  it("passes the integrator's own customers-file schema (CONTRACT §3)", () => {
    const result = customersFileSchema.safeParse(compose);
    expect(result.success ? [] : result.error.issues).toEqual([]);
  });

  it('sends to the mock-customers service inside the compose network', () => {
    expect(compose.customers.map((c) => [c.id, c.url])).toEqual(
      ['customer-1', 'customer-2', 'customer-3'].map((id) => [
        id,
        `http://mock-customers:4000/customers/${id}/webhooks`,
      ]),
    );
  });

  it('uses secrets that decode as base64, the same as the mocks', () => {
    const mocks = read('mock-customers/customers.example.json');
    for (const customer of compose.customers) {
      const key = customer.secret.replace(/^whsec_/, '');
      expect(Buffer.from(key, 'base64').toString('base64'), customer.id).toBe(key);
      expect(Buffer.from(key, 'base64').length).toBeGreaterThanOrEqual(16);
      expect(customer.secret, customer.id).toBe(mocks.customers.find((m) => m.id === customer.id)?.secret);
    }
  });
});
