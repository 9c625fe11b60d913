import { BitrixClient } from '../activities/bitrix/client';
import { ExternalServiceError } from '../activities/shared/errors';
import { startBitrixSimulator, type BitrixSimulator } from '../simulators/bitrix';
import { parsePhpQuery } from '../simulators/bitrix/php-query';
import { silentLogger } from './fixtures/bitrix/helpers';

let sim: BitrixSimulator;
let client: BitrixClient;

beforeAll(async () => {
  sim = await startBitrixSimulator({ rateLimit: null, logger: silentLogger });
  client = new BitrixClient({ restUrl: sim.url, logger: silentLogger, maxAttempts: 1 });
});
beforeEach(() => sim.reset());
afterAll(async () => {
  await client.close();
  await sim.close();
});

async function raw(method: string, init: RequestInit & { query?: string } = {}) {
  const res = await fetch(`${sim.url}${method}${init.query ? `?${init.query}` : ''}`, init);
  return { status: res.status, body: JSON.parse(await res.text()) };
}

async function bitrixError(p: Promise<unknown>): Promise<ExternalServiceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ExternalServiceError) return e;
    throw e;
  }
  throw new Error('expected a Bitrix error');
}

function pickupOrder(quantity = 2, storeId = 1) {
  return sim.createOrder({
    basket: [{ productId: 348, name: 'Футболка', price: '980.50', quantity, reservations: [{ storeId, quantity }] }],
  });
}

function stockOf(productId: number, storeId = 1) {
  const row = sim.state.stock.get(`${storeId}:${productId}`);
  return { amount: row?.amount ?? 0, reserved: row?.quantityReserved ?? 0 };
}

describe('transport', () => {
  test('wrong user or webhook code → 401 NO_AUTH_FOUND', async () => {
    const res = await fetch(sim.url.replace('/simwebhookcode/', '/wrong/') + 'sale.order.list.json', { method: 'POST' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'NO_AUTH_FOUND', error_description: expect.any(String) });
  });

  test('unknown method → 404 ERROR_METHOD_NOT_FOUND; the .json suffix is optional', async () => {
    expect(await raw('sale.nothing.json', { method: 'POST' })).toEqual({
      status: 404,
      body: { error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' },
    });
    expect((await raw('catalog.document.mode.status', { method: 'POST' })).body.result).toBe('Y');
  });

  test('form-encoded bodies with PHP brackets and GET query strings are read like JSON', async () => {
    const a = pickupOrder();
    const b = pickupOrder();
    const form = await raw('sale.order.list.json', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `filter%5B%3Eid%5D=${a.id}&select[]=id&select[]=accountNumber`,
    });
    expect(form.body.result.orders).toEqual([{ id: b.id, accountNumber: b.accountNumber }]);
    const get = await raw('sale.order.get.json', { query: `id=${a.id}` });
    expect(get.body.result.order.id).toBe(a.id);
  });

  test('parsePhpQuery: nesting, appends, lists', () => {
    expect(parsePhpQuery('a[b][0][c]=1&a[b][1][c]=2&x[]=p&x[]=q&y=z%20w+v&e')).toEqual({
      a: { b: [{ c: '1' }, { c: '2' }] },
      x: ['p', 'q'],
      y: 'z w v',
      e: '',
    });
  });
});

describe('sale.order.list', () => {
  test('filter prefixes, select, order and pages of 50 with next/total', async () => {
    const orders = Array.from({ length: 120 }, (_, i) => sim.createOrder({ statusId: i % 3 === 0 ? 'F' : 'N', basket: [{ productId: 1, name: 'x', price: i + 1, quantity: 1 }] }));
    const ids = orders.map((o) => o.id);
    const list = (params: object) => client.call<{ orders: { id: number }[] }>('sale.order.list', { select: ['id'], ...params });
    const page1 = await list({});
    expect(page1.total).toBe(120);
    expect(page1.next).toBe(50);
    expect(page1.result.orders).toHaveLength(50);
    const page3 = await list({ start: 100 });
    expect(page3.next).toBeUndefined();
    expect(page3.result.orders).toHaveLength(20);
    const uncounted = await list({ start: -1 });
    expect([uncounted.total, uncounted.next, uncounted.result.orders.length]).toEqual([undefined, undefined, 50]);

    const idsOf = (filter: object, order?: object) =>
      client.listAll('sale.order.list', { select: ['id'], filter, ...(order ? { order } : {}) }, (r) =>
        (r as { orders: { id: number }[] }).orders.map((o) => o.id),
      );
    expect(await idsOf({ '>=id': ids[10], '<id': ids[13] })).toEqual(ids.slice(10, 13));
    expect(await idsOf({ '>id': ids[117], '<=id': ids[119] })).toEqual(ids.slice(118));
    expect(await idsOf({ '@id': [ids[1], ids[5]] })).toEqual([ids[1], ids[5]]);
    expect((await idsOf({ '!@id': ids.slice(2) })).sort()).toEqual(ids.slice(0, 2));
    expect(await idsOf({ '=id': ids[7] })).toEqual([ids[7]]);
    expect((await idsOf({ '!=statusId': 'N' })).length).toBe(40);
    expect((await idsOf({ statusId: 'F', '<id': ids[6] }))).toEqual([ids[0], ids[3]]);
    expect((await idsOf({ '<id': ids[3] }, { id: 'desc' }))).toEqual([ids[2], ids[1], ids[0]]);
    const priced = await client.listOrders({ '@id': [ids[4]] });
    expect(priced).toEqual([expect.objectContaining({ id: String(ids[4]), total: 500, paid: false, statusId: 'N' })]);
  });
});

describe('payments', () => {
  test('update requires paySystemId, like Bitrix; a rejected update writes nothing', async () => {
    const order = pickupOrder();
    const { status, body } = await raw('sale.payment.update.json', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: order.payments[0]!.id, fields: { paid: 'Y' } }),
    });
    expect(status).toBe(400);
    expect(body).toEqual({ error: 0, error_description: 'Required fields: paySystemId' });
    expect(sim.state.getOrder(order.id).payments[0]!.paid).toBe(false);
    const invalid = await raw('sale.payment.update.json', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: order.payments[0]!.id, fields: { paySystemId: 1, paid: 'Y', isReturn: 'X' } }),
    });
    expect(invalid.status).toBe(400);
    expect(sim.state.getOrder(order.id).payments[0]!.paid).toBe(false);
  });

  test('order payed turns Y only when every payment is paid; fields are stored', async () => {
    const order = sim.createOrder({
      basket: [{ productId: 1, name: 'x', price: '100.00', quantity: 1 }],
      payments: [{ paySystemId: 1, sum: '40.00' }, { paySystemId: 2, sum: 60 }],
    });
    const [p1, p2] = order.payments.map((p) => String(p.id));
    await client.updatePayment(p1!, '1', { paid: true, datePaid: '2026-03-02T09:00:00Z', psInvoiceId: 'evo-1', psSum: 4000, comments: 'pos' });
    expect((await client.getOrder(String(order.id))).paid).toBe(false);
    await client.updatePayment(p2!, '2', { paid: true });
    const after = await client.getOrder(String(order.id));
    expect(after.paid).toBe(true);
    const stored = sim.state.findPayment(Number(p1)).payment;
    expect(stored).toMatchObject({ paid: true, psInvoiceId: 'evo-1', psSum: 4000, comments: 'pos', datePaid: '2026-03-02T12:00:00+03:00' });
    await client.updatePayment(p2!, '2', { paid: false, isReturn: 'Y', payReturnComment: 'refund' });
    expect((await client.getOrder(String(order.id))).paid).toBe(false);
  });

  test('add and list', async () => {
    const order = pickupOrder();
    const added = await client.addPayment({ orderId: String(order.id), paySystemId: '2', sum: 12345, psInvoiceId: 'x-1' });
    expect(added).toMatchObject({ orderId: String(order.id), paySystemId: '2', sum: 12345, paid: false, psInvoiceId: 'x-1' });
    const listed = await client.listPayments({ orderId: order.id });
    expect(listed.map((p) => p.id)).toEqual([String(order.payments[0]!.id), added.id]);
    expect(sim.state.getOrder(order.id).payments[1]!.accountNumber).toBe(`${order.accountNumber}/3`);
  });
});

describe('shipments write stock off the reserved warehouse', () => {
  test('deducted Y writes off, Y again changes nothing, N returns the stock; the order flag follows', async () => {
    sim.setStock({ productId: 348, storeId: 1, amount: 10 });
    const order = pickupOrder(2);
    expect(stockOf(348)).toEqual({ amount: 10, reserved: 2 });
    const sh = { id: String(order.shipments[0]!.id), deliveryId: '1' };
    await client.updateShipment(sh.id, { allowDelivery: true, deducted: true, deliveryId: sh.deliveryId });
    expect(stockOf(348)).toEqual({ amount: 8, reserved: 0 });
    expect((await client.getOrder(String(order.id))).deducted).toBe(true);
    await client.updateShipment(sh.id, { allowDelivery: true, deducted: true, deliveryId: sh.deliveryId });
    expect(stockOf(348)).toEqual({ amount: 8, reserved: 0 });
    await client.updateShipment(sh.id, { allowDelivery: true, deducted: false, deliveryId: sh.deliveryId });
    expect(stockOf(348)).toEqual({ amount: 10, reserved: 2 });
    expect((await client.getOrder(String(order.id))).deducted).toBe(false);
    expect((await client.listStoreProducts({ productId: 348, storeId: 1 }))[0]).toMatchObject({ amount: 10, quantityReserved: 2 });
  });

  test('required fields, insufficient stock and missing reservation are errors that change nothing', async () => {
    sim.setStock({ productId: 348, storeId: 1, amount: 1 });
    const order = pickupOrder(2);
    const id = order.shipments[0]!.id;
    const missing = await bitrixError(client.call('sale.shipment.update', { id, fields: { deducted: 'Y' } }));
    expect([missing.code, missing.httpStatus, missing.message]).toEqual(['0', 400, expect.stringContaining('allowDelivery, deliveryId')]);
    const short = await bitrixError(client.updateShipment(String(id), { allowDelivery: true, deducted: true, deliveryId: '1' }));
    expect(short.retryable).toBe(false);
    expect(stockOf(348)).toEqual({ amount: 1, reserved: 2 });
    const unreserved = sim.createOrder({ basket: [{ productId: 348, name: 'x', price: 1, quantity: 1 }] });
    await expect(client.updateShipment(String(unreserved.shipments[0]!.id), { allowDelivery: true, deducted: true, deliveryId: '1' })).rejects.toThrow(/no warehouse/);
    const notFound = await bitrixError(client.updateShipment('999999', { allowDelivery: true, deducted: true, deliveryId: '1' }));
    expect(notFound.code).toBe('201140400001');
  });
});

describe('orders', () => {
  test('status must exist; a paid order cannot be cancelled; cancelling releases the reservation', async () => {
    sim.addStatus({ id: 'WP', name: 'Ожидает оплаты в ПВЗ' });
    const order = pickupOrder(3);
    await client.updateOrder(String(order.id), { statusId: 'WP' });
    expect(sim.state.getOrder(order.id).statusId).toBe('WP');
    await expect(client.updateOrder(String(order.id), { statusId: 'ZZ' })).rejects.toMatchObject({ code: '0', retryable: false });
    expect(stockOf(348).reserved).toBe(3);
    await client.updateOrder(String(order.id), { canceled: true, reasonCanceled: 'не пришёл' });
    expect(sim.state.getOrder(order.id)).toMatchObject({ canceled: true, reasonCanceled: 'не пришёл' });
    expect(stockOf(348).reserved).toBe(0);
    await client.updateOrder(String(order.id), { canceled: false });
    expect(stockOf(348).reserved).toBe(3);

    const paid = pickupOrder(1);
    await client.updatePayment(String(paid.payments[0]!.id), '1', { paid: true });
    await expect(client.updateOrder(String(paid.id), { canceled: true })).rejects.toThrow(/paid/);
    expect(sim.state.getOrder(paid.id).canceled).toBe(false);
  });

  test('order not found → 200540400001', async () => {
    await expect(client.getOrder('424242')).rejects.toMatchObject({ code: '200540400001', httpStatus: 400, retryable: false });
  });
});

describe('store documents', () => {
  async function doc(docType: 'A' | 'D' | 'M' | 'S' | 'R', lines: { elementId: string; amount: number; storeFrom?: string; storeTo?: string }[]) {
    const id = await client.addDocument({ docType, currency: 'RUB', responsibleId: '1', title: `t-${docType}` });
    for (const l of lines) await client.addDocumentElement({ docId: id, ...l });
    return id;
  }

  test('D decreases, A/S/R increase, M moves; cancel reverses', async () => {
    sim.addStore({ id: 2, title: 'ПВЗ 2' });
    sim.setStock({ productId: 5, storeId: 1, amount: 10 });
    const d = await doc('D', [{ elementId: '5', amount: 3, storeFrom: '1' }]);
    await client.conductDocument(d);
    expect(stockOf(5).amount).toBe(7);
    const a = await doc('A', [{ elementId: '5', amount: 1.5, storeTo: '2' }]);
    await client.conductDocument(a);
    expect(stockOf(5, 2).amount).toBe(1.5);
    const m = await doc('M', [{ elementId: '5', amount: 2, storeFrom: '1', storeTo: '2' }]);
    await client.conductDocument(m);
    expect([stockOf(5).amount, stockOf(5, 2).amount]).toEqual([5, 3.5]);
    await client.cancelDocument(d);
    expect(stockOf(5).amount).toBe(8);
    expect((await client.listDocuments({ id: Number(d) }))[0]!.status).toBe('C');
    await client.conductDocument(d);
    expect(stockOf(5).amount).toBe(5);
  });

  test('conducting twice, insufficient stock, adding to a conducted doc, cancelling a draft are errors', async () => {
    sim.setStock({ productId: 5, storeId: 1, amount: 2 });
    const ok = await doc('D', [{ elementId: '5', amount: 2, storeFrom: '1' }]);
    await client.conductDocument(ok);
    await expect(client.conductDocument(ok)).rejects.toMatchObject({ code: '0', httpStatus: 400, retryable: false });
    expect(stockOf(5).amount).toBe(0);
    const tooMuch = await doc('D', [{ elementId: '5', amount: 1, storeFrom: '1' }]);
    await expect(client.conductDocument(tooMuch)).rejects.toThrow(/insufficient/);
    await expect(client.addDocumentElement({ docId: ok, elementId: '5', amount: 1, storeFrom: '1' })).rejects.toMatchObject({ code: 'ERROR_DOCUMENT_STATUS' });
    await expect(client.cancelDocument(tooMuch)).rejects.toThrow(/not been conducted/);
  });

  test('with inventory accounting off, documents cannot be conducted', async () => {
    sim.setInventoryAccounting(false);
    expect(await client.documentModeStatus()).toBe(false);
    const d = await doc('A', [{ elementId: '5', amount: 1, storeTo: '1' }]);
    await expect(client.conductDocument(d)).rejects.toThrow(/Warehouse accounting/);
  });
});

describe('batch', () => {
  test('$result references, one request for the lot, inner commands counted separately', async () => {
    sim.setStock({ productId: 5, storeId: 1, amount: 4 });
    const out = await client.batch({
      doc: { method: 'catalog.document.add', params: { fields: { docType: 'D', currency: 'RUB', responsibleId: 1, title: 'r-1' } } },
      l0: { method: 'catalog.document.element.add', params: { fields: { docId: '$result[doc][document][id]', elementId: 5, storeFrom: 1, amount: 3 } } },
      go: { method: 'catalog.document.conduct', params: { id: '$result[doc][document][id]' } },
    });
    expect(out.errors).toEqual({});
    expect(out.results.go).toBe(true);
    expect(stockOf(5).amount).toBe(1);
    const counts = sim.requestCounts();
    expect(counts.total).toBe(1);
    expect(counts.byMethod).toEqual({ batch: 1, 'batch:catalog.document.add': 1, 'batch:catalog.document.element.add': 1, 'batch:catalog.document.conduct': 1 });
  });

  test('halt stops at the first error; without halt the rest still run', async () => {
    const cmds = {
      bad: { method: 'sale.order.get', params: { id: 1 } },
      good: { method: 'catalog.document.mode.status' },
    };
    const halted = await client.batch(cmds, { halt: true });
    expect([Object.keys(halted.results), Object.keys(halted.errors)]).toEqual([[], ['bad']]);
    expect(halted.errors.bad).toEqual({ error: '200540400001', error_description: 'order does not exist' });
    const all = await client.batch(cmds);
    expect(all.results).toEqual({ good: 'Y' });
  });

  test('no nesting, at most 50 commands', async () => {
    const nested = await client.batch({ inner: { method: 'batch', params: { cmd: { a: 'catalog.document.mode.status' } } } });
    expect(nested.errors.inner!.error).toBe('ERROR_BATCH_METHOD_NOT_ALLOWED');
    const cmd = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`c${i}`, 'catalog.document.mode.status']));
    await expect(client.call('batch', { cmd })).rejects.toMatchObject({ code: 'ERROR_BATCH_LENGTH_EXCEEDED', retryable: false });
  });
});

describe('events, CRM and admin API', () => {
  test('event.bind / event.get / event.unbind', async () => {
    await client.call('event.bind', { event: 'OnSaleOrderSaved', handler: 'http://127.0.0.1:9/hook' });
    await expect(client.call('event.bind', { event: 'OnSaleOrderSaved', handler: 'http://127.0.0.1:9/hook' })).rejects.toBeInstanceOf(ExternalServiceError);
    expect((await client.call('event.get')).result).toEqual([expect.objectContaining({ event: 'ONSALEORDERSAVED', handler: 'http://127.0.0.1:9/hook' })]);
    expect((await client.call('event.unbind', { event: 'OnSaleOrderSaved', handler: 'http://127.0.0.1:9/hook' })).result).toEqual({ count: 1 });
  });

  test('deal stage through crm.deal.update and crm.item.update; orders linked through crm.orderentity.list', async () => {
    const order = pickupOrder();
    const deal = sim.addDeal({ stageId: 'NEW', orderIds: [order.id] });
    await client.call('crm.deal.update', { id: deal.id, fields: { STAGE_ID: 'PREPAYMENT_INVOICE' } });
    expect(sim.state.deals.get(deal.id)!.stageId).toBe('PREPAYMENT_INVOICE');
    await client.call('crm.item.update', { entityTypeId: 2, id: deal.id, fields: { stageId: 'WON' } });
    expect(sim.state.deals.get(deal.id)!.stageId).toBe('WON');
    const links = await client.call<{ orderEntity: unknown[] }>('crm.orderentity.list', { filter: { orderId: order.id } });
    expect(links.result.orderEntity).toEqual([{ orderId: order.id, ownerId: deal.id, ownerTypeId: 2 }]);
  });

  test('admin endpoints create state and report it', async () => {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${sim.adminUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: JSON.parse(await res.text()) };
    };
    expect((await post('/stores', { id: 7, title: 'ПВЗ Арбат' })).status).toBe(200);
    await post('/stock', [{ productId: 9, storeId: 7, amount: 4 }]);
    await post('/statuses', { id: 'WP', type: 'O', name: 'Ждёт оплаты' });
    await post('/paysystems', { id: 48, name: 'Терминал' });
    const created = await post('/orders', {
      accountNumber: 'A-1',
      statusId: 'WP',
      basket: [{ productId: 9, name: 'Товар', price: '10.10', quantity: 2, vatRate: 0.22, reservations: [{ storeId: 7, quantity: 2 }] }],
      payments: [{ paySystemId: 48 }],
      propertyValues: [{ code: 'EMAIL', value: 'b@example.com' }],
    });
    expect(created.body.order).toMatchObject({ accountNumber: 'A-1', statusId: 'WP', price: 20.2 });
    expect((await post('/orders', { basket: [] })).status).toBe(400);
    const getJson = async (path: string) => JSON.parse(await (await fetch(`${sim.adminUrl}${path}`)).text());
    const state = await getJson('/state');
    expect(state.orders).toHaveLength(1);
    expect(state.orders[0].payments[0]).toMatchObject({ sum: 2020, paySystemId: 48 });
    expect(state.stock).toEqual(expect.arrayContaining([expect.objectContaining({ productId: 9, storeId: 7, amount: 4, quantityReserved: 2 })]));
    await client.getOrder(String(created.body.order.id));
    const requests = await getJson('/requests');
    expect(requests).toMatchObject({ total: 1, byMethod: { 'sale.order.get': 1 }, rateLimited: 0 });
    await post('/reset', {});
    expect((await getJson('/state')).orders).toEqual([]);
  });
});
