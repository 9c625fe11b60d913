import type { RefundStatus } from '../domain/refund';
import { refundStatusQuery } from '../workflows/refund';
import { postJson } from './support/http';
import {
  admin,
  atolRefundsOf,
  BEANS,
  BOOK,
  GRINDER,
  orderStatus,
  payOrderAtTerminal,
  refundHandle,
  refundPosConfig,
  stockOf,
  STORES,
  waitForRefund,
} from './support/refunds';
import { eventually, startTestStack, type TestStack } from './support/stack';

// A refund at the terminal (PAYBACK naming its sale) reverses exactly what the sale did, each step once,
// even though Evotor delivers every webhook twice here. Asserted in Bitrix and ATOL.
describe('refund at the terminal of an order paid there', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: refundPosConfig(), evotorDuplicateRate: 1 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('terminal mode, whole sale: payment returned, order cancelled, shipment reversed, stock back; a resent webhook is a duplicate', async () => {
    const before = { grinder: stockOf(stack, 1, 101), beans: stockOf(stack, 1, 102) };
    const { order, sale } = await payOrderAtTerminal(stack, 'msk', [
      { product: GRINDER, quantity: 1 },
      { product: BEANS, quantity: 2 },
    ]);
    expect(stockOf(stack, 1, 101).amount).toBe(before.grinder.amount - 1);

    const refund = stack.evotor.payback(STORES.msk.device, { baseDocumentId: sale.id });
    await stack.evotor.flush();
    const done = await waitForRefund(stack, 'msk', refund, 'COMPLETED');
    expect(done).toMatchObject({ saleReceiptId: sale.id, sale: { kind: 'order', orderId: String(order.id) }, amount: 567100 });
    expect(done.decision).toMatchObject({ wholeSale: true, fullyRefunded: true, refundedAmount: 567100 });
    expect(done.fiscal).toMatchObject({ source: 'terminal' });

    const after = stack.bitrix.state.getOrder(order.id);
    expect(after.canceled).toBe(true);
    expect(after.statusId).toBe('CN');
    expect(after.shipments.filter((s) => !s.system).every((s) => !s.deducted)).toBe(true);
    const [payment] = after.payments;
    expect(payment).toMatchObject({ paid: false, isReturn: 'P', psInvoiceId: sale.id, payReturnNum: refund.id });
    expect(payment.payReturnDate).toBeTruthy();
    expect(payment.payReturnComment).toBe(`POS refunds: ${refund.id} 5671.00 | total 5671.00 of 5671.00 RUB`);
    // Every unit is back at the warehouse it left, and the cancelled order no longer reserves any.
    expect(stockOf(stack, 1, 101)).toEqual(before.grinder);
    expect(stockOf(stack, 1, 102)).toEqual(before.beans);
    expect(atolRefundsOf(stack, refund.id)).toHaveLength(0);

    // Evotor resends the webhook later: the refund workflow id makes it a duplicate, nothing is reversed twice.
    expect(stack.evotor.state.deliveries.find((d) => d.receiptId === refund.id)?.acknowledged).toBeGreaterThanOrEqual(2);
    const event = {
      id: 'resent-by-evotor',
      data: { id: refund.id, deviceId: STORES.msk.device, storeId: STORES.msk.terminalStore, dateTime: refund.closeDate, type: 'PAYBACK', totalAmount: refund.totalAmount },
    };
    const resent = await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, event, { authorization: `Bearer ${stack.evotorWebhookToken}` });
    expect(resent.body).toMatchObject({ status: 'duplicate', workflowId: `refund:${STORES.msk.terminalStore}:${refund.id}` });
    await new Promise((r) => setTimeout(r, 1000));
    expect(stockOf(stack, 1, 101)).toEqual(before.grinder);
    expect(stack.bitrix.state.getOrder(order.id).payments[0].payReturnNum).toBe(refund.id);

    // Support finds the refund from the order.
    type OrderView = { refunds: { ledger: { refundedAmount: number; refunds: { refundId: string; completed: boolean }[] }; workflows: { workflowId: string; stage?: string }[] } };
    const view = await eventually(async () => {
      const res = await admin(stack).get<OrderView>(`/api/orders/${order.id}`);
      return res.body.refunds.workflows.some((w) => w.stage === 'COMPLETED') ? res.body : undefined;
    }, 'the order view listing its refund');
    expect(view.refunds.ledger).toMatchObject({ refundedAmount: 567100, refunds: [{ refundId: refund.id, completed: true }] });
    expect(view.refunds.workflows).toEqual([{ workflowId: `refund:${STORES.msk.terminalStore}:${refund.id}`, execution: 'COMPLETED', stage: 'COMPLETED' }]);
    const found = await eventually(async () => {
      const n = await stack.client.workflow.count(`PosOrderId = "${order.id}" AND PosReceiptId = "${refund.id}" AND PosStage = "COMPLETED" AND PosStore = "msk-1"`);
      return n.count === 1 ? n.count : undefined;
    }, 'the refund by its search attributes');
    expect(found).toBe(1);
  });

  it('partial refunds add up; the one that would exceed what was sold is stopped for support; faults change nothing', async () => {
    const before = { grinder: stockOf(stack, 2, 101).amount, beans: stockOf(stack, 2, 102).amount };
    const { order, sale } = await payOrderAtTerminal(stack, 'spb', [
      { product: GRINDER, quantity: 1 },
      { product: BEANS, quantity: 2 },
    ]);
    // A refund's return document is applied by Bitrix but the answer is lost: the retry finds it by its title.
    stack.bitrix.setFaults({ applyThenLoseNext: 1, method: 'batch' });
    const first = stack.evotor.payback(STORES.spb.device, { baseDocumentId: sale.id, items: [{ ...BEANS, productId: '102', quantity: 1 }] });
    await stack.evotor.flush();
    const one = await waitForRefund(stack, 'spb', first, 'COMPLETED');
    expect(stack.bitrix.requestCounts().faults.applyThenLose).toBe(1);
    stack.bitrix.setFaults({});
    expect(one.decision).toMatchObject({ wholeSale: false, fullyRefunded: false, refundedAmount: 159050 });
    expect(stockOf(stack, 2, 102).amount).toBe(before.beans - 1);
    let bx = stack.bitrix.state.getOrder(order.id);
    expect(bx.payments[0]).toMatchObject({ paid: true, isReturn: 'N', payReturnNum: first.id });
    expect(bx.statusId).toBe('PR');
    expect(bx.canceled).toBe(false);

    // The Bitrix payment update fails twice on its way: retried, recorded once.
    stack.bitrix.setFaults({ errorNext: 2, method: 'sale.payment.update' });
    const second = stack.evotor.payback(STORES.spb.device, {
      baseDocumentId: sale.id,
      items: [
        { ...GRINDER, productId: '101', quantity: 1 },
        { ...BEANS, productId: '102', quantity: 1 },
      ],
    });
    await stack.evotor.flush();
    const two = await waitForRefund(stack, 'spb', second, 'COMPLETED');
    expect(stack.bitrix.requestCounts().faults.error).toBe(2);
    stack.bitrix.setFaults({});
    expect(two.decision).toMatchObject({ wholeSale: false, fullyRefunded: true, refundedAmount: 567100 });
    bx = stack.bitrix.state.getOrder(order.id);
    expect(bx.payments[0]).toMatchObject({ paid: false, isReturn: 'P', payReturnNum: second.id });
    expect(bx.payments[0].payReturnComment).toBe(`POS refunds: ${first.id} 1590.50; ${second.id} 4080.50 | total 5671.00 of 5671.00 RUB`);
    // The goods went back by documents, the shipment stays deducted: Bitrix cannot cancel it, so it is "refunded".
    expect(bx.canceled).toBe(false);
    expect(bx.statusId).toBe('RF');
    expect(stockOf(stack, 2, 101).amount).toBe(before.grinder);
    expect(stockOf(stack, 2, 102).amount).toBe(before.beans);
    const documents = stack.bitrix.snapshot().documents.filter((d) => d.title === `POS refund ${first.id}` || d.title === `POS refund ${second.id}`);
    expect(documents.map((d) => [d.docType, d.status, d.elements.length])).toEqual([
      ['R', 'Y', 1],
      ['R', 'Y', 2],
    ]);

    // One more grinder back would be more than was sold: stopped, nothing changed anywhere.
    const third = stack.evotor.payback(STORES.spb.device, { baseDocumentId: sale.id, items: [{ ...GRINDER, productId: '101', quantity: 1 }] });
    await stack.evotor.flush();
    const stopped = await waitForRefund(stack, 'spb', third, 'NEEDS_ATTENTION');
    expect(stopped.problem).toMatchObject({ step: 'check the refund against the sale', message: expect.stringMatching(/product 101: 1 already refunded \+ 1 now would exceed the 1 sold/) });
    expect(stockOf(stack, 2, 101).amount).toBe(before.grinder);
    expect(stack.bitrix.state.getOrder(order.id).payments[0].payReturnNum).toBe(second.id);
    const visible = await eventually(async () => {
      const n = await stack.client.workflow.count(`PosStage = "NEEDS_ATTENTION" AND PosReceiptId = "${third.id}" AND PosOrderId = "${order.id}"`);
      return n.count === 1 ? n.count : undefined;
    }, 'the stopped refund visible to support');
    expect(visible).toBe(1);
    const resolved = await admin(stack).post<{ status: RefundStatus }>(`/api/refunds/${STORES.spb.terminalStore}/${third.id}/resolve`, { note: 'cashier error, money taken back' });
    expect(resolved.status).toBe(200);
    expect(await refundHandle(stack, 'spb', third.id).result()).toMatchObject({ outcome: 'RESOLVED_BY_HAND', resolution: 'cashier error, money taken back' });
    expect(stockOf(stack, 2, 101).amount).toBe(before.grinder);
  });

  it('ATOL mode: one sell_refund mirroring the sale receipt, even when ATOL and Bitrix lose their answers', async () => {
    const before = stockOf(stack, 3, 101);
    const { order, sale } = await payOrderAtTerminal(stack, 'ekb', [{ product: GRINDER, quantity: 2 }]);
    const [sell] = stack.atol!.state.receipts.sell.filter((r) => r.external_id === `pos-${order.id}-sell`);
    expect(sell.status).toBe('done');

    stack.atol!.setFaults({ applyThenLoseNext: 1, operation: 'sell_refund' });
    stack.bitrix.setFaults({ applyThenLoseNext: 1, method: 'sale.shipment.update' });
    const refund = stack.evotor.payback(STORES.ekb.device, { baseDocumentId: sale.id });
    await stack.evotor.flush();
    const done = await waitForRefund(stack, 'ekb', refund, 'COMPLETED');
    expect(stack.atol!.state.counters.lostAnswers).toBe(1);
    expect(stack.bitrix.requestCounts().faults.applyThenLose).toBe(2);
    stack.bitrix.setFaults({});
    stack.atol!.setFaults({ applyThenLoseNext: 0, operation: null });

    const refunds = atolRefundsOf(stack, refund.id);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ external_id: `pos-refund-${refund.id}`, status: 'done', total: sell.total, vat_types: sell.vat_types });
    const saleBody = sell.body as { receipt: { items: unknown[]; payments: unknown[] } };
    const refundBody = refunds[0].body as { receipt: { items: unknown[]; payments: unknown[] } };
    expect(refundBody.receipt.items).toEqual(saleBody.receipt.items);
    expect(refundBody.receipt.payments).toEqual(saleBody.receipt.payments);
    expect(done.fiscal).toMatchObject({ source: 'atol' });

    const bx = stack.bitrix.state.getOrder(order.id);
    expect(bx).toMatchObject({ canceled: true, statusId: 'CN' });
    expect(bx.payments[0]).toMatchObject({ paid: false, isReturn: 'P' });
    expect(stockOf(stack, 3, 101)).toEqual(before);
  });

  it('a refund that arrives before its sale is through waits for it, then reverses all of it once', async () => {
    const before = stockOf(stack, 1, 103);
    // Bitrix refuses to record the payment for a while: the order's workflow is still confirming.
    const { order, sale } = await payOrderAtTerminal(stack, 'msk', [{ product: BOOK, quantity: 3 }], {
      until: 'CONFIRMING',
      beforePay: () => stack.bitrix.setFaults({ errorNext: 3, method: 'sale.payment.update' }),
    });
    const refund = stack.evotor.payback(STORES.msk.device, { baseDocumentId: sale.id });
    await stack.evotor.flush();
    const waiting = await eventually(async () => {
      const s = await refundHandle(stack, 'msk', refund.id).query(refundStatusQuery);
      return s.stage === 'LOCATING_SALE' && s.waitingFor?.includes('still being processed') ? s : undefined;
    }, 'the refund waiting for its sale');
    expect(waiting.saleReceiptId).toBe(sale.id);
    expect((await orderStatus(stack, order.id))?.stage).not.toBe('COMPLETED');

    await waitForRefund(stack, 'msk', refund, 'COMPLETED', 90_000);
    stack.bitrix.setFaults({});
    expect((await orderStatus(stack, order.id))?.stage).toBe('COMPLETED');
    const bx = stack.bitrix.state.getOrder(order.id);
    expect(bx).toMatchObject({ canceled: true });
    expect(bx.payments[0]).toMatchObject({ paid: false, isReturn: 'P', psInvoiceId: sale.id });
    expect(stockOf(stack, 1, 103)).toEqual(before);
  });
});
