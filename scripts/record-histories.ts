import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TerminalPayment } from '../domain/payment';
import { startTimeSkippingTemporal } from '../lib/temporal-env';
import { bitrixOrderEventSignal, bitrixOrderEventsWorkflow } from '../workflows/order-events';
import { paymentReceivedSignal, posPaymentWorkflow, retryUpdate, statusQuery } from '../workflows/pos-payment';
import { terminalReceiptWorkflow } from '../workflows/terminal-receipt';
import { fakeWorld, FISCAL, type FakeWorld } from '../test/support/fake-activities';
import { withFakeWorkers } from '../test/support/workflow-env';

// Records the histories of the main workflow paths into test/fixtures/histories/. Replaying them on every
// test run (test/replay.test.ts) makes a change that would break running workflows fail CI.
// Re-record only on purpose, when a change is meant to be incompatible (and versioned): npm run record:histories

const OUT = join(__dirname, '..', 'test', 'fixtures', 'histories');

const payment = (receiptId: string, amount = 100_00): TerminalPayment => ({
  receiptId, terminalKind: 'evotor', terminalStoreId: 'E1', deviceId: 'D1', amount, currency: 'RUB',
  paidAt: '2026-11-29T10:00:00.000Z', paymentSource: 'PAY_CARD', orderId: '500',
});

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const env = await startTimeSkippingTemporal();
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows') });
  const bundlePath = join(OUT, '..', '..', '..', '.data', 'record-bundle.js');
  mkdirSync(join(bundlePath, '..'), { recursive: true });
  writeFileSync(bundlePath, bundle.code);
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;

  const save = async (name: string, handle: WorkflowHandle) => {
    const history = await handle.fetchHistory();
    writeFileSync(join(OUT, `${name}.json`), JSON.stringify(JSON.parse(historyToJSON(history)), null, 1));
    console.log(`recorded ${name}: ${history.events?.length} events`);
  };
  const untilStage = async (handle: WorkflowHandle, stage: string) => {
    for (let i = 0; i < 100; i++) {
      if ((await handle.query(statusQuery)).stage === stage) return;
      await env.sleep('1s');
    }
    throw new Error(`${stage} not reached`);
  };
  const scenario = async (name: string, world: FakeWorld, drive: (handle: WorkflowHandle<typeof posPaymentWorkflow>) => Promise<void>) => {
    await withFakeWorkers(env, world, async () => {
      const handle = await env.client.workflow.start(posPaymentWorkflow, { workflowId: `pos-payment:${name}`, taskQueue: 'pos-workflows', args: [{ orderId: '500', trigger: 'bitrix-event' }] });
      await drive(handle);
      await handle.result();
      await save(name, handle);
    });
  };

  await scenario('pos-payment-terminal-completed', fakeWorld(), async (h) => {
    await untilStage(h, 'AWAITING_PAYMENT');
    await h.signal(paymentReceivedSignal, payment('r-1', 60_00));
    await h.signal(paymentReceivedSignal, payment('r-1', 60_00));
    await h.signal(paymentReceivedSignal, payment('r-2', 40_00));
  });
  await scenario('pos-payment-atol-fail-retry-completed', fakeWorld({ fiscalMode: 'atol', atolReports: [{ status: 'wait' }, { status: 'fail', error: 'register error' }, { status: 'done', fiscal: { ...FISCAL, source: 'atol' } }] }), async (h) => {
    await untilStage(h, 'AWAITING_PAYMENT');
    await h.signal(paymentReceivedSignal, payment('r-3'));
    await untilStage(h, 'NEEDS_ATTENTION');
    await h.executeUpdate(retryUpdate);
  });
  await scenario('pos-payment-deadline-cancelled', fakeWorld(), async () => undefined);

  await withFakeWorkers(env, fakeWorld(), async () => {
    const intake = await env.client.workflow.signalWithStart(bitrixOrderEventsWorkflow, {
      workflowId: 'bitrix-order-events:500', taskQueue: 'pos-workflows', args: ['500'],
      signal: bitrixOrderEventSignal, signalArgs: [{ event: 'ONSALEORDERSAVED', receivedAt: '2026-11-29T10:00:00.000Z' }],
    });
    await intake.result();
    await save('bitrix-order-events-started-payment', intake);
    await env.client.workflow.getHandle('pos-payment:500').terminate('recorded');

    const held = await env.client.workflow.start(terminalReceiptWorkflow, {
      workflowId: 'terminal-receipt:E1:r-9', taskQueue: 'pos-workflows',
      args: [{ payment: { ...payment('r-9'), orderId: undefined }, receiptType: 'PAYBACK', heldReason: 'no order can take it (recorded example)' }],
    });
    await env.sleep('2s');
    await held.executeUpdate('resolve', { args: [{ note: 'refund handled by hand' }] });
    await held.result();
    await save('terminal-receipt-held-resolved', held);

    const walkIn = await env.client.workflow.start(terminalReceiptWorkflow, {
      workflowId: 'terminal-receipt:E1:r-10', taskQueue: 'pos-workflows',
      args: [{ payment: { ...payment('r-10'), orderId: undefined }, receiptType: 'SELL', lines: [{ terminalProductId: 'p-1', name: 'Item', quantity: 2 }] }],
    });
    await walkIn.result();
    await save('terminal-receipt-walk-in-queued', walkIn);
    const deductions = env.client.workflow.getHandle('walk-in-deductions:msk-1');
    await env.sleep('5s');
    await save('walk-in-deductions-one-batch', deductions);
    await deductions.terminate('recorded');
  });
  await env.teardown();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
