import { WorkflowNotFoundError } from '@temporalio/client';
import type { ReconciliationReport } from '../domain/reconciliation';
import { statusQuery } from '../workflows/pos-payment';
import { postJson } from './support/http';
import { EKB_DEVICE, eventually, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';

// Reconciliation hands over through the same intake as the doors: a terminal document naming an order in a
// non-canonical form ("0236" for order 236) is reported for a person, never made a second workflow of the order.
const CONFIG = `${TEST_POS_CONFIG}
reconciliation:
  frequent: { every: 24h, window: 2h }
  nightly: { at: "02:00", timeZone: Europe/Moscow }
  settle: 1s
`;

describe('reconciliation and non-canonical ids', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: CONFIG });
    for (const id of ['reconciliation-frequent', 'reconciliation-nightly']) await stack.client.schedule.getHandle(id).pause('test');
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('reports a sale naming "0<order id>", and hands nothing over', async () => {
    const order = stack.bitrix.createOrder({
      statusId: 'N',
      basket: [{ productId: 101, name: 'Кофемолка ручная', price: '2490.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: 3, quantity: 1 }] }],
      payments: [{ paySystemId: 10 }],
    });
    // The receipt's webhook never arrives (so only reconciliation sees the document).
    stack.evotor.configureWebhook({ url: 'http://127.0.0.1:1/unreachable', maxAttempts: 1 });
    const sale = stack.evotor.sell(EKB_DEVICE, { items: [{ productId: '101', name: 'Кофемолка ручная', price: '2490.00', quantity: 1 }], extras: { bitrixOrderId: `0${order.id}` } });
    await stack.evotor.flush();
    await new Promise((r) => setTimeout(r, 1_500));
    const atolBefore = stack.atol!.state.receipts.sell.length;

    const res = await postJson<ReconciliationReport>(`${stack.apiUrl}/api/reconciliation/runs?wait=1`, { windowMinutes: 60 }, { authorization: `Bearer ${stack.adminApiKey}` });
    expect(res.status).toBe(200);
    const item = res.body.items.find((i) => i.receiptId === sale.id);
    expect(item).toMatchObject({ action: 'reported' });
    expect(item?.found).toMatch(/orderId: not canonical/);
    expect(res.body.items.filter((i) => i.action === 'healed' && i.receiptId === sale.id)).toEqual([]);
    await expect(stack.client.workflow.getHandle(`pos-payment:0${order.id}`).describe()).rejects.toThrow(WorkflowNotFoundError);
    // The order's own workflow (started by Bitrix's event) still waits for its payment; nothing was paid or printed.
    const status = await eventually(async () => {
      const s = await stack.client.workflow.getHandle(`pos-payment:${order.id}`).query(statusQuery);
      return s.stage === 'AWAITING_PAYMENT' ? s : undefined;
    }, 'the order awaiting payment');
    expect(status.paidAmount).toBe(0);
    expect(stack.bitrix.state.getOrder(order.id).payments[0].paid).toBe(false);
    expect(stack.atol!.state.receipts.sell.length).toBe(atolBefore);
  }, 120_000);
});
