import type { PosPaymentStatus } from '../domain/payment';
import { statusQuery } from '../workflows/pos-payment';
import { EKB_DEVICE, eventually, MSK_DEVICE, startTestStack, type TestStack } from './support/stack';

// The case that matters most for exactly-once: an outside system applies a change, then the answer is
// lost, and Temporal retries the activity. Every side effect must still happen exactly once.
describe('exactly once when a change is applied and its response is lost', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const stage = (orderId: number) => stack.client.workflow.getHandle(`pos-payment:${orderId}`).query(statusQuery);
  const waitStage = (orderId: number, wanted: string, timeoutMs = 30_000) =>
    eventually(async () => {
      const s: PosPaymentStatus = await stage(orderId);
      return s.stage === wanted ? s : undefined;
    }, `order ${orderId} ${wanted}`, timeoutMs);
  const orderAt = (storeId: number, productId = 101) =>
    stack.bitrix.createOrder({
      basket: [{ productId, name: 'Кофемолка ручная', price: '2490.00', quantity: 2, vatRate: 0.22, reservations: [{ storeId, quantity: 2 }] }],
      payments: [{ paySystemId: 10 }],
      propertyValues: [{ code: 'EMAIL', value: 'buyer@example.ru' }],
    });
  const stockAt = (storeId: number, productId: number) => stack.bitrix.snapshot().stock.find((s) => s.storeId === storeId && s.productId === productId)!.amount;

  it.each([
    ['sale.payment.update', 'the payment marked paid'],
    ['sale.shipment.update', 'the stock deducted'],
    ['sale.order.update', 'the order status set'],
  ])('Bitrix %s: %s once', async (method) => {
    const before = stockAt(1, 102);
    const order = orderAt(1, 102);
    await waitStage(order.id, 'AWAITING_PAYMENT');
    const counts = stack.bitrix.requestCounts().byMethod[method] ?? 0;
    stack.bitrix.setFaults({ applyThenLoseNext: 1, method });
    const receipt = stack.evotor.payPush(MSK_DEVICE);
    await stack.evotor.flush();
    await waitStage(order.id, 'COMPLETED');
    stack.bitrix.setFaults({});

    expect(stack.bitrix.requestCounts().faults.applyThenLose).toBeGreaterThanOrEqual(1);
    const after = stack.bitrix.state.getOrder(order.id);
    expect(after.payments[0]).toMatchObject({ paid: true, psInvoiceId: receipt.id });
    expect(after.statusId).toBe('P');
    expect(stockAt(1, 102)).toBe(before - 2);
    const used = (stack.bitrix.requestCounts().byMethod[method] ?? 0) - counts;
    // The lost call was applied; the retried activity read the order first and did not call again.
    expect(used).toBe(1);
  });

  it('ATOL: a sell registered but unanswered is resent with the same external_id and counted once', async () => {
    const order = orderAt(3);
    await waitStage(order.id, 'AWAITING_PAYMENT');
    stack.atol!.setFaults({ applyThenLoseNext: 1, operation: 'sell' });
    stack.evotor.payPush(EKB_DEVICE, { paymentSource: 'PAY_CARD' });
    await stack.evotor.flush();
    const done = await waitStage(order.id, 'COMPLETED');

    const sells = stack.atol!.state.receipts.sell.filter((r) => r.external_id.startsWith(`pos-${order.id}-`));
    expect(sells).toHaveLength(1);
    expect(sells[0]).toMatchObject({ external_id: `pos-${order.id}-sell`, status: 'done', total: 4980, vat_types: ['vat22'] });
    expect(stack.atol!.state.counters.lostAnswers).toBe(1);
    expect(done.fiscal).toMatchObject({ source: 'atol' });
    // The Yekaterinburg store renders ATOL's local timestamp in its own time zone (UTC+5).
    const body = sells[0].body as { timestamp: string; receipt: { payments: { type: number; sum: number }[]; client: { email?: string } } };
    expect(body.receipt.payments).toEqual([{ type: 1, sum: 4980 }]);
    expect(body.receipt.client.email).toBe('buyer@example.ru');
    const paidAt = new Date(done.timeline.find((t) => t.stage === 'FISCALIZING')!.at);
    const local = new Date(paidAt.getTime() + 5 * 3_600_000);
    expect(body.timestamp.slice(0, 10)).toBe(`${String(local.getUTCDate()).padStart(2, '0')}.${String(local.getUTCMonth() + 1).padStart(2, '0')}.${local.getUTCFullYear()}`);
    const payment = stack.bitrix.state.getOrder(order.id).payments[0];
    expect(payment.psStatusMessage).toContain(`ФН ${done.fiscal!.fnNumber}`);
  });

  it('Evotor push: created but unanswered is not sent again (best effort, never doubled)', async () => {
    stack.evotor.setFaults({ applyThenLoseNext: 1, path: '/apps/', method: 'POST' });
    const order = orderAt(1);
    await waitStage(order.id, 'AWAITING_PAYMENT');
    stack.evotor.setFaults({ applyThenLoseNext: 0, path: null, method: null });
    const pushes = stack.evotor.state.pushes.filter((p) => (p.payload as { orderId?: string }).orderId === String(order.id));
    expect(pushes).toHaveLength(1);
    stack.evotor.payPush(MSK_DEVICE, { pushId: pushes[0].id });
    await stack.evotor.flush();
    await waitStage(order.id, 'COMPLETED');
  });
});
