/** Prometheus and Grafana provisioning: they scrape what runs, and chart CONTRACT §6's metrics by name. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bindMounts, composeConfig, REPO_ROOT, yamlToJson } from './compose.ts';
import type { ComposeFile } from './compose.ts';

/** CONTRACT §6. */
const CONTRACT_METRICS = {
  integrator_events_consumed_total: 'counter',
  integrator_poison_messages_total: 'counter',
  integrator_deliveries_total: 'counter',
  integrator_delivery_attempts_total: 'counter',
  integrator_attempt_duration_seconds: 'histogram',
  integrator_end_to_end_seconds: 'histogram',
  integrator_inflight_requests: 'gauge',
  integrator_pending_deliveries: 'gauge',
  integrator_retry_queue_depth: 'gauge',
  integrator_circuit_state: 'gauge',
  integrator_uncommitted_messages: 'gauge',
} as const;

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string }[];
}

const dashboardDir = join(REPO_ROOT, 'deploy/grafana/dashboards');
const dashboard = JSON.parse(readFileSync(join(dashboardDir, 'integrator.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
};
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const allExpressions = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

let compose: ComposeFile;
beforeAll(async () => {
  compose = await composeConfig();
});

describe('Grafana dashboard', () => {
  it('uses only metric names from CONTRACT §6, histograms through their _bucket series', () => {
    const used = new Set(allExpressions.flatMap((e) => e.match(/integrator_[a-z_]+/g) ?? []));
    for (const name of used) {
      const base = name.replace(/_bucket$/, '');
      expect(Object.keys(CONTRACT_METRICS), name).toContain(base);
      if (name.endsWith('_bucket'))
        expect(CONTRACT_METRICS[base as keyof typeof CONTRACT_METRICS]).toBe('histogram');
      else expect(CONTRACT_METRICS[name as keyof typeof CONTRACT_METRICS], name).not.toBe('histogram');
    }
    // …and charts every one of them.
    for (const name of Object.keys(CONTRACT_METRICS)) {
      expect(
        [...used].some((u) => u === name || u === `${name}_bucket`),
        name,
      ).toBe(true);
    }
  });

  it.each([
    [
      'Delivery latency p50 / p99 (per attempt)',
      ['histogram_quantile(0.5', 'histogram_quantile(0.99', 'integrator_attempt_duration_seconds_bucket'],
    ],
    [
      'End-to-end latency p50 / p99',
      ['histogram_quantile(0.5', 'histogram_quantile(0.99', 'integrator_end_to_end_seconds_bucket'],
    ],
    ['Deliveries / s', ['rate(integrator_deliveries_total']],
    ['Attempts / s by result', ['result', 'integrator_delivery_attempts_total']],
    ['In flight', ['integrator_inflight_requests']],
    ['Pending', ['integrator_pending_deliveries']],
    ['Parked (retry queue)', ['integrator_retry_queue_depth']],
    ['Circuit breaker', ['integrator_circuit_state']],
    ['Dead letters', ['outcome="dead_lettered"']],
    ['Consumer lag: uncommitted messages', ['integrator_uncommitted_messages']],
  ])('has "%s"', (title, fragments) => {
    const panel = panels.find((p) => p.title === title);
    expect(panel, title).toBeDefined();
    const exprs = (panel?.targets ?? []).map((t) => t.expr).join('\n');
    for (const fragment of fragments) expect(exprs).toContain(fragment);
  });

  it('latency and per-customer panels are split by customer', () => {
    for (const title of ['Delivery latency p50 / p99 (per attempt)', 'End-to-end latency p50 / p99']) {
      const exprs = panels.find((p) => p.title === title)?.targets?.map((t) => t.expr) ?? [];
      for (const e of exprs) expect(e).toMatch(/sum by \(customer, le\)/);
    }
  });

  it('adds up the replicas: every series is aggregated across instances, the store-wide gauge by max', () => {
    for (const panel of panels) {
      for (const { expr } of panel.targets ?? []) {
        // An integrator series straight off a scrape would draw one line per replica.
        expect(expr, panel.title).toMatch(/^(sum|max|count|histogram_quantile\(0\.\d+, sum) by \(|^count\(/);
        if (/integrator_retry_queue_depth/.test(expr))
          expect(expr, panel.title).toMatch(/^max by \(customer\)/);
        if (/integrator_circuit_state/.test(expr)) expect(expr, panel.title).toMatch(/^max by \(customer\)/);
      }
    }
    const perReplica = panels.find((p) => p.title === 'Deliveries / s per replica');
    expect(perReplica?.targets?.[0]?.expr).toMatch(
      /^sum by \(instance\) \(rate\(integrator_deliveries_total/,
    );
    const up = panels.find((p) => p.title === 'Replicas up');
    expect(up?.targets?.[0]?.expr).toBe('count(up{job="integrator"} == 1)');
  });

  it('every panel queries the provisioned datasource, and the provider loads this folder', () => {
    const datasources = readFileSync(
      join(REPO_ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'),
      'utf8',
    );
    const uid = /uid: (\S+)/.exec(datasources)?.[1];
    expect(uid).toBe('prometheus');
    expect(datasources).toContain('url: http://prometheus:9090');
    for (const panel of panels) expect(panel.datasource?.uid, panel.title).toBe(uid);

    const provider = readFileSync(
      join(REPO_ROOT, 'deploy/grafana/provisioning/dashboards/dashboards.yml'),
      'utf8',
    );
    const path = /path: (\S+)/.exec(provider)?.[1];
    const grafana = compose.services.grafana;
    const mount = grafana && bindMounts(grafana).find((m) => m.target === path);
    expect(mount?.source.replace(/\/$/, '')).toBe(dashboardDir);
    expect(readdirSync(dashboardDir)).toContain('integrator.json');
    expect(grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${path}/integrator.json`);
  });
});

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  static_configs?: { targets: string[] }[];
  dns_sd_configs?: { names: string[]; type?: string; port?: number }[];
}

describe('Prometheus', () => {
  it("scrapes every integrator replica's and the mocks' /metrics on their container ports", async () => {
    const config = (await yamlToJson(
      readFileSync(join(REPO_ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'),
    )) as { scrape_configs: ScrapeConfig[] };
    const job = (name: string) => config.scrape_configs.find((j) => j.job_name === name);
    // Every replica of `docker compose up --scale integrator=N`: one A record per container.
    expect(job('integrator')?.dns_sd_configs).toEqual([
      expect.objectContaining({ names: ['integrator'], type: 'A', port: 8080 }),
    ]);
    expect(job('integrator')?.static_configs).toBeUndefined();
    expect(job('mock-customers')?.static_configs).toEqual([{ targets: ['mock-customers:4000'] }]);
    expect(compose.services.integrator?.environment?.PORT).toBe(8080);
    expect(compose.services['mock-customers']?.environment?.PORT).toBe(4000);
    const mount = compose.services.prometheus && bindMounts(compose.services.prometheus)[0];
    expect(mount?.target).toBe('/etc/prometheus/prometheus.yml');
  });
});
