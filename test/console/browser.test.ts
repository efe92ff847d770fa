/**
 * The web console in headless Chromium (Debian's `chromium`, driven by playwright-core) against a running
 * integrator with its embedded delivery log and three real receivers: a wrong token is refused; sign-in;
 * the overview lists the customers and its numbers move while events flow; a package page shows its
 * timeline; a customer page shows a dead letter whose Replay button makes the receiver get it; no page
 * errors. Takes the README's screenshots (docs/, with UPDATE_SCREENSHOTS=1).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntegrator } from '../../src/app.ts';
import type { Integrator } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/report/logger.ts';
import { HandSource } from '../harness/hand-source.ts';
import { ROOT, integratorEnv } from '../harness/integrator.ts';
import { startReceiver } from '../harness/receiver.ts';
import type { Receiver } from '../harness/receiver.ts';
import { changeValue, keyOf, row } from '../harness/events.ts';
import { SECRET_A, SECRET_B, SECRET_C } from '../e2e/setup.ts';

export const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
  ],
};

const ADMIN = 'browser-admin-token-00000000001';
/** The README's screenshots are refreshed with UPDATE_SCREENSHOTS=1; otherwise they go to a temp folder. */
const SHOTS =
  process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs') : mkdtempSync(join(tmpdir(), 'console-shots-'));
const STATUSES = ['Package Posted', 'In Transit', 'Out for Delivery', 'Package Delivered'];
let receivers: Receiver[];
let integrator: Integrator;
let source: HandSource;
let base: string;
let browser: Browser;
let page: Page;
const problems: string[] = [];
let refuse = true;
let flowing = true;
let flow: Promise<void>;

beforeAll(async () => {
  receivers = await Promise.all([
    startReceiver({ secret: SECRET_A }),
    startReceiver({ secret: SECRET_B, handler: () => ({ status: 200, delayMs: 150 }) }),
    // customer-3 refuses a "Refused" status until the test lets it through: a dead letter to replay.
    startReceiver({
      secret: SECRET_C,
      handler: (req) => (req.body.data.status === 'Refused' && refuse ? { status: 400 } : { status: 200 }),
    }),
  ]);
  const env = integratorEnv({
    brokers: ['127.0.0.1:1'],
    topic: 't',
    groupId: 'g',
    customers: receivers.map((r, i) => ({
      id: `customer-${i + 1}`,
      url: r.url,
      secret: [SECRET_A, SECRET_B, SECRET_C][i]!,
    })),
    env: { ADMIN_TOKEN: ADMIN },
  });
  const cfg = loadConfig(env);
  if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
  source = new HandSource();
  integrator = createIntegrator(cfg.config, { source, log: createLogger('silent') });
  await integrator.start();
  base = integrator.url();
  // A steady trickle of package journeys for the three customers, the whole time.
  flow = (async () => {
    let n = 0;
    while (flowing) {
      const pkg = `PKG-B${String(Math.floor(n / 4)).padStart(4, '0')}`;
      const customer = `customer-${(Math.floor(n / 4) % 3) + 1}`;
      await source.push(keyOf(pkg), changeValue(row(pkg, customer, STATUSES[n % 4]!, n % 4)));
      n += 1;
      await new Promise((r) => setTimeout(r, 60));
    }
  })();
  browser = await chromium.launch(CHROMIUM);
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
}, 120_000);

afterAll(async () => {
  flowing = false;
  await flow;
  await browser?.close();
  await integrator?.stop();
  await Promise.all((receivers ?? []).map((r) => r.close()));
});

describe('web console', () => {
  it('serves the console with security headers', async () => {
    const res = await fetch(`${base}/console/customers/customer-1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses a wrong token', async () => {
    await page.goto(`${base}/console`);
    await page.fill('input[name="token"]', 'not-the-token');
    await page.click('form.signin button[type="submit"]');
    await page.getByText('That token was refused.').waitFor();
    expect(await page.isVisible('input[name="token"]')).toBe(true);
    expect(await page.isVisible('#top')).toBe(false);
  });

  it('signs in; the overview lists the customers and its numbers move while events flow', async () => {
    await page.fill('input[name="token"]', ADMIN);
    await page.press('input[name="token"]', 'Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    for (const id of ['customer-1', 'customer-2', 'customer-3']) {
      await page.getByRole('link', { name: id, exact: true }).first().waitFor();
    }
    const deliveriesPerSecond = page.locator('.tile', { hasText: 'Deliveries / s' }).locator('.tile-value');
    await expect
      .poll(async () => Number(await deliveriesPerSecond.textContent()), { timeout: 20_000 })
      .toBeGreaterThan(0);
    // customer-1's chart counts its deliveries of the last minutes: the count grows while events flow.
    const chart = page.locator('tr', { hasText: 'customer-1' }).locator('svg.spark');
    const delivered = async (): Promise<number> =>
      Number(/: (\d+) delivered/.exec((await chart.getAttribute('aria-label')) ?? '')?.[1] ?? -1);
    const before = await delivered();
    await expect.poll(delivered, { timeout: 20_000 }).toBeGreaterThan(before);
    // The live feed shows deliveries as they happen.
    await page.locator('.feed-item').first().waitFor({ timeout: 15_000 });
    await expect
      .poll(() => page.locator('.feed [role="status"]').textContent(), { timeout: 10_000 })
      .toBe('live');
    // Reload: the token is kept for the browser session (tab).
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // The embedded log starts in its own low-priority thread: on a busy machine, wait until it is up.
    await page
      .locator('.tile', { hasText: 'Delivery log' })
      .locator('.pill', { hasText: 'up' })
      .waitFor({ timeout: 60_000 });
    await page.waitForTimeout(2500); // a few seconds of chart
    await page.screenshot({ path: join(SHOTS, 'console-overview.png') });
  }, 60_000);

  it('a package page shows its timeline across customers (found with the search box)', async () => {
    const done = receivers[0]!.delivered().find((d) => d.body.data.status === 'Package Delivered');
    expect(done).toBeDefined();
    const pkg = String(done!.body.data.package_id);
    await page.keyboard.press('/');
    await page.keyboard.type(pkg);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/console/packages/${pkg}`);
    const items = page.locator('.tl-item');
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBe(4);
    const texts = await items.allTextContents();
    expect(texts.map((t) => STATUSES.find((s) => t.startsWith(s)))).toEqual([...STATUSES].reverse());
    for (const t of texts) {
      expect(t).toContain('customer-1');
      expect(t).toContain('delivered');
    }
    await page.screenshot({ path: join(SHOTS, 'console-package.png'), fullPage: true });
  });

  it('a customer page shows a dead letter; its Replay button makes the receiver get it', async () => {
    await source.push(keyOf('PKG-REFUSED'), changeValue(row('PKG-REFUSED', 'customer-3', 'Refused', 0)));
    const c3 = receivers[2]!;
    await c3.waitFor(
      () => c3.requests.some((r) => r.body.data.package_id === 'PKG-REFUSED'),
      10_000,
      'refusal',
    );
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('link', { name: 'customer-3', exact: true }).first().click();
    await page.waitForURL('**/console/customers/customer-3');
    const deadRow = page
      .locator('tr', { hasText: 'PKG-REFUSED' })
      .filter({ has: page.locator('button', { hasText: 'Replay' }) });
    await deadRow.waitFor({ timeout: 15_000 });
    expect(await deadRow.textContent()).toMatch(/HTTP 400/);
    await page.waitForTimeout(1000);
    await page.screenshot({ path: join(SHOTS, 'console-customer.png'), fullPage: true });
    refuse = false;
    await deadRow.locator('button', { hasText: 'Replay' }).click();
    await c3.waitFor(
      () => c3.delivered().some((r) => r.body.data.package_id === 'PKG-REFUSED'),
      15_000,
      'the replayed delivery',
    );
    await page.getByText('No dead letters.').waitFor({ timeout: 10_000 });
  }, 60_000);

  it('an event page shows every attempt per customer', async () => {
    const ev = receivers[2]!.delivered().find((r) => r.body.data.package_id === 'PKG-REFUSED')!;
    await page.goto(`${base}/console/events/${ev.id}`);
    const card = page
      .locator('section', { hasText: 'Delivery to' })
      .or(page.getByLabel('Delivery to customer-3'));
    await card.first().waitFor({ timeout: 15_000 });
    // The page shows the log as it was when loaded; the replay's delivery reaches the log a moment after the
    // receiver got it (the log writes off the delivery path, in batches): load the page again until it is.
    await expect
      .poll(
        async () => {
          const text = (await page.getByLabel('Delivery to customer-3').textContent()) ?? '';
          if (!/replayed.*delivered/s.test(text)) await page.reload();
          return text;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toMatch(/attempt 1.*400.*dead.*replayed.*attempt 1.*200.*delivered/s);
  });

  it('no page errors', () => {
    expect(problems).toEqual([]);
  });
});
