import type { PosPaymentStatus } from '../domain/payment';
import { getJson, postJson } from './support/http';
import { eventually, MSK_DEVICE, startTestStack, type TestStack } from './support/stack';

// Support staff find stuck orders by search attributes and act through the admin API (Temporal updates).
describe('support: search attributes, readable details, cancel / retry / resolve', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const admin = () => ({ authorization: `Bearer ${stack.adminApiKey}` });
  const status = async (orderId: number) => (await getJson<{ status: PosPaymentStatus }>(`${stack.apiUrl}/api/orders/${orderId}`, admin())).body.status;
  const waitStage = (orderId: number, stage: string) =>
    eventually(async () => {
      const res = await getJson<{ status: PosPaymentStatus }>(`${stack.apiUrl}/api/orders/${orderId}`, admin());
      return res.status === 200 && res.body.status.stage === stage ? res.body.status : undefined;
    }, `order ${orderId} ${stage}`);
  const act = (orderId: number, action: string, body: unknown = {}) => postJson(`${stack.apiUrl}/api/orders/${orderId}/${action}`, body, admin());
  const order = (productId = 101, storeId = 1) =>
    stack.bitrix.createOrder({
      basket: [{ productId, name: `Product ${productId}`, price: '500.00', quantity: 2, vatRate: 0.22, reservations: [{ storeId, quantity: 2 }] }],
      payments: [{ paySystemId: 10 }],
    });

  it('guards the admin API: key, order id, update arguments', async () => {
    const o = order();
    await waitStage(o.id, 'AWAITING_PAYMENT');
    expect((await getJson(`${stack.apiUrl}/api/orders/${o.id}`)).status).toBe(401);
    expect((await getJson(`${stack.apiUrl}/api/orders/${o.id}`, { authorization: 'Bearer wrong-key-wrong-key' })).status).toBe(401);
    expect(await getJson(`${stack.apiUrl}/api/orders/abc`, admin())).toEqual({ status: 400, body: { error: 'orderId: a Bitrix id: digits without a leading zero, at most 18' } });
    expect((await getJson(`${stack.apiUrl}/api/orders/99999999`, admin())).status).toBe(404);
    expect(await act(o.id, 'cancel', {})).toEqual({ status: 400, body: { error: 'reason: Invalid input: expected string, received undefined' } });
    const retry = await act(o.id, 'retry');
    expect(retry.status).toBe(409);
    expect(retry.body.error).toMatch(/nothing to retry: the stage is AWAITING_PAYMENT/);
  });

  it('cancels an unpaid order: the workflow stops and the order is cancelled in Bitrix', async () => {
    const o = order();
    await waitStage(o.id, 'AWAITING_PAYMENT');
    const res = await act(o.id, 'cancel', { reason: 'customer called to cancel' });
    expect(res.status).toBe(200);
    const done = await waitStage(o.id, 'CANCELLED');
    expect(done.resolution).toBe('customer called to cancel');
    const bitrixOrder = stack.bitrix.state.getOrder(o.id);
    expect(bitrixOrder.canceled).toBe(true);
    expect(bitrixOrder.reasonCanceled).toBe('cancelled by support: customer called to cancel');
    expect(bitrixOrder.statusId).toBe('CN');
    expect((await act(o.id, 'cancel', { reason: 'again' })).status).toBe(409);
  });

  it('shows a stuck order to support and lets them retry after fixing the cause', async () => {
    stack.bitrix.setStock({ productId: 104, storeId: 1, amount: 0 });
    const o = order(104);
    await waitStage(o.id, 'AWAITING_PAYMENT');
    stack.evotor.payPush(MSK_DEVICE);
    await stack.evotor.flush();
    const stuck = await waitStage(o.id, 'NEEDS_ATTENTION');
    expect(stuck.problem).toMatchObject({ step: 'deduct stock', message: expect.stringMatching(/Insufficient quantity of product 104 at warehouse 1/) });

    // Findable in the Web UI by stage and store, with readable details.
    const found = await eventually(async () => {
      const n = await stack.client.workflow.count(`PosStage = "NEEDS_ATTENTION" AND PosStore = "msk-1" AND PosOrderId = "${o.id}"`);
      return n.count === 1 ? n.count : undefined;
    }, 'visibility');
    expect(found).toBe(1);
    const handle = stack.client.workflow.getHandle(`pos-payment:${o.id}`);
    const description = await handle.describe();
    expect(await description.staticSummary()).toBe(`POS payment of Bitrix order ${o.id}`);
    // What the Web UI shows as "Current details".
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    const details = metadata.currentDetails;
    expect(details).toMatch(/Stage: \*\*NEEDS_ATTENTION\*\*/);
    expect(details).toMatch(/What to do: Check stock at the pickup warehouse in Bitrix, then retry\./);

    stack.bitrix.setStock({ productId: 104, storeId: 1, amount: 5 });
    expect((await act(o.id, 'retry')).status).toBe(200);
    const done = await waitStage(o.id, 'COMPLETED');
    expect(done.problem).toBeUndefined();
    expect(stack.bitrix.snapshot().stock.find((s) => s.productId === 104 && s.storeId === 1)!.amount).toBe(3);
    expect(stack.bitrix.requestCounts().byMethod['sale.payment.update']).toBeGreaterThanOrEqual(1);
  });

  it('resolves an order by hand with a note', async () => {
    stack.bitrix.addStore({ id: 9, title: 'Central warehouse' });
    const o = order(101, 9); // reserved at a warehouse no pickup store serves
    const stuck = await waitStage(o.id, 'NEEDS_ATTENTION');
    expect(stuck.problem?.message).toMatch(/no configured pickup store matches/);
    expect(await act(o.id, 'resolve', { note: '  ' })).toEqual({ status: 400, body: { error: 'note: required' } });
    expect((await act(o.id, 'resolve', { note: 'shipped from the central warehouse by hand' })).status).toBe(200);
    const done = await waitStage(o.id, 'COMPLETED');
    expect(done.resolution).toBe('shipped from the central warehouse by hand');
    expect(await status(o.id)).toMatchObject({ stage: 'COMPLETED' });
  });
});
