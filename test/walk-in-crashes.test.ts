import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { WalkInReceipt } from '../domain/walk-in';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { terminalReceiptWorkflow } from '../workflows/terminal-receipt';
import { queueReceiptsUpdate, walkInDeductionsWorkflow } from '../workflows/walk-in-deductions';
import { postSignedBatch, walkInReceipt } from './support/middleware';
import { eventually, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';
import { TASK_QUEUES, walkInDeductionsWorkflowId } from '../domain/workflow-ids';

// Crashes in the middle of a walk-in write-off: the worker running a Bitrix batch is killed, and the door
// dies between recording a receipt and queueing it. Each line still leaves the warehouse exactly once.
const ROOT = resolve(__dirname, '..');

describe('walk-in sales survive crashes', () => {
  let stack: TestStack;
  let configPath: string;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    // Bitrix activities run only in separate worker processes, which the test can kill.
    stack = await startTestStack({ workerTaskQueues: [TASK_QUEUES.workflows, TASK_QUEUES.deductions, TASK_QUEUES.evotor, TASK_QUEUES.fiscal] });
    configPath = join(mkdtempSync(join(tmpdir(), 'pos-crash-')), 'pos.yaml');
    writeFileSync(configPath, TEST_POS_CONFIG);
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await stack?.stop();
  });

  /** A production worker process (workers/main.ts) polling the Bitrix activity queue of this test's namespace. */
  function startBitrixWorker(): ChildProcess {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', 'workers/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
        TEMPORAL_NAMESPACE: stack.namespace,
        WORKER_TASK_QUEUES: TASK_QUEUES.bitrix,
        BITRIX_REST_URL: stack.bitrix.url,
        EVOTOR_API_URL: stack.evotor.url,
        EVOTOR_TOKEN: 'unused-by-bitrix-activities',
        POS_CONFIG: configPath,
        LOG_LEVEL: 'warn',
        LOG_PRETTY: '',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    workers.push(child);
    return child;
  }
  const pollers = async () =>
    (await stack.client.workflowService.describeTaskQueue({ namespace: stack.namespace, taskQueue: { name: TASK_QUEUES.bitrix }, taskQueueType: 2 })).pollers ?? [];
  const stock = (productId: number) => stack.bitrix.snapshot().stock.find((s) => s.storeId === 1 && s.productId === productId)?.amount ?? 0;
  const deductions = () => stack.client.workflow.getHandle('walk-in-deductions:msk-1');
  const idle = () =>
    eventually(async () => {
      const q = await deductions().query<{ queued: number; inFlight: number }>('status');
      return q.queued === 0 && q.inFlight === 0 ? q : undefined;
    }, 'the deductions queue drained', 90_000);

  it('a worker killed while its Bitrix batch is in flight: the batch is retried elsewhere and applied once', async () => {
    const first = startBitrixWorker();
    await eventually(async () => ((await pollers()).length > 0 ? true : undefined), 'the Bitrix worker polling', 60_000);
    const before = { a: stock(101), b: stock(102) };
    const batchesBefore = stack.bitrix.requestCounts().byMethod.batch ?? 0;
    // Bitrix takes 3 s for the batch and applies it even though the caller is gone by then.
    stack.bitrix.setFaults({ latencyMs: 3_000, method: 'batch' });
    const receipts = Array.from({ length: 12 }, () => walkInReceipt('msk-1', [{ productId: '101', quantity: 1, price: 249000 }, { productId: '102', quantity: 1, price: 159050 }]));
    const posted = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts);
    expect(posted.body.results!.every((r) => r.status === 'accepted')).toBe(true);

    // The batch call has reached Bitrix: kill the worker that made it, before the answer comes back.
    await eventually(() => ((stack.bitrix.requestCounts().byMethod.batch ?? 0) > batchesBefore ? true : undefined), 'the batch call sent', 30_000);
    first.kill('SIGKILL');
    // Bitrix applies it after its delay: the stock goes down, but the workflow never hears so.
    await eventually(() => (stock(101) === before.a - 12 ? true : undefined), 'Bitrix applying the batch of the killed worker', 20_000);
    stack.bitrix.setFaults({});
    expect((await deductions().query<{ inFlight: number }>('status')).inFlight).toBeGreaterThan(0);

    startBitrixWorker();
    await idle();
    expect(stock(101)).toBe(before.a - 12);
    expect(stock(102)).toBe(before.b - 12);
    // The retry (attempt 2, after the heartbeat timeout) found the conducted document instead of writing another.
    const documents = stack.bitrix.snapshot().documents.filter((d) => d.docType === 'D' && receipts.some((r) => d.commentary?.includes(r.receiptId)));
    expect(documents).toHaveLength(1);
    const history = await deductions().fetchHistory();
    const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
  }, 150_000);

  it('records an older door left without queueing them: the resend queues them, once', async () => {
    await eventually(async () => ((await pollers()).length > 0 ? true : undefined), 'a Bitrix worker polling', 60_000);
    const before = stock(103);
    const receipts = Array.from({ length: 5 }, () => walkInReceipt('msk-1', [{ productId: '103', quantity: 2, price: 79900 }]));
    // What a door before this version could leave behind (it recorded first): each receipt recorded, nothing queued.
    for (const r of receipts) {
      const receipt: WalkInReceipt = { key: `msk-1:${r.receiptId}`, receiptId: r.receiptId, storeId: 'msk-1', terminalStoreId: 'msk-1', lines: [{ bitrixProductId: '103', name: 'x', quantity: 2 }] };
      await stack.client.workflow.execute(terminalReceiptWorkflow, {
        workflowId: `terminal-receipt:msk-1:${r.receiptId}`,
        taskQueue: TASK_QUEUES.workflows,
        memo: { queuedByDoor: true },
        args: [{ payment: { receiptId: r.receiptId, terminalKind: 'middleware', terminalStoreId: 'msk-1', deviceId: 'd', amount: r.total, currency: 'RUB', paidAt: r.dateTime, paymentSource: 'CARD' }, receiptType: 'SELL', lines: receipt.lines, storeId: 'msk-1', matchOrders: false, queuedByDoor: true }],
      });
    }
    await new Promise((r) => setTimeout(r, 1_500));
    expect(stock(103)).toBe(before);

    // The middleware got no answer and sends the batch again: the receipts are known (duplicate), and queued now.
    const resent = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts);
    expect(resent.body.results!.map((r) => r.status)).toEqual(receipts.map(() => 'duplicate'));
    await idle();
    expect(stock(103)).toBe(before - 10);

    // And once more: the deductions workflow remembers them, nothing more leaves the shelf.
    const third = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts);
    expect(third.body.results!.map((r) => r.status)).toEqual(receipts.map(() => 'duplicate'));
    await new Promise((r) => setTimeout(r, 2_000));
    await idle();
    expect(stock(103)).toBe(before - 10);
  }, 120_000);

  it('the door died after queueing receipts but before recording them: the resend records them, nothing leaves twice', async () => {
    await eventually(async () => ((await pollers()).length > 0 ? true : undefined), 'a Bitrix worker polling', 60_000);
    const before = stock(103);
    const receipts = Array.from({ length: 4 }, () => walkInReceipt('msk-1', [{ productId: '103', quantity: 1, price: 79900 }]));
    // What the door's first step leaves behind now: the receipts queued in the store's deductions workflow, no records.
    await stack.client.workflow.executeUpdateWithStart(queueReceiptsUpdate, {
      args: [{ receipts: receipts.map((r): WalkInReceipt => ({ key: `msk-1:${r.receiptId}`, receiptId: r.receiptId, storeId: 'msk-1', terminalStoreId: 'msk-1', lines: [{ bitrixProductId: '103', name: 'x', quantity: 1 }] })) }],
      startWorkflowOperation: new WithStartWorkflowOperation(walkInDeductionsWorkflow, {
        workflowId: walkInDeductionsWorkflowId('msk-1'),
        taskQueue: TASK_QUEUES.deductions,
        workflowIdConflictPolicy: 'USE_EXISTING',
        args: [{ storeId: 'msk-1' }],
      }),
    });
    await idle();
    expect(stock(103)).toBe(before - 4);

    // No answer came back, so the middleware resends: the deductions workflow knows them, the records are made now.
    const resent = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts);
    expect(resent.body.results!.map((r) => r.status)).toEqual(receipts.map(() => 'accepted'));
    await new Promise((r) => setTimeout(r, 2_000));
    await idle();
    expect(stock(103)).toBe(before - 4);
    const again = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts);
    expect(again.body.results!.map((r) => r.status)).toEqual(receipts.map(() => 'duplicate'));
  }, 120_000);
});
