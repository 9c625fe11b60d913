import type { PosPaymentStatus } from '../domain/payment';
import { getJson, postJson, startRecordingRelay } from './support/http';
import { eventually, MSK_DEVICE, startTestStack, type TestStack } from './support/stack';

// Evotor delivers at least once. The same receipt webhook three times while the order is in flight, and
// once more after its workflow completed, must mark the payment paid once and deduct the stock once.
describe('the same receipt webhook delivered again and again', () => {
  let stack: TestStack;
  let relay: Awaited<ReturnType<typeof startRecordingRelay>>;

  beforeAll(async () => {
    stack = await startTestStack();
    relay = await startRecordingRelay(stack.apiUrl);
    stack.evotor.configureWebhook({ url: `${relay.url}/webhooks/evotor/receipts` });
  });
  afterAll(async () => {
    await relay?.close();
    await stack?.stop();
  });

  const status = async (orderId: number) => {
    const res = await getJson<{ status: PosPaymentStatus }>(`${stack.apiUrl}/api/orders/${orderId}`, { authorization: `Bearer ${stack.adminApiKey}` });
    return res.status === 200 ? res.body.status : undefined;
  };

  it('pays and deducts exactly once, and answers the late duplicate as a duplicate', async () => {
    const stock = () => stack.bitrix.snapshot().stock.find((s) => s.storeId === 1 && s.productId === 103)!.amount;
    const stockBefore = stock();
    const order = stack.bitrix.createOrder({
      basket: [{ productId: 103, name: 'Книга «Кофе»', price: 799, quantity: 3, vatRate: 0.1, reservations: [{ storeId: 1, quantity: 3 }] }],
      payments: [{ paySystemId: 10 }],
    });
    await eventually(async () => ((await status(order.id))?.stage === 'AWAITING_PAYMENT' ? true : undefined), 'AWAITING_PAYMENT');

    const receipt = stack.evotor.payPush(MSK_DEVICE);
    await stack.evotor.flush();
    const [first] = relay.requests;
    expect(first.status).toBe(200);
    const headers = { authorization: String(first.headers.authorization) };

    // Two more deliveries of the very same bytes, at once, while the workflow runs.
    const again = await Promise.all([1, 2].map(() => postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, first.body, headers)));
    expect(again.map((a) => a.status)).toEqual([200, 200]);

    const done = await eventually(async () => {
      const s = await status(order.id);
      return s?.stage === 'COMPLETED' ? s : undefined;
    }, 'COMPLETED');
    expect(done.payments.map((p) => p.receiptId)).toEqual([receipt.id]);
    expect(done.paidAmount).toBe(239700);

    // A late redelivery after completion must not start the order again.
    const late = await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, first.body, headers);
    expect(late).toEqual({ status: 200, body: { status: 'duplicate', workflowId: `pos-payment:${order.id}` } });

    const counts = stack.bitrix.requestCounts().byMethod;
    expect(counts['sale.payment.update']).toBe(1);
    expect(counts['sale.shipment.update']).toBe(1);
    expect(stock()).toBe(stockBefore - 3);
    const payment = stack.bitrix.state.getOrder(order.id).payments[0];
    expect(payment).toMatchObject({ paid: true, psInvoiceId: receipt.id });

    const runs = await stack.client.workflow.count(`WorkflowId = "pos-payment:${order.id}"`);
    expect(runs.count).toBe(1);
    const held = await stack.client.workflow.count('WorkflowId STARTS_WITH "terminal-receipt:"');
    expect(held.count).toBe(0);
  });
});
