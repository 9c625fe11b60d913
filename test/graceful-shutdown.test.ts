import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { sign } from '../api/signature';
import { freePort } from '../lib/ports';
import { postSignedBatch, walkInReceipt } from './support/middleware';
import { startProcess, type RunningProcess } from './support/processes';
import { eventually, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';
import { TASK_QUEUES } from '../domain/workflow-ids';

// A worker or the API asked to stop (SIGTERM, as docker/Kubernetes do) finishes or hands back what it holds
// within its grace time, then exits: no activity waits for its start-to-close or heartbeat timeout.
describe('graceful shutdown', () => {
  let stack: TestStack;
  let configPath: string;
  const processes: RunningProcess[] = [];

  beforeAll(async () => {
    // Bitrix activities run only in the worker processes this test starts and stops.
    stack = await startTestStack({ workerTaskQueues: [TASK_QUEUES.workflows, TASK_QUEUES.deductions, TASK_QUEUES.evotor, TASK_QUEUES.fiscal] });
    configPath = join(mkdtempSync(join(tmpdir(), 'pos-shutdown-')), 'pos.yaml');
    writeFileSync(configPath, TEST_POS_CONFIG);
  });
  afterAll(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await stack?.stop();
  });

  function startBitrixWorker(grace: string): RunningProcess {
    const p = startProcess('workers/main.ts', {
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: stack.namespace,
      WORKER_TASK_QUEUES: TASK_QUEUES.bitrix,
      WORKER_SHUTDOWN_GRACE: grace,
      WORKER_SHUTDOWN_FORCE: '5s',
      BITRIX_REST_URL: stack.bitrix.url,
      EVOTOR_API_URL: stack.evotor.url,
      EVOTOR_TOKEN: 'unused-by-bitrix-activities',
      POS_CONFIG: configPath,
      LOG_LEVEL: 'info',
    });
    processes.push(p);
    return p;
  }
  const workersRunning = (p: RunningProcess) => p.waitForLog((l) => l.msg === 'workers running', 90_000);
  const stock = (productId: number) => stack.bitrix.snapshot().stock.find((s) => s.storeId === 1 && s.productId === productId)?.amount ?? 0;
  const deductions = () => stack.client.workflow.getHandle('walk-in-deductions:msk-1');
  const idle = () =>
    eventually(async () => {
      const q = await deductions().query<{ queued: number; inFlight: number }>('status');
      return q.queued === 0 && q.inFlight === 0 ? q : undefined;
    }, 'the deductions queue drained', 90_000);
  /** The batch activities' start events after `fromEventId`: attempt and why the previous attempt ended. */
  async function batchStarts(fromEventId: number) {
    const history = await deductions().fetchHistory();
    return history
      .events!.filter((e) => Number(e.eventId) > fromEventId && e.activityTaskStartedEventAttributes)
      .map((e) => ({ attempt: e.activityTaskStartedEventAttributes!.attempt ?? 0, lastFailure: e.activityTaskStartedEventAttributes!.lastFailure?.message ?? '' }));
  }
  const lastEventId = async () => Number((await deductions().fetchHistory()).events!.at(-1)!.eventId);

  it('SIGTERM while a Bitrix batch is in flight: the worker lets it finish, then exits within its grace time', async () => {
    const worker = startBitrixWorker('20s');
    await workersRunning(worker);
    const fromEvent = await lastEventId();
    const before = stock(101);
    const batchesBefore = stack.bitrix.requestCounts().byMethod.batch ?? 0;
    stack.bitrix.setFaults({ latencyMs: 3_000, method: 'batch' });
    const receipts = Array.from({ length: 6 }, () => walkInReceipt('msk-1', [{ productId: '101', quantity: 1, price: 249000 }]));
    expect((await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts)).body.results!.every((r) => r.status === 'accepted')).toBe(true);
    await eventually(() => ((stack.bitrix.requestCounts().byMethod.batch ?? 0) > batchesBefore ? true : undefined), 'the batch call sent', 30_000);

    const stopAt = Date.now();
    worker.kill('SIGTERM');
    const exit = await worker.exited;
    stack.bitrix.setFaults({});
    expect(exit.code).toBe(0);
    // It waited for the batch (Bitrix answers after 3 s) and no longer than the grace time.
    expect(exit.at - stopAt).toBeLessThan(20_000);
    expect(worker.output()).toContain('workers drained');
    // The batch was done by the stopping worker itself: applied once, on the first attempt, nothing retried.
    await idle();
    expect(stock(101)).toBe(before - 6);
    const starts = await batchStarts(fromEvent);
    expect(starts.length).toBeGreaterThan(0);
    expect(starts.every((s) => s.attempt === 1)).toBe(true);
  }, 150_000);

  it('SIGTERM while a call hangs past the grace time: the activity is cancelled, retried at once elsewhere, and the worker exits', async () => {
    const first = startBitrixWorker('2s');
    await workersRunning(first);
    const fromEvent = await lastEventId();
    const before = stock(102);
    const batchesBefore = stack.bitrix.requestCounts().byMethod.batch ?? 0;
    // Bitrix never answers this batch (and never applies it).
    stack.bitrix.setFaults({ timeoutNext: 1, hangMs: 120_000, method: 'batch' });
    const receipts = Array.from({ length: 4 }, () => walkInReceipt('msk-1', [{ productId: '102', quantity: 2, price: 159050 }]));
    expect((await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts)).body.results!.every((r) => r.status === 'accepted')).toBe(true);
    await eventually(() => ((stack.bitrix.requestCounts().byMethod.batch ?? 0) > batchesBefore ? true : undefined), 'the batch call sent', 30_000);

    // Another worker is ready to take over; the first one is asked to stop.
    const second = startBitrixWorker('20s');
    await workersRunning(second);
    const stopAt = Date.now();
    first.kill('SIGTERM');
    const exit = await first.exited;
    expect(exit.code).toBe(0);
    // Grace 2 s + force 5 s: it did not wait for Bitrix (120 s) nor the activity's 2-minute start-to-close.
    expect(exit.at - stopAt).toBeLessThan(7_000);

    await idle();
    expect(stock(102)).toBe(before - 8);
    const starts = await batchStarts(fromEvent);
    const retry = starts.find((s) => s.attempt >= 2);
    // The second attempt followed the cancellation on shutdown, not a heartbeat or start-to-close timeout.
    expect(retry).toBeDefined();
    expect(retry!.lastFailure).toMatch(/shutting down|WORKER_SHUTDOWN/i);
    expect(retry!.lastFailure).not.toMatch(/timed? ?out|heartbeat/i);
    second.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 150_000);

  it('the API answers /readyz 503 once stopping, answers the request in flight, then exits', async () => {
    const port = await freePort();
    const api = startProcess('api/main.ts', {
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: stack.namespace,
      API_PORT: String(port),
      API_SHUTDOWN_DELAY: '1500ms',
      API_SHUTDOWN_GRACE: '10s',
      MIDDLEWARE_KEYS: stack.middlewareKeys,
      POS_CONFIG: configPath,
      LOG_LEVEL: 'info',
    });
    processes.push(api);
    await api.waitForLog((l) => l.msg === 'API listening', 60_000);
    const base = `http://127.0.0.1:${port}`;
    expect((await request(`${base}/readyz`)).statusCode).toBe(200);

    // A middleware batch whose body arrives slowly: in flight while the API is told to stop.
    const [keyId, secret] = [stack.middlewareKeys.split(':')[0]!, stack.middlewareKeys.slice(stack.middlewareKeys.indexOf(':') + 1)];
    const receipts = [walkInReceipt('msk-1', [{ productId: '103', quantity: 1, price: 79900 }])];
    const body = JSON.stringify({ receipts });
    const timestamp = Math.floor(Date.now() / 1000);
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${base}/middleware/v1/receipts/batch`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-pos-key-id': keyId,
          'x-pos-timestamp': String(timestamp),
          'x-pos-signature': `v1=${sign(secret, timestamp, body)}`,
          'idempotency-key': `slow-${timestamp}`,
        },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 20));
      setTimeout(() => req.end(body.slice(20)), 3_000);
    });
    await new Promise((r) => setTimeout(r, 300));
    api.kill('SIGTERM');
    // Still listening for a moment (API_SHUTDOWN_DELAY), but no longer ready.
    await eventually(async () => {
      const res = await request(`${base}/readyz`);
      const json = (await res.body.json()) as { error?: string };
      return res.statusCode === 503 ? json : undefined;
    }, '/readyz answering 503', 1_200).then((json) => expect(json.error).toBe('shutting down'));

    const done = await answer;
    expect(done.status).toBe(200);
    expect((JSON.parse(done.text) as { results: { status: string }[] }).results[0]!.status).toBe('accepted');
    const exit = await api.exited;
    expect(exit.code).toBe(0);
    await expect(request(`${base}/healthz`)).rejects.toThrow();
  }, 120_000);
});
