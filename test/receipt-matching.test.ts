import type { PosPaymentStatus } from '../domain/payment';
import { statusQuery } from '../workflows/pos-payment';
import { terminalReceiptQuery, type TerminalReceiptState } from '../workflows/terminal-receipt';
import { postJson } from './support/http';
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

  it('a receipt matched to an order, redelivered once the order no longer awaits payment, is a duplicate and never a walk-in sale', async () => {
    const order = orderAt(1, '4321.00');
    await waitStage(order.id, 'AWAITING_PAYMENT');
    const webhook = {
      id: `evt-late-${order.id}`,
      timestamp: Date.now(),
      userId: '01-000000000000001',
      type: 'ReceiptCreated',
      version: 2,
      data: {
        id: `late-redelivery-${order.id}`,
        deviceId: MSK_DEVICE,
        storeId: '20240101-0000-4000-8000-000000000001',
        dateTime: new Date().toISOString().replace('Z', '+0000'),
        type: 'SELL',
        paymentSource: 'PAY_CARD',
        items: [{ id: 'no-such-evotor-product', name: 'Кофемолка ручная', quantity: 1, price: 4321, sumPrice: 4321 }],
        totalAmount: 4321,
        extras: {},
      },
    };
    const auth = { authorization: `Bearer ${stack.evotorWebhookToken}` };
    const receiptWorkflow = `terminal-receipt:20240101-0000-4000-8000-000000000001:${webhook.data.id}`;
    expect(await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, webhook, auth)).toEqual({ status: 200, body: { status: 'accepted', workflowId: receiptWorkflow } });
    // Paid: the order no longer awaits payment (its terminal's fiscal data is what it waits for now).
    await waitStage(order.id, 'FISCALIZING');
    const deductions = stack.client.workflow.getHandle('walk-in-deductions:msk-1');
    const before = await deductions.query<{ queued: number; receipts: number }>('status');

    // Evotor sends it again: no order awaits that amount any more, yet it was an order's payment.
    expect(await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, webhook, auth)).toEqual({ status: 200, body: { status: 'duplicate', workflowId: receiptWorkflow } });
    await new Promise((r) => setTimeout(r, 1_500));
    const after = await deductions.query<{ queued: number; receipts: number }>('status');
    expect(after).toMatchObject({ queued: before.queued, receipts: before.receipts });
    await expect(stack.client.workflow.getHandle(`walk-in-problem:20240101-0000-4000-8000-000000000001:${webhook.data.id}`).describe()).rejects.toThrow();
    expect((await stage(order.id)).payments.map((p) => p.receiptId)).toEqual([webhook.data.id]);
  });
});
