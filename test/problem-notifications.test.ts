import { loadEnv } from '../lib/config';
import { noticeTag } from '../domain/notifications';
import type { SimNotification } from '../simulators/bitrix/state';
import { refundStatusQuery } from '../workflows/refund';
import { terminalReceiptQuery } from '../workflows/terminal-receipt';
import { walkInProblemQuery, type WalkInProblemState } from '../workflows/walk-in-problem';
import { postJson } from './support/http';
import { postSignedBatch, walkInReceipt } from './support/middleware';
import { GRINDER, payOrderAtTerminal, refundPosConfig, STORES, waitForCancellation, waitForOrderStage, waitForRefund } from './support/refunds';
import { EKB_DEVICE, eventually, MSK_DEVICE, startTestStack, type TestStack } from './support/stack';

const WEB_UI = 'http://temporal-ui.example.test';

/** The test stores: msk-1 tells the order's responsible manager, spb-2 its own user 77, ekb-3 nobody; the default is user 5. */
const CONFIG = refundPosConfig('refunds: { paybackDeadline: 3s, saleDeadline: 1h }')
  .replace('statuses: {', 'notifications: { userId: "5", dealTimeline: true }\n  statuses: {')
  .replace('    fiscalMode: terminal\n  - id: spb-2', '    fiscalMode: terminal\n    notifications: {}\n  - id: spb-2')
  .replace('    fiscalMode: terminal\n  - id: ekb-3', '    fiscalMode: terminal\n    notifications: { userId: "77" }\n  - id: ekb-3')
  .replace('    fiscalMode: atol\n', '    fiscalMode: atol\n    notifications: { enabled: false }\n');

// A workflow that stops for a person tells the manager in Bitrix, once per problem, and again when it is closed.
describe('Bitrix notifications when a workflow needs attention', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: CONFIG, env: loadEnv({ API_PORT: '0', TEMPORAL_WEB_UI_URL: WEB_UI }) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const admin = () => ({ authorization: `Bearer ${stack.adminApiKey}` });
  const tagged = (key: string) => {
    const tag = noticeTag(key);
    const snap = stack.bitrix.snapshot();
    return { now: snap.notifications.filter((n) => n.tag === tag), log: snap.notificationLog.filter((n) => n.tag === tag) };
  };
  /** Waits until the notifications with the problem's tag show `event` (what the manager has now). */
  const shown = (key: string, event: 'problem' | 'resolved') =>
    eventually(() => {
      const { now } = tagged(key);
      return now.length === 1 && now[0]!.subTag === event ? now[0] : undefined;
    }, `${key} ${event} notified`);
  const order = (warehouse: number, productId: number, responsibleId?: number) =>
    stack.bitrix.createOrder({
      responsibleId,
      basket: [{ productId, name: `Product ${productId}`, price: '500.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: warehouse, quantity: 1 }] }],
      payments: [{ paySystemId: 10 }],
      propertyValues: [{ code: 'EMAIL', value: 'buyer@example.ru' }],
    });
  const payAt = async (device: string, orderId: number) => {
    await waitForOrderStage(stack, orderId, 'AWAITING_PAYMENT');
    const push = await eventually(() => stack.evotor.state.pushes.find((p) => (p.payload as { orderId?: string }).orderId === String(orderId)), 'the order pushed');
    stack.evotor.payPush(device, { pushId: push.id, paymentSource: 'PAY_CARD' });
    await stack.evotor.flush();
  };

  it('an order stuck in NEEDS_ATTENTION: one notification to its responsible manager with both links, despite a lost answer; one "resolved" after the retry; one deal comment each', async () => {
    stack.bitrix.setStock({ productId: 104, storeId: 1, amount: 0 });
    const o = order(1, 104, 31);
    const deal = stack.bitrix.addDeal({ orderIds: [o.id] });
    await payAt(MSK_DEVICE, o.id);
    // Bitrix takes the notification, but its answer is lost: the activity is retried.
    stack.bitrix.setFaults({ applyThenLoseNext: 1, method: 'im.notify.system.add' });
    const stuck = await waitForOrderStage(stack, o.id, 'NEEDS_ATTENTION');
    expect(stuck.problem?.step).toBe('deduct stock');
    const key = `pos-payment:${o.id}#1`;
    const problem: SimNotification = await shown(key, 'problem');
    await eventually(() => (tagged(key).log.length === 2 ? true : undefined), 'the retried notification');
    expect(stack.bitrix.requestCounts().faults.applyThenLose).toBe(1);
    stack.bitrix.setFaults({});
    expect(tagged(key).now).toHaveLength(1);
    expect(problem.userId).toBe(31);
    expect(problem.message).toContain(`Needs attention: Order ${stuck.accountNumber} (Bitrix id ${o.id})`);
    expect(problem.message).toContain('What happened (deduct stock):');
    expect(problem.message).toContain('What to do: Check stock at the pickup warehouse in Bitrix, then retry.');
    expect(problem.message).toContain(`[URL=${new URL(stack.bitrix.url).origin}/shop/orders/details/${o.id}/]`);
    const { runId } = await stack.client.workflow.getHandle(`pos-payment:${o.id}`).describe();
    expect(problem.message).toContain(`[URL=${WEB_UI}/namespaces/${stack.namespace}/workflows/pos-payment%3A${o.id}/${runId}/history]`);
    expect(problem.message).not.toContain('buyer@example.ru');
    const dealComments = () => stack.bitrix.snapshot().timelineComments.filter((c) => c.entityType === 'deal' && c.entityId === deal.id);
    await eventually(() => (dealComments().length === 1 ? true : undefined), 'the deal comment');

    // Support fixes the stock and retries; the comment's answer is lost this time: still one of each.
    stack.bitrix.setStock({ productId: 104, storeId: 1, amount: 5 });
    stack.bitrix.setFaults({ applyThenLoseNext: 1, method: 'crm.timeline.comment.add' });
    expect((await postJson(`${stack.apiUrl}/api/orders/${o.id}/retry`, {}, admin())).status).toBe(200);
    await waitForOrderStage(stack, o.id, 'COMPLETED');
    await stack.client.workflow.getHandle(`pos-payment:${o.id}`).result();
    stack.bitrix.setFaults({});
    const resolved = await shown(key, 'resolved');
    expect(resolved.userId).toBe(31);
    expect(resolved.message).toContain(`Resolved: Order ${stuck.accountNumber} (Bitrix id ${o.id})`);
    expect(tagged(key).log.map((n) => n.subTag)).toEqual(['problem', 'problem', 'resolved']);
    expect(dealComments().map((c) => c.comment.split('\n')[0])).toEqual([
      expect.stringContaining('Needs attention'),
      expect.stringContaining('Resolved'),
    ]);
    expect(stack.bitrix.snapshot().notificationLog.filter((n) => n.tag?.startsWith(noticeTag(`pos-payment:${o.id}#`)))).toHaveLength(3);
  });

  it('a store with notifications switched off: nobody is told', async () => {
    stack.bitrix.setStock({ productId: 106, storeId: 3, amount: 0 });
    const o = order(3, 106, 31);
    await payAt(EKB_DEVICE, o.id);
    await waitForOrderStage(stack, o.id, 'NEEDS_ATTENTION');
    expect((await postJson(`${stack.apiUrl}/api/orders/${o.id}/resolve`, { note: 'written off by hand' }, admin())).status).toBe(200);
    await stack.client.workflow.getHandle(`pos-payment:${o.id}`).result();
    const log = stack.bitrix.snapshot().notificationLog.filter((n) => n.tag?.startsWith(noticeTag(`pos-payment:${o.id}#`)));
    expect(log).toEqual([]);
  });

  it('a walk-in write-off Bitrix refuses: the store’s user is told (a walk-in has no order), and told again when support resolves it', async () => {
    stack.bitrix.setStock({ productId: 105, storeId: 2, amount: 0 });
    const receipt = walkInReceipt('spb-2', [{ productId: '105', quantity: 1, price: 1000 }]);
    await postSignedBatch(stack.apiUrl, stack.middlewareKeys, [receipt]);
    const id = `walk-in-problem:spb-2:${receipt.receiptId}`;
    await eventually(async () => {
      try {
        const s: WalkInProblemState = await stack.client.workflow.getHandle(id).query(walkInProblemQuery);
        return s.stage === 'NEEDS_ATTENTION' ? s : undefined;
      } catch {
        return undefined;
      }
    }, 'the walk-in problem');
    const problem = await shown(`${id}#1`, 'problem');
    expect(problem.userId).toBe(77);
    expect(problem.message).toContain(`Walk-in sale ${receipt.receiptId} at spb-2`);
    expect(problem.message).toMatch(/Bitrix refused the write-off: .*insufficient quantity of product 105/i);
    expect(problem.message).not.toContain('The order in Bitrix');
    expect(problem.message).toContain(`${WEB_UI}/namespaces/${stack.namespace}/workflows/${encodeURIComponent(id)}/`);
    await stack.client.workflow.getHandle(id).executeUpdate('resolve', { args: [{ note: 'stock corrected by hand' }] });
    await stack.client.workflow.getHandle(id).result();
    const resolved = await shown(`${id}#1`, 'resolved');
    expect(resolved.message).toContain('stock corrected by hand');
    expect(tagged(`${id}#1`).log).toHaveLength(2);
  });

  it('a refund stopped for a person notifies the store’s user', async () => {
    const sale = stack.evotor.sell(STORES.spb.device, { items: [{ ...GRINDER, productId: '101', quantity: 1 }] });
    await stack.evotor.flush();
    await eventually(async () => {
      const r = await stack.client.workflow.getHandle(`terminal-receipt:${STORES.spb.terminalStore}:${sale.id}`).query(terminalReceiptQuery);
      return r.stage === 'QUEUED_FOR_DEDUCTION' ? r : undefined;
    }, 'the walk-in sale recorded');
    const over = stack.evotor.payback(STORES.spb.device, { baseDocumentId: sale.id, items: [{ ...GRINDER, productId: '101', quantity: 2 }] });
    await stack.evotor.flush();
    const stopped = await waitForRefund(stack, 'spb', over, 'NEEDS_ATTENTION');
    const id = `refund:${STORES.spb.terminalStore}:${over.id}`;
    const problem = await shown(`${id}#1`, 'problem');
    expect(problem.userId).toBe(77);
    expect(problem.message).toContain(`Needs attention: Refund ${over.id}`);
    expect(problem.message).toContain(stopped.problem!.message);
    const handle = stack.client.workflow.getHandle(id);
    await handle.executeUpdate('resolve', { args: [{ note: 'cashier error, money taken back' }] });
    expect(await handle.query(refundStatusQuery)).toMatchObject({ resolution: 'cashier error, money taken back' });
    await handle.result();
    expect((await shown(`${id}#1`, 'resolved')).message).toContain('cashier error, money taken back');
  });

  it('a paid order cancelled but not refunded in time: told (the default user: the order names nobody); told again when the late refund settles it by itself', async () => {
    const { order: o, sale } = await payOrderAtTerminal(stack, 'msk', [{ product: GRINDER, quantity: 1 }]);
    expect((await postJson(`${stack.apiUrl}/api/orders/${o.id}/cancel`, { reason: 'customer asked for their money back' }, admin())).status).toBe(202);
    await waitForCancellation(stack, o.id, 'NEEDS_ATTENTION');
    const key = `order-cancellation:${o.id}#1`;
    const problem = await shown(key, 'problem');
    expect(problem.userId).toBe(5);
    expect(problem.message).toContain(`Needs attention: Cancellation of paid order`);
    expect(problem.message).toContain('What happened (wait for the refund at the terminal): no refund of the remaining 2490.00 RUB');
    const refund = stack.evotor.payback(STORES.msk.device, { baseDocumentId: sale.id });
    await stack.evotor.flush();
    await waitForCancellation(stack, o.id, 'COMPLETED');
    const resolved = await shown(key, 'resolved');
    expect(resolved.message).toContain('refunded 2490.00 RUB at the terminal');
    expect(tagged(key).log).toHaveLength(2);
    await waitForRefund(stack, 'msk', refund, 'COMPLETED');
  });

  it('a terminal receipt two orders could take is held and told (no order named: the default user)', async () => {
    const a = order(1, 101, 31);
    const b = order(1, 101, 31);
    await waitForOrderStage(stack, a.id, 'AWAITING_PAYMENT');
    await waitForOrderStage(stack, b.id, 'AWAITING_PAYMENT');
    const receipt = stack.evotor.sell(MSK_DEVICE, { items: [{ productId: '101', name: 'Product 101', price: '500.00', quantity: 1, vatRate: 0.22 }], extras: {} });
    await stack.evotor.flush();
    const id = `terminal-receipt:${STORES.msk.terminalStore}:${receipt.id}`;
    const problem = await shown(`${id}#1`, 'problem');
    expect(problem.userId).toBe(5);
    expect(problem.message).toContain(`Needs attention: SELL receipt ${receipt.id} of 500.00 RUB at msk-1`);
    expect(problem.message).toMatch(/several orders await 500\.00/);
    await stack.client.workflow.getHandle(id).executeUpdate('resolve', { args: [{ note: 'paid order by hand' }] });
    await stack.client.workflow.getHandle(id).result();
    expect((await shown(`${id}#1`, 'resolved')).message).toContain('paid order by hand');
  });

  it('a portal whose webhook lacks the im scope: the problem is still shown to support, and the workflow goes on', async () => {
    stack.bitrix.setScopes(['sale', 'catalog', 'crm']);
    try {
      stack.bitrix.setStock({ productId: 107, storeId: 1, amount: 0 });
      const o = order(1, 107, 31);
      await payAt(MSK_DEVICE, o.id);
      await waitForOrderStage(stack, o.id, 'NEEDS_ATTENTION');
      expect((await postJson(`${stack.apiUrl}/api/orders/${o.id}/resolve`, { note: 'written off by hand' }, admin())).status).toBe(200);
      expect(await stack.client.workflow.getHandle(`pos-payment:${o.id}`).result()).toMatchObject({ outcome: 'RESOLVED_BY_HAND' });
      expect(stack.bitrix.snapshot().notificationLog.filter((n) => n.tag?.startsWith(noticeTag(`pos-payment:${o.id}#`)))).toEqual([]);
    } finally {
      stack.bitrix.setScopes(null);
    }
  });
});
