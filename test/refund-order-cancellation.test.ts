import { Worker } from '@temporalio/worker';
import type { OrderCancellationStatus } from '../domain/refund';
import {
  admin,
  atolRefundsOf,
  BEANS,
  BOOK,
  GRINDER,
  payOrderAtTerminal,
  refundPosConfig,
  stockOf,
  STORES,
  waitForCancellation,
  waitForOrderStage,
  waitForRefund,
} from './support/refunds';
import { eventually, startTestStack, type TestStack } from './support/stack';

// A paid order that is cancelled gets its money back at the terminal first (only the terminal can do it);
// the PAYBACK's refund workflow then reverses what the order's workflow had done, and nothing more.
describe('cancelling an order that was paid at the terminal', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: refundPosConfig() });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('after completion, asked in Bitrix: the terminal is asked for the refund, the PAYBACK reverses it all; repeated cancel calls change nothing', async () => {
    const before = stockOf(stack, 1, 102);
    const { order, sale } = await payOrderAtTerminal(stack, 'msk', [{ product: BEANS, quantity: 1 }]);
    stack.bitrix.state.updateOrder(order.id, { statusId: 'CR' });

    const waiting = await eventually(async () => {
      const s = await stack.client.workflow.getHandle(`order-cancellation:${order.id}`).query<OrderCancellationStatus>('status').catch(() => undefined);
      return s?.stage === 'AWAITING_REFUND' && s.deadline ? s : undefined;
    }, 'the cancellation waiting for the refund');
    expect(waiting.paidAmount).toBe(159050);
    const push = await eventually(
      () => stack.evotor.state.pushes.find((p) => (p.payload as { kind?: string; orderId?: string }).kind === 'bitrix-refund' && (p.payload as { orderId?: string }).orderId === String(order.id)),
      'the refund asked for at the terminal',
    );
    expect(push.details.map((d) => d.device_id)).toEqual([STORES.msk.device]);

    for (let i = 0; i < 2; i++) {
      const again = await admin(stack).post<{ workflowId: string }>(`/api/orders/${order.id}/cancel`, { reason: 'customer changed their mind' });
      expect(again.status).toBe(202);
      expect(again.body.workflowId).toBe(`order-cancellation:${order.id}`);
    }
    expect(stack.bitrix.state.getOrder(order.id).payments[0].paid).toBe(true);

    // Bitrix cancels the order but the answer is lost: the retry reads it cancelled and leaves it.
    stack.bitrix.setFaults({ applyThenLoseNext: 1, method: 'sale.order.update' });
    const refund = stack.evotor.payback(STORES.msk.device, { baseDocumentId: sale.id });
    await stack.evotor.flush();
    await waitForRefund(stack, 'msk', refund, 'COMPLETED');
    expect(stack.bitrix.requestCounts().faults.applyThenLose).toBe(1);
    stack.bitrix.setFaults({});
    const done = await waitForCancellation(stack, order.id, 'COMPLETED');
    expect(done).toMatchObject({ refundedAmount: 159050, refunds: [{ refundId: refund.id, completed: true }] });
    expect(await stack.client.workflow.getHandle(`order-cancellation:${order.id}`).result()).toMatchObject({ outcome: 'REFUNDED' });

    const bx = stack.bitrix.state.getOrder(order.id);
    expect(bx).toMatchObject({ canceled: true, statusId: 'CN' });
    expect(bx.payments[0]).toMatchObject({ paid: false, isReturn: 'P', payReturnNum: refund.id });
    expect(bx.shipments.filter((s) => !s.system).every((s) => !s.deducted)).toBe(true);
    expect(stockOf(stack, 1, 102)).toEqual(before);
  });

  it('cancelled by support in the middle of the payment: what was done is reversed, the stock step never starts', async () => {
    const before = stockOf(stack, 3, 102);
    // Bitrix is slow to take the "paid" status: the cancel arrives while the order's workflow confirms.
    const { order, sale } = await payOrderAtTerminal(stack, 'ekb', [{ product: BEANS, quantity: 2 }], {
      until: 'CONFIRMING',
      beforePay: () => stack.bitrix.setFaults({ errorNext: 3, method: 'sale.order.update' }),
    });
    const cancel = await admin(stack).post(`/api/orders/${order.id}/cancel`, { reason: 'customer left before handover' });
    expect(cancel.status).toBe(200);
    await waitForOrderStage(stack, order.id, 'AWAITING_REFUND', 60_000);
    stack.bitrix.setFaults({});
    const again = await admin(stack).post(`/api/orders/${order.id}/cancel`, { reason: 'pressed twice' });
    expect(again.status).toBe(200);
    // Done before the cancel: the sale receipt (ATOL), the payment and the paid status. Not done: the stock.
    let bx = stack.bitrix.state.getOrder(order.id);
    expect(bx.payments[0].paid).toBe(true);
    expect(bx.statusId).toBe('P');
    expect(bx.shipments.some((s) => s.deducted)).toBe(false);

    // The payment's return fails twice in Bitrix before it passes.
    stack.bitrix.setFaults({ errorNext: 2, method: 'sale.payment.update' });
    const refund = stack.evotor.payback(STORES.ekb.device, { baseDocumentId: sale.id });
    await stack.evotor.flush();
    const done = await waitForRefund(stack, 'ekb', refund, 'COMPLETED');
    stack.bitrix.setFaults({});
    expect(stack.bitrix.requestCounts().faults.error).toBe(3 + 2);
    expect(done.done).toEqual([
      'stock: the order was never written off, nothing to return',
      expect.stringMatching(/^payment \d+: returned/),
      'order: cancelled in Bitrix',
      'fiscal: ATOL sell_refund mirroring the sale receipt',
    ]);
    const closed = await waitForOrderStage(stack, order.id, 'CANCELLED');
    expect(closed.resolution).toMatch(/customer left before handover/);

    bx = stack.bitrix.state.getOrder(order.id);
    expect(bx).toMatchObject({ canceled: true, statusId: 'CN' });
    expect(bx.payments[0]).toMatchObject({ paid: false, isReturn: 'P' });
    expect(bx.shipments.every((s) => !s.deducted && s.dateDeducted === null)).toBe(true);
    expect(stockOf(stack, 3, 102)).toEqual(before);
    expect(stack.atol!.state.receipts.sell.filter((r) => r.external_id.startsWith(`pos-${order.id}-sell`))).toHaveLength(1);
    expect(atolRefundsOf(stack, refund.id)).toHaveLength(1);

    // The new paths replay deterministically (what a worker restart or a deploy does to them).
    const ids = [`pos-payment:${order.id}`, `order-cancellation:${order.id}`, `refund:${STORES.ekb.terminalStore}:${refund.id}`, `refund-ledger:order:${order.id}`];
    const histories = await Promise.all(ids.map(async (workflowId) => ({ workflowId, history: await stack.client.workflow.getHandle(workflowId).fetchHistory() })));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });

  it('cancelled while its ATOL receipt had failed: no sell was made, so no sell_refund; Bitrix had nothing to reverse', async () => {
    const before = stockOf(stack, 3, 103);
    const { order, sale } = await payOrderAtTerminal(stack, 'ekb', [{ product: BOOK, quantity: 1 }], {
      until: 'NEEDS_ATTENTION',
      beforePay: () => stack.atol!.setFaults({ failNextReceipts: 1 }),
    });
    const cancel = await admin(stack).post(`/api/orders/${order.id}/cancel`, { reason: 'receipt failed, customer left' });
    expect(cancel.status).toBe(200);
    await waitForOrderStage(stack, order.id, 'AWAITING_REFUND');

    const refund = stack.evotor.payback(STORES.ekb.device, { baseDocumentId: sale.id });
    await stack.evotor.flush();
    const done = await waitForRefund(stack, 'ekb', refund, 'COMPLETED');
    expect(done.done).toEqual([
      'stock: the order was never written off, nothing to return',
      'payment: Bitrix never recorded it as paid by the terminal, nothing to return',
      'order: cancelled in Bitrix',
      expect.stringMatching(/^fiscal: /),
    ]);
    expect(done.fiscal?.source).not.toBe('atol');
    await waitForOrderStage(stack, order.id, 'CANCELLED');
    expect(stack.atol!.state.receipts.sell.filter((r) => r.external_id.startsWith(`pos-${order.id}-sell`)).map((r) => r.status)).toEqual(['fail']);
    expect(atolRefundsOf(stack, refund.id)).toHaveLength(0);
    const bx = stack.bitrix.state.getOrder(order.id);
    expect(bx.canceled).toBe(true);
    expect(bx.payments[0]).toMatchObject({ paid: false, isReturn: 'N', psInvoiceId: null });
    expect(stockOf(stack, 3, 103)).toEqual(before);
  });
});

describe('a cancelled paid order whose refund does not come by the deadline', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: refundPosConfig('refunds: { paybackDeadline: 3s, saleDeadline: 1h }') });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('is shown to support in NEEDS_ATTENTION; the late refund still settles it', async () => {
    const before = stockOf(stack, 1, 101);
    const { order, sale } = await payOrderAtTerminal(stack, 'msk', [{ product: GRINDER, quantity: 1 }]);
    const cancel = await admin(stack).post(`/api/orders/${order.id}/cancel`, { reason: 'customer asked for their money back' });
    expect(cancel.status).toBe(202);
    const held = await waitForCancellation(stack, order.id, 'NEEDS_ATTENTION');
    expect(held.problem).toMatchObject({ step: 'wait for the refund at the terminal', message: expect.stringMatching(/no refund of the remaining 2490\.00 RUB/) });
    const visible = await eventually(async () => {
      const n = await stack.client.workflow.count(`WorkflowId = "order-cancellation:${order.id}" AND PosStage = "NEEDS_ATTENTION" AND PosOrderId = "${order.id}"`);
      return n.count === 1 ? n.count : undefined;
    }, 'the cancellation visible to support');
    expect(visible).toBe(1);
    expect(stack.bitrix.state.getOrder(order.id).payments[0].paid).toBe(true);

    // The buyer comes back with the card.
    const refund = stack.evotor.payback(STORES.msk.device, { baseDocumentId: sale.id });
    await stack.evotor.flush();
    await waitForRefund(stack, 'msk', refund, 'COMPLETED');
    await waitForCancellation(stack, order.id, 'COMPLETED');
    const bx = stack.bitrix.state.getOrder(order.id);
    expect(bx.canceled).toBe(true);
    expect(bx.payments[0]).toMatchObject({ paid: false, isReturn: 'P' });
    expect(stockOf(stack, 1, 101)).toEqual(before);
  });
});
