import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ATTENTION_KINDS, doorOf } from '../api/metrics';
import { collectProcessMetrics, pathShape, registry } from '../lib/metrics';

// The Grafana dashboard and the Prometheus configuration in deploy/ stay in step with what the code exports.
describe('the dashboard and the scrape configuration', () => {
  const dashboard = JSON.parse(readFileSync(join(__dirname, '..', 'deploy', 'grafana', 'bridge-dashboard.json'), 'utf8')) as {
    panels: { type: string; title: string; targets?: { expr: string }[] }[];
  };

  it('every bridge_* series a panel asks for is one the processes export', async () => {
    collectProcessMetrics();
    const exported = new Set<string>();
    for (const m of await registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_count', '_sum']) exported.add(`${m.name}${s}`);
    }
    const asked = dashboard.panels.flatMap((p) => p.targets ?? []).flatMap((t) => t.expr.match(/\bbridge_[a-z0-9_]+/g) ?? []);
    expect(asked.length).toBeGreaterThan(10);
    expect(asked.filter((name) => !exported.has(name))).toEqual([]);
    // Each of the figures has a panel.
    for (const name of ['bridge_http_requests_total', 'bridge_http_request_duration_seconds_bucket', 'bridge_temporal_handover_duration_seconds_bucket',
      'bridge_outside_calls_total', 'bridge_rate_limit_wait_seconds_total', 'bridge_walk_in_queued_receipts', 'bridge_needs_attention_workflows'])
      expect(asked).toContain(name);
  });

  it('the scrape configuration names the API and the worker', () => {
    const config = parseYaml(readFileSync(join(__dirname, '..', 'deploy', 'prometheus', 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] };
    expect(config.scrape_configs.map((c) => c.job_name)).toEqual(expect.arrayContaining(['bridge-api', 'bridge-worker']));
  });

  it('labels are bounded names: doors, Evotor paths without ids', () => {
    expect(doorOf('/api/orders/42/retry')).toBe('admin');
    expect(doorOf('/webhooks/evotor/receipts')).toBe('evotor');
    expect(doorOf('/something/else/123')).toBe('other');
    expect(pathShape('/stores/20240101-0000-4000-8000-000000000001/documents/7c1d')).toBe('/stores/:id/documents/:id');
    expect(Object.values(ATTENTION_KINDS)).toContain('posPaymentWorkflow');
  });
});
