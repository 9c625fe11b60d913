import { retryUpdate } from '../workflows/pos-payment';
import { BEANS, BOOK, payOrderAtTerminal, refundPosConfig, stockOf, STORES, waitForOrderStage, waitForRefund } from './support/refunds';
import { EKB_DEVICE, startTestStack, type TestStack } from './support/stack';

// A store that fiscalizes through OFD.ru Ferma: the order paid at an Evotor terminal gets exactly one
// Income receipt at Ferma, even when Ferma registers it and the answer is lost, and Bitrix shows the
// fiscal attributes Ferma returned.
describe('payment and refund fiscalized through OFD.ru Ferma', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: refundPosConfig().replace('fiscalMode: atol', 'fiscalMode: ferma') });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const waitStage = (orderId: number, wanted: string) => waitForOrderStage(stack, orderId, wanted);
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

  it('a refund at the terminal gets one IncomeReturn mirroring the sale (lost answer retried), partial ones add up', async () => {
    const ferma = stack.ferma!;
    const before = { beans: stockOf(stack, 3, 102).amount, book: stockOf(stack, 3, 103).amount };
    const { order, sale } = await payOrderAtTerminal(stack, 'ekb', [
      { product: BEANS, quantity: 2 },
      { product: BOOK, quantity: 1 },
    ]);
    const [income] = ferma.state.receipts.Income.filter((r) => r.invoiceId === `pos-${order.id}-sell`);
    expect(income.stage).toBe('CONFIRMED');

    // First the book alone; Ferma registers the IncomeReturn and the answer is lost.
    const lostBefore = ferma.state.counters.lostAnswers;
    ferma.setFaults({ applyThenLoseNext: 1, operation: 'receipt' });
    const first = stack.evotor.payback(STORES.ekb.device, { baseDocumentId: sale.id, items: [{ ...BOOK, productId: '103', quantity: 1 }] });
    await stack.evotor.flush();
    const one = await waitForRefund(stack, 'ekb', first, 'COMPLETED');
    expect(one.fiscal).toMatchObject({ source: 'ferma' });
    expect(ferma.state.counters.lostAnswers).toBe(lostBefore + 1);
    const returnsOf = (id: string) => ferma.state.receipts.IncomeReturn.filter((r) => r.invoiceId.startsWith(`pos-refund-${id}`));
    expect(returnsOf(first.id)).toHaveLength(1);
    expect(returnsOf(first.id)[0]).toMatchObject({ invoiceId: `pos-refund-${first.id}`, total: 799, vats: ['Vat10'] });
    expect(stockOf(stack, 3, 103).amount).toBe(before.book);

    // Then the rest: the beans, with the sale's VAT and payment form.
    const second = stack.evotor.payback(STORES.ekb.device, { baseDocumentId: sale.id, items: [{ ...BEANS, productId: '102', quantity: 2 }] });
    await stack.evotor.flush();
    await waitForRefund(stack, 'ekb', second, 'COMPLETED');
    const [beansBack] = returnsOf(second.id);
    expect(beansBack).toMatchObject({ total: 3181, vats: ['Vat22'] });
    const saleBody = income.body as { Request: { CustomerReceipt: { PaymentItems: unknown[]; Items: { Label: string }[] } } };
    const refundBody = beansBack.body as { Request: { Type: string; CustomerReceipt: { PaymentItems: { PaymentType: number }[]; Items: { Label: string }[] } } };
    expect(refundBody.Request.Type).toBe('IncomeReturn');
    expect(refundBody.Request.CustomerReceipt.PaymentItems[0].PaymentType).toEqual((saleBody.Request.CustomerReceipt.PaymentItems[0] as { PaymentType: number }).PaymentType);
    expect(ferma.state.receipts.IncomeReturn.filter((r) => r.invoiceId.startsWith('pos-refund-') && [first.id, second.id].some((id) => r.invoiceId.includes(id)))).toHaveLength(2);

    const bx = stack.bitrix.state.getOrder(order.id);
    expect(bx.payments[0]).toMatchObject({ paid: false, isReturn: 'P' });
    expect(stockOf(stack, 3, 102).amount).toBe(before.beans);
  }, 120_000);
});
