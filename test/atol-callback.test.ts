import { orderIdOfCloudSellExternalId, cloudSellExternalId } from '../domain/fiscal';
import type { PosPaymentStatus } from '../domain/payment';
import { statusQuery } from '../workflows/pos-payment';
import { postJson } from './support/http';
import { eventually, startTestStack, type TestStack } from './support/stack';

// ATOL's report callback is unsigned: it may only wake the order's workflow, which re-reads the report.
describe('ATOL callback door', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });
  const post = (body: unknown) => postJson(`${stack.apiUrl}/webhooks/atol/callback`, body);

  it('reads the order id back from the external ids we make, and nothing else', () => {
    expect(orderIdOfCloudSellExternalId(cloudSellExternalId('236', 1))).toBe('236');
    expect(orderIdOfCloudSellExternalId(cloudSellExternalId('236', 3))).toBe('236');
    expect(orderIdOfCloudSellExternalId('pos-236-refund')).toBeUndefined();
    expect(orderIdOfCloudSellExternalId('other-236-sell')).toBeUndefined();
  });

  it('wakes the running order workflow with a hint signal', async () => {
    const order = stack.bitrix.createOrder({
      basket: [{ productId: 101, name: 'Кофемолка', price: '100.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: 3, quantity: 1 }] }],
      payments: [{ paySystemId: 10 }],
    });
    await eventually(async () => {
      const s: PosPaymentStatus = await stack.client.workflow.getHandle(`pos-payment:${order.id}`).query(statusQuery);
      return s.stage === 'AWAITING_PAYMENT' ? s : undefined;
    }, 'AWAITING_PAYMENT');
    const res = await post({ uuid: 'u-1', external_id: `pos-${order.id}-sell`, status: 'done' });
    expect(res).toEqual({ status: 200, body: { status: 'accepted', workflowId: `pos-payment:${order.id}` } });
    const history = await stack.client.workflow.getHandle(`pos-payment:${order.id}`).fetchHistory();
    const signals = (history.events ?? []).map((e) => e.workflowExecutionSignaledEventAttributes?.signalName).filter(Boolean);
    expect(signals).toContain('atolReportReady');
  });

  it('ignores receipts it does not track and workflows that are not running; names a bad field', async () => {
    expect(await post({ uuid: 'u-2', external_id: 'someone-else-1' })).toEqual({ status: 200, body: { status: 'ignored' } });
    expect((await post({ uuid: 'u-3', external_id: 'pos-99999999-sell' })).body).toEqual({ status: 'ignored', reason: 'the order workflow is not running' });
    const bad = await post({ uuid: 'u-4' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^external_id: /);
  });
});
