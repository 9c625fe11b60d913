import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TerminalPayment } from '../domain/payment';
import { startLocalTemporal, startTimeSkippingTemporal } from '../lib/temporal-env';
import { bitrixOrderEventSignal, bitrixOrderEventsWorkflow } from '../workflows/order-events';
import { paymentReceivedSignal, posPaymentWorkflow, retryUpdate, statusQuery } from '../workflows/pos-payment';
import { terminalReceiptWorkflow } from '../workflows/terminal-receipt';
import { fakeWorld, FISCAL, type FakeWorld } from './support/fake-activities';
import { postSignedBatch, walkInReceipt } from './support/middleware';
import { admin, BEANS, BOOK, GRINDER, payOrderAtTerminal, refundHandle, refundPosConfig, STORES, waitForOrderStage, waitForRefund } from './support/refunds';
import { eventually, type TestStack } from './support/stack';
import { loadEnv, parsePosConfig } from '../lib/config';
import { buildLogger } from '../lib/logger';
import { startStack } from '../app/stack';
import { withFakeWorkers } from './support/workflow-env';

// Records the histories of the main workflow paths into test/fixtures/histories/. Replaying them on every
// test run (test/replay.test.ts) makes a change that would break running workflows fail CI.
// Histories already there are kept (they stand for workflows running in production); new paths are added:
// npm run record:histories. Replace them all only on purpose: npm run record:histories -- --overwrite

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
    const file = join(OUT, `${name}.json`);
    // A history recorded by older code is what workflows already running look like: it is kept, so the
    // replay test keeps checking the new code against it. --overwrite replaces them all on purpose.
    if (existsSync(file) && !process.argv.includes('--overwrite')) {
      console.log(`kept ${name} (recorded earlier)`);
      return;
    }
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
  // The same path since a completed payment records its sale into its refund ledger (patched 'record-sale-for-refunds').
  await scenario('pos-payment-terminal-completed-sale-recorded', fakeWorld(), async (h) => {
    await untilStage(h, 'AWAITING_PAYMENT');
    await h.signal(paymentReceivedSignal, payment('r-11', 100_00));
  });
  await scenario('pos-payment-atol-fail-retry-completed', fakeWorld({ fiscalMode: 'atol', atolReports: [{ status: 'wait' }, { status: 'fail', error: 'register error' }, { status: 'done', fiscal: { ...FISCAL, source: 'atol' } }] }), async (h) => {
    await untilStage(h, 'AWAITING_PAYMENT');
    await h.signal(paymentReceivedSignal, payment('r-3'));
    await untilStage(h, 'NEEDS_ATTENTION');
    await h.executeUpdate(retryUpdate);
  });
  await scenario('pos-payment-deadline-cancelled', fakeWorld(), async () => undefined);
  // A payment reconciliation found gets a correction receipt instead of the sale receipt (patched 'correction-receipts').
  await scenario('pos-payment-atol-correction-completed', fakeWorld({ fiscalMode: 'atol', atolReports: [{ status: 'done', fiscal: { ...FISCAL, source: 'atol' } }] }), async (h) => {
    await untilStage(h, 'AWAITING_PAYMENT');
    await h.signal(paymentReceivedSignal, { ...payment('r-12'), foundByReconciliationAt: '2026-11-29T12:00:00.000Z' });
  });

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
    // The same path since order matching became a local activity (patched 'local-order-matching').
    await save('terminal-receipt-walk-in-local-matching', walkIn);
    const deductions = env.client.workflow.getHandle('walk-in-deductions:msk-1');
    await env.sleep('5s');
    await save('walk-in-deductions-one-batch', deductions);
    await deductions.terminate('recorded');
  });
  await env.teardown();
  await recordFromStack(save);
}

/**
 * The refund, cancellation and door paths, recorded from the whole application against the simulators (as
 * the end-to-end tests run it): these workflows use too many activities for scripted fakes, and the refund
 * ledgers live for weeks — exactly the workflows a deploy must never break.
 */
async function recordFromStack(save: (name: string, handle: WorkflowHandle) => Promise<void>): Promise<void> {
  const temporal = await startLocalTemporal({});
  // Notifications on (patched 'notify-problems'): a problem is told in Bitrix when it opens and when it closes.
  // msk-1 and ekb-3 have Bitrix REST cashboxes: their checks are answered by bitrixCashboxCheckWorkflow.
  const config = parsePosConfig(
    refundPosConfig()
      .replace('statuses: {', 'notifications: { userId: "5", dealTimeline: true }\n  statuses: {')
      .replace('    fiscalMode: terminal\n  - id: spb-2', '    fiscalMode: terminal\n    bitrixCashbox: { enabled: true, email: kassa@example.ru }\n  - id: spb-2')
      .replace('    timeZone: Asia/Yekaterinburg\n', '    timeZone: Asia/Yekaterinburg\n    bitrixCashbox: { enabled: true }\n'),
    'yaml',
    'recording config',
  );
  const started = await startStack({
    env: loadEnv({ API_PORT: '0' }),
    config,
    logger: buildLogger({ level: 'warn' }),
    temporalAddress: temporal.address,
    namespace: 'default',
    ports: { api: 0, bitrix: 0, evotor: 0, atol: 0, ferma: 0 },
    bitrixActivitiesPerSecond: null,
    fiscalProcessingDelayMs: 300,
  });
  const stack: TestStack = { ...started, namespace: 'default', config, bitrix: started.bitrix!, evotor: started.evotor! };
  try {
    // A partial refund at the terminal of an order paid there; its sale's ledger stays open.
    const paid = await payOrderAtTerminal(stack, 'msk', [{ product: BEANS, quantity: 2 }]);
    const partial = stack.evotor.payback(STORES.msk.device, { baseDocumentId: paid.sale.id, items: [{ ...BEANS, productId: '102', quantity: 1 }] });
    await stack.evotor.flush();
    await waitForRefund(stack, 'msk', partial, 'COMPLETED');
    await save('refund-partial-completed', refundHandle(stack, 'msk', partial.id));
    await save('refund-ledger-order-open', stack.client.workflow.getHandle(`refund-ledger:order:${paid.order.id}`));
    // Since 'record-sale-for-refunds' the ledger is started by the completed payment (recordOrderSale), then claimed.
    await save('refund-ledger-order-sale-recorded', stack.client.workflow.getHandle(`refund-ledger:order:${paid.order.id}`));
    // The order's check in Bitrix (its cashbox), answered with the terminal's fiscal data.
    const check = await eventually(() => stack.bitrix.checksOfOrder(paid.order.id).find((c) => c.status === 'Y'), 'the Bitrix check applied');
    await eventually(async () => ((await stack.client.workflow.getHandle(`bitrix-cashbox-check:${check.uuid}`).query<{ stage: string }>('status')).stage === 'COMPLETED' ? true : undefined), 'the check workflow done');
    await save('bitrix-cashbox-check-applied', stack.client.workflow.getHandle(`bitrix-cashbox-check:${check.uuid}`));

    // Cancelled by support while the payment was being confirmed (the saga), then refunded at the terminal (ATOL store).
    const confirming = await payOrderAtTerminal(stack, 'ekb', [{ product: GRINDER, quantity: 1 }], {
      until: 'CONFIRMING',
      beforePay: () => stack.bitrix.setFaults({ errorNext: 3, method: 'sale.order.update' }),
    });
    await admin(stack).post(`/api/orders/${confirming.order.id}/cancel`, { reason: 'customer left before handover' });
    await waitForOrderStage(stack, confirming.order.id, 'AWAITING_REFUND', 60_000);
    stack.bitrix.setFaults({});
    const full = stack.evotor.payback(STORES.ekb.device, { baseDocumentId: confirming.sale.id });
    await stack.evotor.flush();
    await waitForRefund(stack, 'ekb', full, 'COMPLETED');
    await waitForOrderStage(stack, confirming.order.id, 'CANCELLED');
    await save('pos-payment-cancelled-mid-flow-refunded', stack.client.workflow.getHandle(`pos-payment:${confirming.order.id}`));
    await save('order-cancellation-refunded', stack.client.workflow.getHandle(`order-cancellation:${confirming.order.id}`));
    // Its return check came before the ATOL refund receipt: the check waited for it (a timer), then applied it.
    const returnCheck = await eventually(() => stack.bitrix.checksOfOrder(confirming.order.id).find((c) => c.type === 'sellreturn' && c.status === 'Y'), 'the return check applied');
    const waited = await eventually(async () => {
      const s = await stack.client.workflow.getHandle(`bitrix-cashbox-check:${returnCheck.uuid}`).query<{ stage: string; reads: number }>('status');
      return s.stage === 'COMPLETED' ? s : undefined;
    }, 'the return check workflow done');
    if (waited.reads >= 2) await save('bitrix-cashbox-check-waited-applied', stack.client.workflow.getHandle(`bitrix-cashbox-check:${returnCheck.uuid}`));
    else console.log('the return check found its fiscal data at once: no waiting path recorded this time');

    // Stopped for a person (no stock to deduct) and told in Bitrix; support fixes the stock and retries: told again.
    stack.bitrix.setStock({ productId: 103, storeId: 1, amount: 0 });
    const stuck = await payOrderAtTerminal(stack, 'msk', [{ product: BOOK, quantity: 1 }], { until: 'NEEDS_ATTENTION' });
    stack.bitrix.addDeal({ orderIds: [stuck.order.id] });
    stack.bitrix.setStock({ productId: 103, storeId: 1, amount: 5 });
    await eventually(() => (stack.bitrix.snapshot().notifications.length > 0 ? true : undefined), 'the problem notified');
    await admin(stack).post(`/api/orders/${stuck.order.id}/retry`, {});
    await waitForOrderStage(stack, stuck.order.id, 'COMPLETED');
    await stack.client.workflow.getHandle(`pos-payment:${stuck.order.id}`).result();
    await save('pos-payment-needs-attention-notified-retried', stack.client.workflow.getHandle(`pos-payment:${stuck.order.id}`));

        // Walk-in sales through the middleware batch door: one Update per store queues them.
    const receipts = [walkInReceipt('spb-2', [{ productId: '101', quantity: 1, price: 249000 }]), walkInReceipt('spb-2', [{ productId: '103', quantity: 2, price: 79900 }])];
    await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts);
    const deductions = stack.client.workflow.getHandle('walk-in-deductions:spb-2');
    await eventually(async () => {
      const q = await deductions.query<{ queued: number; inFlight: number; receipts: number }>('status');
      return q.receipts >= 2 && q.queued === 0 && q.inFlight === 0 ? true : undefined;
    }, 'the walk-in sales written off');
    await save('walk-in-deductions-door-update', deductions);
  } finally {
    await started.stop();
    await temporal.teardown();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
