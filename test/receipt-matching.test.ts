import type { PosPaymentStatus } from '../domain/payment';
import { statusQuery } from '../workflows/pos-payment';
import { terminalReceiptQuery, type TerminalReceiptState } from '../workflows/terminal-receipt';
import { eventually, MSK_DEVICE, startTestStack, type TestStack } from './support/stack';

// A receipt without our order id in extras (the cashier rang the order by hand) is matched by
// store + amount (+ number when present); an ambiguous match is never guessed.
describe('matching a receipt without an order id', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const orderAt = (storeId: number, price: string) =>
    stack.bitrix.createOrder({
      basket: [{ productId: 101, name: 'Кофемолка ручная', price, quantity: 1, vatRate: 0.22, reservations: [{ storeId, quantity: 1 }] }],
      payments: [{ paySystemId: 10 }],
    });
  const stage = (orderId: number) => stack.client.workflow.getHandle(`pos-payment:${orderId}`).query(statusQuery);
  const waitStage = (orderId: number, wanted: string) =>
    eventually(async () => {
      const s: PosPaymentStatus = await stage(orderId);
      return s.stage === wanted ? s : undefined;
    }, `order ${orderId} ${wanted}`);
  const receiptState = (receiptId: string) =>
    stack.client.workflow.getHandle(`terminal-receipt:20240101-0000-4000-8000-000000000001:${receiptId}`).query(terminalReceiptQuery);

  it('pays the one order awaiting that amount at that store', async () => {
    const order = orderAt(1, '1234.56');
    const elsewhere = orderAt(2, '1234.56'); // same amount, other pickup point: not a candidate
    await waitStage(order.id, 'AWAITING_PAYMENT');
    await waitStage(elsewhere.id, 'AWAITING_PAYMENT');

    const receipt = stack.evotor.sell(MSK_DEVICE, { items: [{ productId: '101', name: 'Кофемолка ручная', price: '1234.56', quantity: 1, vatRate: 0.22 }], extras: {} });
    await stack.evotor.flush();

    const done = await waitStage(order.id, 'COMPLETED');
    expect(done.payments.map((p) => p.receiptId)).toEqual([receipt.id]);
    const matched: TerminalReceiptState = await receiptState(receipt.id);
    expect(matched).toMatchObject({ stage: 'COMPLETED', matchedOrderId: String(order.id), candidates: [String(order.id)] });
    expect(stack.bitrix.state.getOrder(order.id).payments[0]).toMatchObject({ paid: true, psInvoiceId: receipt.id });
    expect((await stage(elsewhere.id)).stage).toBe('AWAITING_PAYMENT');
  });

  it('does not guess between two orders of the same amount: the receipt waits for a person', async () => {
    const a = orderAt(1, '777.00');
    const b = orderAt(1, '777.00');
    await waitStage(a.id, 'AWAITING_PAYMENT');
    await waitStage(b.id, 'AWAITING_PAYMENT');

    const receipt = stack.evotor.sell(MSK_DEVICE, { items: [{ productId: '101', name: 'Кофемолка ручная', price: '777.00', quantity: 1, vatRate: 0.22 }], extras: {} });
    await stack.evotor.flush();

    const held = await eventually(async () => {
      const s: TerminalReceiptState = await receiptState(receipt.id);
      return s.stage === 'NEEDS_ATTENTION' ? s : undefined;
    }, 'receipt NEEDS_ATTENTION');
    expect(held.candidates?.sort()).toEqual([String(a.id), String(b.id)].sort());
    expect(held.reason).toMatch(/several orders await 777\.00/);
    expect((await stage(a.id)).paidAmount).toBe(0);
    expect((await stage(b.id)).paidAmount).toBe(0);
    expect(stack.bitrix.state.getOrder(a.id).payments[0].paid).toBe(false);
  });
});
