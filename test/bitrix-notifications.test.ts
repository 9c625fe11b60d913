import { ApplicationFailure } from '@temporalio/common';
import { BitrixClient } from '../activities/bitrix/client';
import { createNotificationActivities } from '../activities/bitrix/notifications';
import { ExternalServiceError } from '../activities/shared/errors';
import { noticeTag, noticeText, type ProblemNotice } from '../domain/notifications';
import { parsePosConfig } from '../lib/config';
import { startBitrixSimulator, type BitrixSimulator } from '../simulators/bitrix';
import { silentLogger } from './fixtures/bitrix/helpers';

const CONFIG = `
bitrix:
  posPaySystemIds: ["10"]
  statuses: { awaitingPayment: WP, paid: P }
  notifications: { userId: "5", dealTimeline: true }
stores:
  - { id: msk-1, name: M, bitrixStoreId: "1", evotorStoreId: e1, notifications: {} }
  - { id: spb-2, name: S, bitrixStoreId: "2", evotorStoreId: e2, notifications: { userId: "77" } }
  - { id: ekb-3, name: E, bitrixStoreId: "3", evotorStoreId: e3, notifications: { enabled: false } }
  - { id: nsk-4, name: N, bitrixStoreId: "4", evotorStoreId: e4 }
`;

const notice = (over: Partial<ProblemNotice> = {}): ProblemNotice => ({
  key: 'pos-payment:42#1',
  event: 'problem',
  workflowId: 'pos-payment:42',
  runId: 'run-1',
  subject: 'Order 1042 (Bitrix id 42)',
  orderId: '42',
  storeId: 'msk-1',
  step: 'deduct stock',
  message: 'Insufficient quantity of product 104 at warehouse 1',
  action: 'Check stock at the pickup warehouse in Bitrix, then retry.',
  ...over,
});

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

describe('Bitrix simulator: system notifications, timeline comments, scopes', () => {
  let sim: BitrixSimulator;
  let client: BitrixClient;
  beforeEach(async () => {
    sim = await startBitrixSimulator({ logger: silentLogger, rateLimit: null });
    client = new BitrixClient({ restUrl: sim.url, logger: silentLogger, maxAttempts: 1 });
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  test('im.notify.system.add: a repeated TAG replaces the older notification, without TAG each call adds one', async () => {
    const a = await client.call('im.notify.system.add', { USER_ID: 7, MESSAGE: 'one', TAG: 'T1' });
    const b = await client.call('im.notify.system.add', { USER_ID: 7, MESSAGE: 'two', TAG: 'T1', SUB_TAG: 'x' });
    expect(typeof a.result).toBe('number');
    expect(b.result).not.toBe(a.result);
    await client.call('im.notify.system.add', { USER_ID: 7, MESSAGE: 'plain' });
    await client.call('im.notify.system.add', { USER_ID: 7, MESSAGE: 'plain' });
    const now = sim.snapshot().notifications;
    expect(now.filter((n) => n.tag === 'T1').map((n) => n.message)).toEqual(['two']);
    expect(now.filter((n) => n.tag === undefined)).toHaveLength(2);
    expect(sim.snapshot().notificationLog).toHaveLength(4);
    const empty = (await failure(client.call('im.notify.system.add', { MESSAGE: 'x' }))) as ExternalServiceError;
    expect([empty.code, empty.retryable]).toEqual(['USER_ID_EMPTY', false]);
    expect(((await failure(client.call('im.notify.system.add', { USER_ID: 7, MESSAGE: ' ' }))) as ExternalServiceError).code).toBe('MESSAGE_EMPTY');
  });

  test('a webhook without the im scope gets 403 insufficient_scope, also inside a batch; nothing is added', async () => {
    sim.setScopes(['sale', 'catalog', 'crm']);
    const e = (await failure(client.call('im.notify.system.add', { USER_ID: 7, MESSAGE: 'x' }))) as ExternalServiceError;
    expect([e.code, e.httpStatus, e.retryable]).toEqual(['insufficient_scope', 403, false]);
    const batch = await client.batch({ n: { method: 'im.notify.system.add', params: { USER_ID: 7, MESSAGE: 'x' } } });
    expect(batch.errors.n?.error).toBe('insufficient_scope');
    expect(sim.snapshot().notificationLog).toHaveLength(0);
    await expect(client.call('crm.orderentity.list', {})).resolves.toBeDefined();
  });

  test('crm.timeline.comment.add / .list on a deal (lower-case fields only, as since crm 23.100.0)', async () => {
    const deal = sim.addDeal({ orderIds: [42] });
    const { result: id } = await client.call('crm.timeline.comment.add', { fields: { ENTITY_ID: deal.id, ENTITY_TYPE: 'deal', COMMENT: 'hello' } });
    expect(typeof id).toBe('number');
    expect(((await failure(client.call('crm.timeline.comment.add', { FIELDS: { ENTITY_ID: deal.id, ENTITY_TYPE: 'deal', COMMENT: 'x' } }))) as ExternalServiceError).retryable).toBe(false);
    expect(((await failure(client.call('crm.timeline.comment.add', { fields: { ENTITY_ID: 999, ENTITY_TYPE: 'deal', COMMENT: 'x' } }))) as ExternalServiceError).code).toBe('NOT_FOUND');
    const list = await client.call<{ ID: string; COMMENT: string }[]>('crm.timeline.comment.list', { filter: { ENTITY_ID: deal.id, ENTITY_TYPE: 'deal' } });
    expect(list.result).toEqual([expect.objectContaining({ ID: String(id), COMMENT: 'hello', ENTITY_TYPE: 'deal' })]);
  });

  describe('notifyProblem (the activity)', () => {
    const activities = () =>
      createNotificationActivities({ client, config: parsePosConfig(CONFIG, 'yaml'), portalUrl: 'https://shop.example.ru', webUiUrl: 'https://ui.example.ru/', namespace: 'prod', logger: silentLogger });

    test('the order’s responsible manager gets what happened, what to do and both links; a repeat replaces it', async () => {
      const order = sim.createOrder({ responsibleId: 31, basket: [{ productId: 1, name: 'P', price: '1.00', quantity: 1 }] });
      const { notifyProblem } = activities();
      const sent = await notifyProblem(notice({ orderId: String(order.id) }));
      expect(sent).toMatchObject({ outcome: 'sent', userId: '31' });
      await notifyProblem(notice({ orderId: String(order.id) }));
      const now = sim.snapshot().notifications;
      expect(now).toHaveLength(1);
      expect(now[0]).toMatchObject({ userId: 31, tag: noticeTag('pos-payment:42#1'), subTag: 'problem' });
      expect(now[0]!.message).toContain('Needs attention: Order 1042 (Bitrix id 42)');
      expect(now[0]!.message).toContain('What to do: Check stock at the pickup warehouse in Bitrix, then retry.');
      expect(now[0]!.message).toContain(`[URL=https://shop.example.ru/shop/orders/details/${order.id}/]`);
      expect(now[0]!.message).toContain('[URL=https://ui.example.ru/namespaces/prod/workflows/pos-payment%3A42/run-1/history]');
      expect(sim.snapshot().notificationLog).toHaveLength(2);
    });

    test('whom: the store’s user over the responsible; the default user for an order without one; a store switched off: nobody', async () => {
      const order = sim.createOrder({ responsibleId: 31, basket: [{ productId: 1, name: 'P', price: '1.00', quantity: 1 }] });
      const orphan = sim.createOrder({ basket: [{ productId: 1, name: 'P', price: '1.00', quantity: 1 }] });
      const { notifyProblem } = activities();
      expect(await notifyProblem(notice({ key: 'a#1', orderId: String(order.id), storeId: 'spb-2' }))).toMatchObject({ userId: '77' });
      expect(await notifyProblem(notice({ key: 'b#1', orderId: String(orphan.id), storeId: 'msk-1' }))).toMatchObject({ userId: '5' });
      expect(await notifyProblem(notice({ key: 'c#1', orderId: undefined, storeId: 'nsk-4' }))).toMatchObject({ userId: '5' });
      expect(await notifyProblem(notice({ key: 'd#1', orderId: String(order.id), storeId: 'ekb-3' }))).toEqual({ outcome: 'disabled' });
      const off = createNotificationActivities({ client, config: parsePosConfig(CONFIG.replace('notifications: { userId: "5", dealTimeline: true }', ''), 'yaml'), namespace: 'prod' });
      expect(await off.notifyProblem(notice({ key: 'e#1', storeId: 'nsk-4' }))).toEqual({ outcome: 'disabled' });
      expect(sim.snapshot().notifications.map((n) => n.userId).sort()).toEqual([5, 5, 77]);
    });

    test('the deals linked to the order get one timeline comment per notice, also when the call is repeated', async () => {
      const order = sim.createOrder({ responsibleId: 31, basket: [{ productId: 1, name: 'P', price: '1.00', quantity: 1 }] });
      const deal = sim.addDeal({ orderIds: [order.id] });
      const { notifyProblem, commentProblemOnDeals } = activities();
      expect(await notifyProblem(notice({ orderId: String(order.id) }))).toMatchObject({ outcome: 'sent', dealTimeline: true });
      expect(await notifyProblem(notice({ orderId: undefined, storeId: 'spb-2' }))).toMatchObject({ outcome: 'sent', dealTimeline: false });
      expect(await commentProblemOnDeals(notice({ orderId: String(order.id) }))).toEqual({ dealIds: [String(deal.id)] });
      expect(await commentProblemOnDeals(notice({ orderId: String(order.id) }))).toEqual({ dealIds: [] });
      await commentProblemOnDeals(notice({ orderId: String(order.id), event: 'resolved', resolution: 'stock put in, retried' }));
      const comments = sim.snapshot().timelineComments.filter((c) => c.entityId === deal.id);
      expect(comments).toHaveLength(2);
      expect(comments[0]!.comment).toContain('[pos-bridge pos-payment:42#1 problem]');
      expect(comments[1]!.comment).toContain('Resolved: Order 1042 (Bitrix id 42)');
      expect(comments[1]!.comment).toContain('stock put in, retried');
    });

    test('without the im scope the activity fails for good (no retry can help), naming the error', async () => {
      sim.setScopes(['sale', 'catalog', 'crm']);
      const e = await failure(activities().notifyProblem(notice({ orderId: undefined, storeId: 'spb-2' })));
      expect(e).toBeInstanceOf(ApplicationFailure);
      expect(e).toMatchObject({ type: 'bitrix:insufficient_scope', nonRetryable: true });
    });
  });

  test('a long workflow id still gives each problem its own tag', () => {
    const id = `refund:${'s'.repeat(128)}:${'r'.repeat(128)}`;
    const [one, two] = [noticeTag(`${id}#1`), noticeTag(`${id}#2`)];
    expect(one.length).toBeLessThanOrEqual(200);
    expect(one).not.toBe(two);
    expect(two.endsWith('#2')).toBe(true);
  });

  test('the text has no line the manager cannot act on: links only when known', () => {
    const text = noticeText(notice({ orderId: undefined, event: 'resolved', resolution: 'written off by hand' }), {});
    expect(text).toBe('[B]Resolved: Order 1042 (Bitrix id 42)[/B]\nThe problem in "deduct stock" is closed: written off by hand');
  });
});
