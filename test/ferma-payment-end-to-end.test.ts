import type { PosPaymentStatus } from '../domain/payment';
import { retryUpdate, statusQuery } from '../workflows/pos-payment';
import { EKB_DEVICE, eventually, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';

// A store that fiscalizes through OFD.ru Ferma: the order paid at an Evotor terminal gets exactly one
// Income receipt at Ferma, even when Ferma registers it and the answer is lost, and Bitrix shows the
// fiscal attributes Ferma returned.
describe('payment fiscalized through OFD.ru Ferma', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: TEST_POS_CONFIG.replace('fiscalMode: atol', 'fiscalMode: ferma') });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const waitStage = (orderId: number, wanted: string) =>
    eventually(async () => {
      const s: PosPaymentStatus = await stack.client.workflow.getHandle(`pos-payment:${orderId}`).query(statusQuery);
      return s.stage === wanted ? s : undefined;
    }, `order ${orderId} ${wanted}`, 45_000);
  const orderAtEkb = () =>
    stack.bitrix.createOrder({
      basket: [
        { productId: 101, name: 'Кофемолка ручная', price: '2490.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: 3, quantity: 1 }] },
        { productId: 103, name: 'Книга «Кофе»', price: '799.00', quantity: 2, vatRate: 0.1, reservations: [{ storeId: 3, quantity: 2 }] },
      ],
      payments: [{ paySystemId: 10 }],
      propertyValues: [{ code: 'EMAIL', value: 'buyer@example.ru' }],
    });

  it('registers one Income receipt (lost answer retried with the same InvoiceId) and confirms the payment in Bitrix', async () => {
    const ferma = stack.ferma!;
    const order = orderAtEkb();
    await waitStage(order.id, 'AWAITING_PAYMENT');
    ferma.setFaults({ applyThenLoseNext: 1, operation: 'receipt' });
    stack.evotor.payPush(EKB_DEVICE, { paymentSource: 'PAY_CARD' });
    await stack.evotor.flush();
    const done = await waitStage(order.id, 'COMPLETED');

    const incomes = ferma.state.receipts.Income.filter((r) => r.invoiceId.startsWith(`pos-${order.id}-`));
    expect(incomes).toHaveLength(1);
    expect(incomes[0]).toMatchObject({ invoiceId: `pos-${order.id}-sell`, total: 4088, stage: 'CONFIRMED' });
    expect([...incomes[0].vats].sort()).toEqual(['Vat10', 'Vat22']);
    expect(ferma.state.counters.lostAnswers).toBe(1);
    expect(done.fiscal).toMatchObject({ source: 'ferma' });
    expect(done.fiscal!.fnNumber).toMatch(/^\d{16}$/);

    const payment = stack.bitrix.state.getOrder(order.id).payments[0];
    expect(payment.paid).toBe(true);
    expect(payment.psStatusMessage).toContain(`ФН ${done.fiscal!.fnNumber}`);
  });

  it('a receipt Ferma fails stops in NEEDS_ATTENTION with Ferma\'s reason; retry sends a new InvoiceId', async () => {
    const ferma = stack.ferma!;
    const order = orderAtEkb();
    await waitStage(order.id, 'AWAITING_PAYMENT');
    ferma.setFaults({ failNextReceipts: 1 });
    stack.evotor.payPush(EKB_DEVICE, { paymentSource: 'PAY_CARD' });
    await stack.evotor.flush();
    const held = await waitStage(order.id, 'NEEDS_ATTENTION');
    expect(held.problem?.message).toMatch(/Ferma failed receipt pos-\d+-sell/);

    await stack.client.workflow.getHandle(`pos-payment:${order.id}`).executeUpdate(retryUpdate);
    await waitStage(order.id, 'COMPLETED');
    const incomes = ferma.state.receipts.Income.filter((r) => r.invoiceId.startsWith(`pos-${order.id}-`));
    expect(incomes.map((r) => [r.invoiceId, r.stage])).toEqual([
      [`pos-${order.id}-sell`, 'KKT_ERROR'],
      [`pos-${order.id}-sell-2`, 'CONFIRMED'],
    ]);
  });
});
