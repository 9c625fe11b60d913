import type { OrderSaleRecord } from '../domain/refund';
import { ledgerQuery } from '../workflows/refund-ledger';
import type { RefundStatus } from '../domain/refund';
import { refundStatusQuery } from '../workflows/refund';
import { BEANS, GRINDER, payOrderAtTerminal, refundHandle, refundPosConfig, stockOf, STORES, waitForRefund } from './support/refunds';
import { deleteAsRetentionWould } from './support/retention';
import { eventually, startTestStack, type TestStack } from './support/stack';

// A refund weeks after the sale: by then the namespace's retention has removed the closed payment workflow a
// refund would look its sale up in. Temporal accepts no retention under a day, so the test does what retention
// does — deletes the closed workflow — and the refund still finds the sale in the order's ledger, which stays open.
describe('a refund after the payment workflow is gone (retention)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: refundPosConfig() });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('the completed payment records its sale in the ledger; with the payment workflow deleted, the refund reverses the sale', async () => {
    const before = { grinder: stockOf(stack, 1, 101), beans: stockOf(stack, 1, 102) };
    const { order, sale } = await payOrderAtTerminal(stack, 'msk', [
      { product: GRINDER, quantity: 1 },
      { product: BEANS, quantity: 1 },
    ]);
    const paymentId = `pos-payment:${order.id}`;
    const ledger = stack.client.workflow.getHandle(`refund-ledger:order:${order.id}`);
    const recorded: OrderSaleRecord = await eventually(async () => (await ledger.query(ledgerQuery)).orderSale, 'the sale recorded in the ledger');
    expect(recorded).toMatchObject({ orderId: String(order.id), stage: 'COMPLETED', paidAmount: 408050, currency: 'RUB', storeId: 'msk-1', payments: [{ receiptId: sale.id }] });
    expect((await ledger.describe()).status.name).toBe('RUNNING');
    expect((await stack.client.workflow.getHandle(paymentId).describe()).status.name).toBe('COMPLETED');

    // Retention passes: the closed payment workflow (and its history) is deleted.
    await deleteAsRetentionWould(stack, paymentId);

    const refund = stack.evotor.payback(STORES.msk.device, { baseDocumentId: sale.id });
    await stack.evotor.flush();
    const done = await waitForRefund(stack, 'msk', refund, 'COMPLETED');
    expect(done).toMatchObject({ saleReceiptId: sale.id, sale: { kind: 'order', orderId: String(order.id) }, amount: 408050 });
    expect(done.decision).toMatchObject({ wholeSale: true, fullyRefunded: true });
    const after = stack.bitrix.state.getOrder(order.id);
    expect(after.payments[0]).toMatchObject({ paid: false, isReturn: 'P', psInvoiceId: sale.id, payReturnNum: refund.id });
    expect(stockOf(stack, 1, 101)).toEqual(before.grinder);
    expect(stockOf(stack, 1, 102)).toEqual(before.beans);
    // The ledger keeps both: the sale and the refund against it.
    expect(await ledger.query(ledgerQuery)).toMatchObject({ refundedAmount: 408050, orderSale: { orderId: String(order.id) } });
  }, 120_000);

  it('a walk-in sale older than the retention, whose record is gone, is read back from its Evotor document; a younger one is not guessed', async () => {
    const retentionSeconds = Number((await stack.client.workflowService.describeNamespace({ namespace: stack.namespace })).config?.workflowExecutionRetentionTtl?.seconds ?? 0);
    expect(retentionSeconds).toBeGreaterThan(0);
    const before = stockOf(stack, 2, 101).amount;
    // Closed (and recorded, and written off) longer ago than the namespace keeps closed workflows.
    const old = stack.evotor.sell(STORES.spb.device, { items: [{ ...GRINDER, productId: '101', quantity: 2 }], at: Date.now() - (retentionSeconds + 3_600) * 1000 });
    const recent = stack.evotor.sell(STORES.spb.device, { items: [{ ...GRINDER, productId: '101', quantity: 1 }] });
    await stack.evotor.flush();
    await eventually(() => (stockOf(stack, 2, 101).amount === before - 3 ? true : undefined), 'both walk-in sales written off');
    for (const sale of [old, recent]) await deleteAsRetentionWould(stack, `terminal-receipt:${STORES.spb.terminalStore}:${sale.id}`);

    const refund = stack.evotor.payback(STORES.spb.device, { baseDocumentId: old.id, items: [{ ...GRINDER, productId: '101', quantity: 1 }] });
    const young = stack.evotor.payback(STORES.spb.device, { baseDocumentId: recent.id, items: [{ ...GRINDER, productId: '101', quantity: 1 }] });
    await stack.evotor.flush();
    const done = await waitForRefund(stack, 'spb', refund, 'COMPLETED');
    expect(done).toMatchObject({ saleReceiptId: old.id, sale: { kind: 'walk-in' }, storeId: 'spb-2', lines: [{ productId: '101', quantity: 1 }] });
    expect(done.decision).toMatchObject({ wholeSale: false, fullyRefunded: false });
    expect(stockOf(stack, 2, 101).amount).toBe(before - 2);
    // A sale younger than the retention has no business missing its record: the refund waits for it, nothing returned.
    const waiting = await eventually(async () => {
      const status: RefundStatus = await refundHandle(stack, 'spb', young.id).query(refundStatusQuery);
      return /has not reached us yet/.test(status.waitingFor ?? '') ? status : undefined;
    }, 'the younger refund waiting for its sale');
    expect(waiting.stage).toBe('LOCATING_SALE');
    expect(stockOf(stack, 2, 101).amount).toBe(before - 2);
  }, 120_000);
});
