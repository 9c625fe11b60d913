import pino from 'pino';
import { BitrixClient } from '../activities/bitrix/client';
import { toActivityFailure } from '../activities/shared/activity-errors';
import type { ExternalServiceError } from '../activities/shared/errors';
import { caught } from './support/errors';
import { ScriptedServer } from './support/scripted-server';

/**
 * Bitrix REST (#12): the client works with the smallest answers — the envelope without `time`, rows with
 * only the fields the flows read (no propertyValues, measureCode, reservations, psInvoiceId, dates,
 * comments, shipmentItems) and list rows of `select` fields only — and an answer without a field we read
 * fails naming its path, for good.
 */

const fakeBitrix = () => new ScriptedServer('/rest/1/secret', (method, r) => r.path === `/${method}.json`);
const ok = (result: unknown) => ({ status: 200, json: { result } });

/** sale.order.get with only what the payment, refund and cancellation flows read. */
const minimalOrder = () => ({
  id: 236,
  accountNumber: '392',
  currency: 'RUB',
  price: '1369.35',
  statusId: 'N',
  payed: 'N',
  canceled: 'N',
  deducted: 'N',
  basketItems: [{ id: '255', productId: 10, name: 'Чайник электрический', price: 1234.5, quantity: 1, vatRate: 0.22, vatIncluded: 'Y' }],
  payments: [{ id: 123, paySystemId: 48, sum: 1369.35, paid: 'N' }],
  shipments: [{ id: 338, deliveryId: 1, deducted: 'N' }],
});
const minimalPayment = () => ({ id: 123, orderId: 236, paySystemId: 48, sum: '1369.35', paid: 'Y' });

let fake: ScriptedServer;
let client: BitrixClient;
beforeEach(async () => {
  fake = fakeBitrix();
  await fake.start();
  client = new BitrixClient({ restUrl: fake.url, maxAttempts: 1, logger: pino({ level: 'silent' }) });
});
afterEach(async () => {
  await client.close();
  await fake.stop();
});

function expectPermanent(e: ExternalServiceError, method: string, path: string): void {
  expect(e).toMatchObject({ system: 'bitrix', code: 'INVALID_RESPONSE', retryable: false });
  expect(e.message).toContain(`${method}: unexpected result shape: ${path}: `);
  expect(toActivityFailure(e)).toMatchObject({ nonRetryable: true, type: 'bitrix:INVALID_RESPONSE' });
}

describe('Bitrix: the smallest answers do', () => {
  it('sale.order.get: the snapshot every flow works from', async () => {
    fake.on('sale.order.get', ok({ order: minimalOrder() }));
    await expect(client.getOrder('236')).resolves.toEqual({
      id: '236',
      accountNumber: '392',
      currency: 'RUB',
      total: 136935,
      statusId: 'N',
      paid: false,
      canceled: false,
      deducted: false,
      items: [{ basketId: '255', productId: '10', name: 'Чайник электрический', price: 123450, quantity: 1, vatRate: 0.22, vatIncluded: true, reservations: [] }],
      payments: [{ id: '123', paySystemId: '48', sum: 136935, paid: false }],
      shipments: [{ id: '338', deliveryId: '1', deducted: false }],
      buyer: {},
    });
  });

  it('sale.payment.list and sale.order.list rows of the selected fields only', async () => {
    fake.on('sale.payment.list', ok({ payments: [minimalPayment()] })).on('sale.order.list', ok({ orders: [{ id: 236 }] }));
    await expect(client.listPayments({ orderId: 236 })).resolves.toEqual([{ id: '123', orderId: '236', paySystemId: '48', sum: 136935, paid: true }]);
    await expect(client.listOrders({ '@id': [236] }, ['id', 'canceled'])).resolves.toEqual([{ id: '236' }]);
  });

  it('writes whose echoes carry nothing we read', async () => {
    fake
      .on('sale.order.update', ok({ order: {} }))
      .on('sale.payment.update', ok({ payment: { id: 123 } }))
      .on('sale.shipment.update', ok({ shipment: { id: 338 } }))
      .on('catalog.document.add', ok({ document: { id: 12 } }))
      .on('catalog.document.element.add', ok({ documentElement: { id: 77 } }))
      .on('catalog.document.conduct', ok(true));
    await expect(client.updateOrder('236', { statusId: 'P' })).resolves.toBeUndefined();
    await expect(client.updatePayment('123', '48', { paid: true })).resolves.toBeUndefined();
    await expect(client.updateShipment('338', { allowDelivery: true, deducted: true, deliveryId: '1' })).resolves.toBeUndefined();
    await expect(client.addDocument({ docType: 'D', currency: 'RUB', responsibleId: '1' })).resolves.toBe('12');
    await expect(client.addDocumentElement({ docId: '12', elementId: '10', amount: 1 })).resolves.toBe('77');
    await expect(client.conductDocument('12')).resolves.toBeUndefined();
  });

  it('catalog.document.list rows of {id, status}; batch without result_total/next/time', async () => {
    fake
      .on('catalog.document.list', ok({ documents: [{ id: 12, status: 'Y' }] }))
      .on('batch', ok({ result: { doc: { document: { id: 12 } } }, result_error: [] }));
    await expect(client.listDocuments({ title: 't' })).resolves.toEqual([{ id: '12', status: 'Y' }]);
    await expect(client.batch({ doc: { method: 'catalog.document.add' } })).resolves.toEqual({ results: { doc: { document: { id: 12 } } }, errors: {} });
  });

  it('lists no flow reads: rows of {id}', async () => {
    fake
      .on('sale.status.list', ok({ statuses: [{ id: 'N' }] }))
      .on('catalog.store.list', ok({ stores: [{ id: 1 }] }))
      .on('catalog.storeproduct.list', ok({ storeProducts: [{ id: 5 }] }));
    await expect(client.listStatuses()).resolves.toEqual([{ id: 'N', type: '' }]);
    await expect(client.listStores()).resolves.toEqual([{ id: '1', title: '', active: true }]);
    await expect(client.listStoreProducts({})).resolves.toMatchObject([{ id: '5', quantityReserved: 0 }]);
  });

  it('fields we do not read may come in any shape', async () => {
    fake
      .on('sale.payment.list', ok({ payments: [{ ...minimalPayment(), comments: { x: 1 }, xmlId: [], payReturnDate: {} }] }))
      .on('sale.order.list', ok({ orders: [{ id: 236, dateUpdate: 5, price: 'много', statusId: 7 }] }))
      .on('catalog.document.list', ok({ documents: [{ id: 12, status: 'N', docType: 4, title: {} }] }))
      .on('sale.payment.update', ok({ payment: { id: 'not-an-id' } }));
    await expect(client.listPayments({})).resolves.toMatchObject([{ id: '123', paid: true }]);
    await expect(client.listOrders({})).resolves.toMatchObject([{ id: '236' }]);
    await expect(client.listDocuments({})).resolves.toMatchObject([{ id: '12', status: 'N' }]);
    await expect(client.updatePayment('123', '48', { paid: true })).resolves.toBeUndefined();
  });
});

describe('Bitrix: an answer without a field we read names it and is not retried', () => {
  it.each(Object.keys(minimalOrder()))('sale.order.get without order.%s', async (field) => {
    const order: Record<string, unknown> = minimalOrder();
    delete order[field];
    fake.on('sale.order.get', ok({ order }));
    expectPermanent(await caught(client.getOrder('236')), 'sale.order.get', `order.${field}`);
  });

  it.each(Object.keys(minimalOrder().basketItems[0]!))('sale.order.get without basketItems[].%s', async (field) => {
    const order = minimalOrder();
    delete (order.basketItems[0] as Record<string, unknown>)[field];
    fake.on('sale.order.get', ok({ order }));
    expectPermanent(await caught(client.getOrder('236')), 'sale.order.get', `order.basketItems.0.${field}`);
  });

  it.each(Object.keys(minimalOrder().payments[0]!))('sale.order.get without payments[].%s', async (field) => {
    const order = minimalOrder();
    delete (order.payments[0] as Record<string, unknown>)[field];
    fake.on('sale.order.get', ok({ order }));
    expectPermanent(await caught(client.getOrder('236')), 'sale.order.get', `order.payments.0.${field}`);
  });

  it.each(Object.keys(minimalOrder().shipments[0]!))('sale.order.get without shipments[].%s', async (field) => {
    const order = minimalOrder();
    delete (order.shipments[0] as Record<string, unknown>)[field];
    fake.on('sale.order.get', ok({ order }));
    expectPermanent(await caught(client.getOrder('236')), 'sale.order.get', `order.shipments.0.${field}`);
  });

  it.each(Object.keys(minimalPayment()))('sale.payment.list without payments[].%s', async (field) => {
    const payment: Record<string, unknown> = minimalPayment();
    delete payment[field];
    fake.on('sale.payment.list', ok({ payments: [payment] }));
    expectPermanent(await caught(client.listPayments({})), 'sale.payment.list', `payments.0.${field}`);
  });

  it('sale.order.list without orders[].id', async () => {
    fake.on('sale.order.list', ok({ orders: [{ canceled: 'N' }] }));
    expectPermanent(await caught(client.listOrders({})), 'sale.order.list', 'orders.0.id');
  });

  it.each(['id', 'status'])('catalog.document.list without documents[].%s', async (field) => {
    const doc: Record<string, unknown> = { id: 12, status: 'Y' };
    delete doc[field];
    fake.on('catalog.document.list', ok({ documents: [doc] }));
    expectPermanent(await caught(client.listDocuments({})), 'catalog.document.list', `documents.0.${field}`);
  });

  it.each(['result', 'result_error'])('batch without %s', async (field) => {
    const result: Record<string, unknown> = { result: {}, result_error: [] };
    delete result[field];
    fake.on('batch', ok(result));
    expectPermanent(await caught(client.batch({ a: { method: 'sale.status.list' } })), 'batch', field);
  });

  it('catalog.document.add without document.id; sale.payment.update without payment', async () => {
    fake.on('catalog.document.add', ok({ document: {} })).on('sale.payment.update', ok({}));
    expectPermanent(await caught(client.addDocument({ docType: 'D', currency: 'RUB', responsibleId: '1' })), 'catalog.document.add', 'document.id');
    expectPermanent(await caught(client.updatePayment('123', '48', { paid: true })), 'sale.payment.update', 'payment');
  });
});

describe('Bitrix: the envelope', () => {
  it('a list page whose total is not a number still pages by next', async () => {
    fake.on('sale.status.list', { status: 200, json: { result: { statuses: [{ id: 'N' }] }, total: '1' } });
    await expect(client.listStatuses()).resolves.toEqual([{ id: 'N', type: '' }]);
  });

  it('a next that is not a number is not an envelope (paging depends on it)', async () => {
    fake.on('sale.status.list', { status: 200, json: { result: { statuses: [] }, next: 'more' } });
    const e = await caught(client.listStatuses());
    expect(e).toMatchObject({ system: 'bitrix', code: 'INVALID_RESPONSE', retryable: false });
    expect(e.message).toContain('sale.status.list: unexpected envelope: next: ');
  });
});
