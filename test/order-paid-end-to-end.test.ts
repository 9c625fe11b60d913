import type { PosPaymentStatus } from '../domain/payment';
import { getJson } from './support/http';
import { eventually, MSK_DEVICE, startTestStack, type TestStack } from './support/stack';

// The vertical slice over real HTTP: Bitrix event → workflow → push → terminal pays → receipt webhook →
// fiscal data from the Evotor cloud document → Bitrix payment, status and stock. Asserted in the simulators.
describe('an order paid at the pickup point, end to end', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function orderStatus(orderId: number): Promise<PosPaymentStatus | undefined> {
    const res = await getJson<{ status: PosPaymentStatus }>(`${stack.apiUrl}/api/orders/${orderId}`, {
      authorization: `Bearer ${stack.adminApiKey}`,
    });
    return res.status === 200 ? res.body.status : undefined;
  }

  it('marks the payment paid with the receipt id, sets the paid status and deducts the stock once', async () => {
    const stockBefore = (productId: number) =>
      stack.bitrix.snapshot().stock.find((s) => s.storeId === 1 && s.productId === productId)?.amount;
    const grinderBefore = stockBefore(101)!;
    const beansBefore = stockBefore(102)!;

    const order = stack.bitrix.createOrder({
      statusId: 'N',
      basket: [
        { productId: 101, name: 'Кофемолка ручная', price: '2490.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: 1, quantity: 1 }] },
        { productId: 102, name: 'Кофе в зёрнах 1 кг', price: '1590.50', quantity: 2, vatRate: 0.22, reservations: [{ storeId: 1, quantity: 2 }] },
      ],
      payments: [{ paySystemId: 10 }],
      propertyValues: [{ code: 'EMAIL', value: 'buyer@example.ru' }],
    });

    // Bitrix's own ONSALEORDERSAVED event starts the workflow; it sets the status and pushes the order.
    await eventually(async () => ((await orderStatus(order.id))?.stage === 'AWAITING_PAYMENT' ? true : undefined), 'AWAITING_PAYMENT');
    expect(stack.bitrix.state.getOrder(order.id).statusId).toBe('WP');
    const push = await eventually(
      () => stack.evotor.state.pushes.find((p) => (p.payload as { orderId?: string }).orderId === String(order.id)),
      'a push to the terminal',
    );
    expect(push.details.map((d) => d.device_id)).toEqual([MSK_DEVICE]);
    expect(push.payload).toMatchObject({ kind: 'bitrix-order', accountNumber: order.accountNumber, total: '5671.00' });

    // The cashier rings the pushed order; Evotor's cloud delivers the receipt webhook to our API.
    const receipt = stack.evotor.payPush(MSK_DEVICE, { pushId: push.id, paymentSource: 'PAY_CARD' });
    await stack.evotor.flush();

    const done = await eventually(async () => {
      const s = await orderStatus(order.id);
      return s?.stage === 'COMPLETED' ? s : undefined;
    }, 'COMPLETED');
    expect(done.paidAmount).toBe(567100);
    expect(done.fiscal).toMatchObject({ source: 'terminal' });
    expect(done.fiscal!.fnNumber).toMatch(/^\d{16}$/);

    const after = stack.bitrix.state.getOrder(order.id);
    expect(after.statusId).toBe('P');
    expect(after.payed).toBe(true);
    const [payment] = after.payments;
    expect(payment).toMatchObject({ paid: true, paySystemId: 10, psInvoiceId: receipt.id, psSum: 567100 });
    expect(payment.datePaid).toBeTruthy();
    expect(payment.psStatusMessage).toContain(`ФН ${done.fiscal!.fnNumber}`);
    expect(after.shipments.filter((s) => !s.system).every((s) => s.deducted)).toBe(true);
    expect(stockBefore(101)).toBe(grinderBefore - 1);
    expect(stockBefore(102)).toBe(beansBefore - 2);
    expect(stack.bitrix.requestCounts().byMethod['sale.payment.update']).toBe(1);
    expect(stack.bitrix.requestCounts().byMethod['sale.shipment.update']).toBe(1);
  });
});
