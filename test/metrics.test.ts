import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../lib/ports';
import { postSignedBatch, walkInReceipt } from './support/middleware';
import { startProcess, type RunningProcess } from './support/processes';
import { has, sample, scrape } from './support/prometheus';
import { eventually, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';
import { TASK_QUEUES } from '../domain/workflow-ids';

// What Prometheus sees: the API's /metrics (doors, hand-over to Temporal, walk-in queues, workflows waiting for a
// person) and a worker process's /metrics (outside-system calls and rate-limit waits, and the Temporal SDK's own
// figures), after real traffic through the real doors, Temporal and the Bitrix simulator.
describe('metrics', () => {
  let stack: TestStack;
  let worker: RunningProcess | undefined;
  let configPath: string;

  beforeAll(async () => {
    // No Bitrix worker in this process: walk-ins queue up until the worker process below starts.
    stack = await startTestStack({ workerTaskQueues: [TASK_QUEUES.workflows, TASK_QUEUES.deductions, TASK_QUEUES.evotor, TASK_QUEUES.fiscal] });
    configPath = join(mkdtempSync(join(tmpdir(), 'pos-metrics-')), 'pos.yaml');
    writeFileSync(configPath, TEST_POS_CONFIG);
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await stack?.stop();
  });

  it('the API and a worker process report the traffic they handled', async () => {
    const apiMetrics = `${stack.apiUrl}/metrics`;
    const before = await scrape(apiMetrics);
    const accepted = (t: string) => sample(t, 'bridge_http_requests_total', { door: 'middleware_receipts', method: 'POST', status: '200' });

    // Walk-in sales through the middleware door (one of them with a product Bitrix does not know), and a forged one.
    const receipts = [
      ...Array.from({ length: 5 }, () => walkInReceipt('msk-1', [{ productId: '101', quantity: 1, price: 249000 }])),
      walkInReceipt('msk-1', [{ productId: '999999', quantity: 1, price: 1000 }]),
    ];
    expect((await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts)).status).toBe(200);
    expect((await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts.slice(0, 1), { tamper: true })).status).toBe(401);
    await request(`${stack.apiUrl}/api/orders/1`).then((r) => r.body.dump());

    const afterDoors = await scrape(apiMetrics);
    expect(accepted(afterDoors)).toBe(accepted(before) + 1);
    expect(sample(afterDoors, 'bridge_http_requests_total', { door: 'middleware_receipts', status: '401' })).toBeGreaterThanOrEqual(1);
    expect(sample(afterDoors, 'bridge_http_requests_total', { door: 'admin', status: '401' })).toBeGreaterThanOrEqual(1);
    expect(sample(afterDoors, 'bridge_http_request_duration_seconds_count', { door: 'middleware_receipts' })).toBeGreaterThan(
      sample(before, 'bridge_http_request_duration_seconds_count', { door: 'middleware_receipts' }),
    );
    // The door recorded each receipt (start) and queued them (update): both timed.
    expect(sample(afterDoors, 'bridge_temporal_handover_duration_seconds_count', { operation: 'start' })).toBeGreaterThan(
      sample(before, 'bridge_temporal_handover_duration_seconds_count', { operation: 'start' }),
    );
    expect(sample(afterDoors, 'bridge_temporal_handover_duration_seconds_count', { operation: 'update_with_start' })).toBeGreaterThan(
      sample(before, 'bridge_temporal_handover_duration_seconds_count', { operation: 'update_with_start' }),
    );
    expect(afterDoors).not.toMatch(/mw-[a-z0-9]+-\d+/); // no receipt ids in labels

    // Nobody writes them off yet: the store's queue shows them (read from its workflow at scrape time).
    const waiting = (t: string) => sample(t, 'bridge_walk_in_queued_receipts', { store: 'msk-1' }) + sample(t, 'bridge_walk_in_batches_in_flight', { store: 'msk-1' });
    await eventually(async () => (waiting(await scrape(apiMetrics)) > 0 ? true : undefined), 'the walk-in queue gauges', 40_000);
    expect(has(await scrape(apiMetrics), 'bridge_walk_in_queued_receipts')).toBe(true);

    // The worker process for Bitrix starts, with its metrics endpoint; Bitrix is strict about its rate limit.
    stack.bitrix.setRateLimit({ rps: 1, burst: 1 });
    const port = await freePort();
    worker = startProcess('workers/main.ts', {
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: stack.namespace,
      WORKER_TASK_QUEUES: TASK_QUEUES.bitrix,
      WORKER_METRICS_ADDRESS: `127.0.0.1:${port}`,
      BITRIX_REST_URL: stack.bitrix.url,
      EVOTOR_API_URL: stack.evotor.url,
      EVOTOR_TOKEN: 'unused-by-bitrix-activities',
      POS_CONFIG: configPath,
      LOG_LEVEL: 'warn',
    });
    const workerMetrics = `http://127.0.0.1:${port}/metrics`;
    await eventually(async () => (await scrape(workerMetrics)) || undefined, 'the worker metrics endpoint', 90_000);

    // The queue drains; the Bitrix calls, their outcomes and the rate-limit waits are counted in the worker.
    await eventually(async () => (waiting(await scrape(apiMetrics)) === 0 ? true : undefined), 'the queue gauges back to 0', 90_000);
    const w = await eventually(async () => {
      const text = await scrape(workerMetrics);
      return sample(text, 'bridge_outside_calls_total', { system: 'bitrix', method: 'batch', outcome: 'ok' }) > 0 ? text : undefined;
    }, 'Bitrix batch calls counted', 60_000);
    expect(sample(w, 'bridge_outside_calls_total', { system: 'bitrix', outcome: 'rate_limited' })).toBeGreaterThan(0);
    expect(sample(w, 'bridge_rate_limit_waits_total', { system: 'bitrix' })).toBeGreaterThan(0);
    expect(sample(w, 'bridge_rate_limit_wait_seconds_total', { system: 'bitrix' })).toBeGreaterThan(0);
    expect(sample(w, 'bridge_outside_call_duration_seconds_count', { system: 'bitrix', method: 'batch' })).toBeGreaterThan(0);
    // The Temporal SDK's own metrics, served by the same endpoint.
    expect(sample(w, 'temporal_activity_execution_latency_count', { activity_type: 'deductWalkInBatch' })).toBeGreaterThan(0);
    expect(w).not.toContain(stack.bitrix.url.split('/rest/')[1]!.split('/')[1]!); // the webhook secret
    stack.bitrix.setRateLimit(null);

    // The receipt Bitrix refused waits for a person: counted by kind (a visibility count at scrape time).
    await eventually(async () => (sample(await scrape(apiMetrics), 'bridge_needs_attention_workflows', { kind: 'walk_in_problem' }) === 1 ? true : undefined), 'the needs-attention gauge', 60_000);
    expect(sample(await scrape(apiMetrics), 'bridge_needs_attention_workflows', { kind: 'payment' })).toBe(0);
  }, 240_000);
});
