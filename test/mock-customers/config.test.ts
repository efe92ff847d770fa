import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyEnvOverrides, loadConfig, parseCustomersFile } from '../../mock-customers/config.ts';
import { DEFAULT_MOCK_CUSTOMERS } from '../../mock-customers/customers.ts';

const S1 = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const S2 = 'whsec_YVdiei3QehZusGHArXkh8FwpFRCkGcyn';
const exampleUrl = new URL('../../mock-customers/customers.example.json', import.meta.url);

const noFile = (path: string): string => {
  throw new Error(`no such file ${path}`);
};

describe('the default three and customers.example.json', () => {
  it('share ids and secrets, and the example points at the mocks on port 4000', () => {
    const example = JSON.parse(readFileSync(exampleUrl, 'utf8')) as {
      customers: { id: string; url: string; secret: string }[];
    };
    expect(example.customers.map(({ id, secret }) => ({ id, secret }))).toEqual(
      DEFAULT_MOCK_CUSTOMERS.map(({ id, secret }) => ({ id, secret })),
    );
    for (const customer of example.customers) {
      expect(customer.url).toBe(`http://127.0.0.1:4000/customers/${customer.id}/webhooks`);
    }
  });

  it('are what runs without configuration: customer-1 300 ms, customer-2 30 s, customer-3 300 ms', () => {
    const config = loadConfig({}, noFile);
    expect(config).toEqual({
      ok: true,
      value: {
        port: 4000,
        host: '0.0.0.0',
        logLevel: 'info',
        source: 'the default three',
        customers: [
          { id: 'customer-1', secret: S1, behavior: { latencyMs: 300 } },
          { id: 'customer-2', secret: S2, behavior: { latencyMs: 30_000 } },
          { id: 'customer-3', secret: expect.stringMatching(/^whsec_/), behavior: { latencyMs: 300 } },
        ],
      },
    });
  });
});

describe('parseCustomersFile', () => {
  it('reads the mock format with defaultBehavior under each entry behavior', () => {
    const result = parseCustomersFile({
      defaultBehavior: { latencyMs: 100, errorRate: 0.1 },
      customers: [
        { id: 'acme', secret: S1, behavior: { errorRate: 0.5, rateLimitPerSecond: 20 } },
        { id: 'globex', secret: S2 },
      ],
    });
    expect(result).toEqual({
      ok: true,
      value: [
        { id: 'acme', secret: S1, behavior: { latencyMs: 100, errorRate: 0.5, rateLimitPerSecond: 20 } },
        { id: 'globex', secret: S2, behavior: { latencyMs: 100, errorRate: 0.1 } },
      ],
    });
  });

  it('reads the integrator customers file (CONTRACT §3), ignoring its delivery settings', () => {
    const example = JSON.parse(readFileSync(exampleUrl, 'utf8')) as unknown;
    const result = parseCustomersFile(example);
    expect(result.ok && result.value.map((c) => [c.id, c.behavior])).toEqual([
      ['customer-1', {}],
      ['customer-2', {}],
      ['customer-3', {}],
    ]);
    const full = parseCustomersFile({
      customers: [
        {
          id: 'customer-1',
          url: 'http://127.0.0.1:4000/customers/customer-1/webhooks',
          secret: S1,
          match: { customer_id: 'customer-1' },
          concurrency: 16,
          retry: { maxAttempts: 8 },
        },
      ],
    });
    expect(full.ok).toBe(true);
  });

  it('lists every problem with where it is', () => {
    const result = parseCustomersFile({
      defaultBehavior: { hangRate: 3 },
      customers: [
        { id: 'Bad_Id', secret: 'plain', behavior: { errorRate: 2 } },
        { id: 'ok', secret: S1 },
        { id: 'ok', secret: S1, behavior: { latencyMs: 'slow' } },
      ],
    });
    expect(result).toEqual({
      ok: false,
      problems: [
        'defaultBehavior.hangRate: must be between 0 and 1',
        'customers[0].id: must match [a-z0-9-]+',
        'customers[0].secret: must be a Standard Webhooks secret: whsec_ followed by base64',
        'customers[0].behavior.errorRate: must be between 0 and 1',
        'customers[2].id: "ok" is listed twice',
        'customers[2].behavior.latencyMs: must be a number of milliseconds',
      ],
    });
  });

  it.each([
    [{}, 'customers: must be an array of customers'],
    [{ customers: [] }, 'customers: must list at least one customer'],
    [[], '(file): Invalid input: expected object, received array'],
  ])('refuses %j', (json, problem) => {
    expect(parseCustomersFile(json)).toEqual({ ok: false, problems: [problem] });
  });
});

describe('environment overrides MOCK_<ID>_<KNOB>', () => {
  const customers = [
    { id: 'customer-2', secret: S2, behavior: { latencyMs: 30_000 } },
    { id: 'a', secret: S1 },
  ];

  it('overrides knobs of the named customer only', () => {
    const result = applyEnvOverrides(customers, {
      MOCK_CUSTOMER_2_LATENCY_MS: '50',
      MOCK_CUSTOMER_2_ERROR_RATE: '0.25',
      MOCK_CUSTOMER_2_ERROR_STATUS: '503',
      MOCK_CUSTOMER_2_RATE_LIMIT_PER_SECOND: '10',
      MOCK_A_HANG_RATE: '0.1',
      MOCK_A_SECRET: S2,
    });
    expect(result).toEqual({
      ok: true,
      value: [
        {
          id: 'customer-2',
          secret: S2,
          behavior: { latencyMs: 50, errorRate: 0.25, errorStatus: 503, rateLimitPerSecond: 10 },
        },
        { id: 'a', secret: S2, behavior: { hangRate: 0.1 } },
      ],
    });
  });

  it('sets a latency distribution from P50 and P99; null/none clears a nullable knob', () => {
    const result = applyEnvOverrides([{ id: 'a', secret: S1, behavior: { rateLimitPerSecond: 3 } }], {
      MOCK_A_LATENCY_P50_MS: '100',
      MOCK_A_LATENCY_P99_MS: '900',
      MOCK_A_RATE_LIMIT_PER_SECOND: 'none',
    });
    expect(result).toEqual({
      ok: true,
      value: [{ id: 'a', secret: S1, behavior: { latencyDistribution: { p50Ms: 100, p99Ms: 900 } } }],
    });
  });

  it('names the variable of every bad value, and variables naming no customer', () => {
    const result = applyEnvOverrides(customers, {
      MOCK_CUSTOMER_2_ERROR_RATE: 'lots',
      MOCK_A_LATENCY_P50_MS: '100',
      MOCK_A_SECRET: 'secret',
      MOCK_CUSTOMER_9_LATENCY_MS: '1',
      MOCK_UNRELATED: 'x',
    });
    expect(result).toEqual({
      ok: false,
      problems: [
        'MOCK_CUSTOMER_2_ERROR_RATE: must be a number between 0 and 1',
        'MOCK_A_SECRET: must be a Standard Webhooks secret: whsec_ followed by base64',
        'MOCK_A_LATENCY_P99_MS: must be a number of milliseconds',
        'MOCK_CUSTOMER_9_LATENCY_MS: names no configured customer (customer-2, a)',
      ],
    });
  });
});

describe('loadConfig', () => {
  it('reads PORT, HOST, LOG_LEVEL and MOCK_CUSTOMERS_FILE, then applies overrides', () => {
    const files: Record<string, string> = {
      '/cfg.json': JSON.stringify({ customers: [{ id: 'acme', secret: S1, behavior: { latencyMs: 5 } }] }),
    };
    const config = loadConfig(
      {
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        MOCK_CUSTOMERS_FILE: '/cfg.json',
        MOCK_ACME_GONE_RATE: '1',
      },
      (path) => files[path] ?? noFile(path),
    );
    expect(config).toEqual({
      ok: true,
      value: {
        port: 0,
        host: '127.0.0.1',
        logLevel: 'warn',
        source: '/cfg.json',
        customers: [{ id: 'acme', secret: S1, behavior: { latencyMs: 5, goneRate: 1 } }],
      },
    });
  });

  it('reports every problem at once', () => {
    const config = loadConfig(
      { PORT: 'eighty', LOG_LEVEL: 'loud', MOCK_CUSTOMERS_FILE: '/missing.json' },
      noFile,
    );
    expect(config).toEqual({
      ok: false,
      problems: [
        'PORT: must be an integer 0–65535, got "eighty"',
        'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
        'MOCK_CUSTOMERS_FILE: cannot read /missing.json as JSON: no such file /missing.json',
      ],
    });
  });
});
