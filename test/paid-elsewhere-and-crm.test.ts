import { BitrixClient } from '../activities/bitrix/client';
import type { PosPaymentStatus } from '../domain/payment';
import { statusQuery } from '../workflows/pos-payment';
import { eventually, MSK_DEVICE, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';

describe('payment already recorded in Bitrix, and the CRM deal step', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      posConfigYaml: TEST_POS_CONFIG.replace('  statuses: { awaitingPayment: WP, paid: P, canceled: CN }', '  statuses: { awaitingPayment: WP, paid: P, canceled: CN }\n  crm: { paidDealStageId: WON }'),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const waitStage = (orderId: number, wanted: string) =>
    eventually(async () => {
      const s: PosPaymentStatus = await stack.client.workflow.getHandle(`pos-payment:${orderId}`).query(statusQuery);
      return s.stage === wanted ? s : undefined;
    }, `order ${orderId} ${wanted}`);
  const newOrder = () =>
    stack.bitrix.createOrder({
      basket: [{ productId: 101, name: 'Кофемолка ручная', price: '990.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: 1, quantity: 1 }] }],
      payments: [{ paySystemId: 10 }],
    });

  it('an order marked paid by the 1C exchange is not marked again; status and stock still follow', async () => {
    const order = newOrder();
    await waitStage(order.id, 'AWAITING_PAYMENT');
    const before = stack.bitrix.requestCounts().byMethod['sale.payment.update'] ?? 0;
    // 1C reports the payment to Bitrix itself (CommerceML): Bitrix saves the order and sends ONSALEORDERSAVED.
    const oneC = new BitrixClient({ restUrl: stack.bitrix.url });
    await oneC.updatePayment(String(order.payments[0].id), '10', { paid: true, psInvoiceId: '1C-000123', datePaid: '2026-11-29T10:00:00+03:00' });

    const done = await waitStage(order.id, 'COMPLETED');
    expect(done.alreadyPaidInBitrix).toBe(true);
    expect(stack.bitrix.requestCounts().byMethod['sale.payment.update'] ?? 0).toBe(before + 1); // only 1C's own update
    const after = stack.bitrix.state.getOrder(order.id);
    expect(after.payments[0]).toMatchObject({ paid: true, psInvoiceId: '1C-000123' });
    expect(after.statusId).toBe('P');
    expect(after.shipments.filter((s) => !s.system).every((s) => s.deducted)).toBe(true);
  });

  it('moves the linked Bitrix24 deal to the configured stage once the order is paid', async () => {
    const order = newOrder();
    const deal = stack.bitrix.addDeal({ title: 'Deal for the order', stageId: 'EXECUTING', orderIds: [order.id] });
    const other = stack.bitrix.addDeal({ title: 'Unrelated', stageId: 'EXECUTING', orderIds: [] });
    await waitStage(order.id, 'AWAITING_PAYMENT');
    expect(stack.bitrix.state.deals.get(deal.id)!.stageId).toBe('EXECUTING');
    stack.evotor.payPush(MSK_DEVICE);
    await stack.evotor.flush();
    await waitStage(order.id, 'COMPLETED');
    expect(stack.bitrix.state.deals.get(deal.id)!.stageId).toBe('WON');
    expect(stack.bitrix.state.deals.get(other.id)!.stageId).toBe('EXECUTING');
  });
});
