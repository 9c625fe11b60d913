import { EvotorCloudClient, fiscalAttributesFromDocument } from '../activities/evotor/client';
import { cloudReceipt } from '../cross-system/reconciliation/documents';
import { toActivityFailure } from '../activities/shared/activity-errors';
import type { ExternalServiceError } from '../activities/shared/errors';
import { createProductMapper } from '../activities/evotor/product-mapper';
import type { PosConfig } from '../lib/config';
import { fixture, silentLogger, startStub, type HttpStub } from './fixtures/evotor/support';
import { caught } from './support/errors';

/**
 * Evotor cloud v2 (#12): the client works with the smallest answers the v2 reference allows — a catalog
 * without cost_price and quantity (they come only with the optional product.quantity:read scope), a page
 * without paging, a document with only the fields the flows read — and an answer without a field we read
 * fails naming its path, for good.
 */

const STORE = '20190528-92E7-4012-80D2-C5CDAF90F275';
const DEVICE = '20190528-8698-409A-8002-A0C67CCF7B3F';
const PRODUCT = '01ba18b6-8707-5f47-3d9c-4db058054cb2';
const DOC = 'd38ac944-c006-445a-b095-768bcdc6a866';

/** The product fixture as a catalog without the optional scope answers it: no cost_price, no quantity. */
function productWithoutStock(): Record<string, unknown> {
  const { cost_price: _c, quantity: _q, ...rest } = fixture<Record<string, unknown>>('product.json');
  return rest;
}

/** A SELL document with only what the flows read (reconciliation, fiscal data of the terminal's drive). */
const minimalDocument = () => ({
  id: DOC,
  type: 'SELL',
  close_date: '2026-02-10T10:48:57.000+0000',
  device_id: DEVICE,
  store_id: STORE,
  body: {
    positions: [{ product_id: PRODUCT, quantity: 1.5 }],
    payments: [{ type: 'ELECTRON', sum: 1369.35 }],
    pos_print_results: [{ fn_serial_number: '9999078900005419', fiscal_document_number: 2011, fiscal_sign_doc_number: '1834765932' }],
  },
});

const stubs: HttpStub[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

/** A client of a cloud that answers every request with `body` (200). */
async function cloudAnswering(body: unknown): Promise<EvotorCloudClient> {
  const stub = await startStub(() => ({ body }));
  stubs.push(stub);
  return new EvotorCloudClient({ apiUrl: stub.url, token: 't', appId: 'app', logger: silentLogger });
}

function expectPermanent(e: ExternalServiceError, path: string): void {
  expect(e).toMatchObject({ system: 'evotor', code: 'INVALID_RESPONSE', retryable: false });
  expect(e.message).toContain(`: ${path}: `);
  expect(toActivityFailure(e)).toMatchObject({ nonRetryable: true, type: 'evotor:INVALID_RESPONSE' });
}

const config = { products: { evotorKey: 'code', cacheTtl: '10m' } } as PosConfig;

describe('Evotor: the smallest answers do', () => {
  it('a catalog without cost_price and quantity maps terminal products to Bitrix ids (walk-ins, refunds)', async () => {
    const client = await cloudAnswering({ items: [productWithoutStock()] });
    const [product] = await client.listProducts(STORE);
    expect(product).toMatchObject({ id: PRODUCT, code: '102', price: 159050 });
    expect(product!.cost_price).toBeUndefined();
    expect(product!.quantity).toBeUndefined();
    await expect(createProductMapper(client, config)(STORE, PRODUCT)).resolves.toBe('102');
  });

  it('a product of only {id, code}: the one field the mapping reads is enough', async () => {
    const client = await cloudAnswering({ id: PRODUCT, code: '102' });
    await expect(client.getProduct(STORE, PRODUCT)).resolves.toMatchObject({ id: PRODUCT, code: '102' });
    const mapper = createProductMapper(await cloudAnswering({ items: [{ id: PRODUCT, code: 102 }] }), config);
    await expect(mapper(STORE, PRODUCT)).resolves.toBe('102');
  });

  it('a document page without paging and a document with the read fields only: the receipt and its fiscal data', async () => {
    const client = await cloudAnswering({ items: [minimalDocument()] });
    const page = await client.listDocumentsPage(STORE, { since: 0 });
    expect(page.nextCursor).toBeUndefined();
    const doc = page.items[0]!;
    expect(cloudReceipt(doc)).toMatchObject({
      type: 'SELL',
      payment: { receiptId: DOC, terminalStoreId: STORE, deviceId: DEVICE, amount: 136935, paymentSource: 'PAY_CARD', paidAt: '2026-02-10T10:48:57.000Z' },
      lines: [{ terminalProductId: PRODUCT, name: '', quantity: 1.5 }],
      fiscalPrinted: true,
    });
    expect(fiscalAttributesFromDocument(doc)).toEqual({
      source: 'terminal',
      fnNumber: '9999078900005419',
      fiscalDocumentNumber: '2011',
      fiscalSign: '1834765932',
      // Without the printed date and time, the document's close time.
      receiptDateTime: '2026-02-10T10:48:57.000Z',
    });
  });

  it('a document without a body is a receipt of nothing, not an error', async () => {
    const { body: _b, ...bare } = minimalDocument();
    const client = await cloudAnswering(bare);
    const doc = (await client.getDocument(STORE, DOC))!;
    expect(cloudReceipt(doc)).toMatchObject({ payment: { amount: 0 }, lines: [], fiscalPrinted: false });
  });

  it('a push answered with {id} only; stores and devices with {id} only', async () => {
    await expect((await cloudAnswering({ id: 'push-1' })).sendPush({ devices: [DEVICE], payload: {} })).resolves.toMatchObject({ id: 'push-1', details: [] });
    await expect((await cloudAnswering({ items: [{ id: STORE }] })).listStores()).resolves.toMatchObject([{ id: STORE }]);
    await expect((await cloudAnswering({ items: [{ id: DEVICE }] })).listDevices()).resolves.toMatchObject([{ id: DEVICE }]);
  });

  it('fields we do not read may come in any shape', async () => {
    const doc = minimalDocument();
    const odd = {
      ...doc,
      number: 'x',
      session_number: {},
      created_at: 5,
      body: {
        ...doc.body,
        positions: [{ ...doc.body.positions[0], price: 'много', sum: null, tax: 'VAT', cost_price: 100.123 }],
        payments: [{ ...doc.body.payments[0], id: 7, parts: 'none' }],
        print_groups: 3,
        customer_phone: { x: 1 },
      },
    };
    const client = await cloudAnswering(odd);
    expect(cloudReceipt((await client.getDocument(STORE, DOC))!)).toMatchObject({ lines: [{ quantity: 1.5 }], uploadedAtMs: undefined });
    const catalog = await cloudAnswering({ items: [{ id: PRODUCT, code: '102', name: 5, price: 'x', barcodes: 'none', allow_to_sell: 'yes' }] });
    await expect(catalog.listProducts(STORE)).resolves.toMatchObject([{ id: PRODUCT, code: '102', barcodes: [] }]);
  });
});

describe('Evotor: an answer without a field we read names it and is not retried', () => {
  it('a product without id', async () => {
    const { id: _id, ...rest } = productWithoutStock();
    expectPermanent(await caught((await cloudAnswering({ items: [rest] })).listProducts(STORE)), 'items.0.id');
  });

  it('a catalog page without items', async () => {
    expectPermanent(await caught((await cloudAnswering({ paging: {} })).listProducts(STORE)), 'items');
  });

  it.each(['id', 'type', 'close_date', 'device_id', 'store_id'])('a document without %s', async (field) => {
    const doc: Record<string, unknown> = minimalDocument();
    delete doc[field];
    expectPermanent(await caught((await cloudAnswering({ items: [doc] })).listDocumentsPage(STORE, { since: 0 })), `items.0.${field}`);
  });

  it('a position without quantity', async () => {
    const doc = minimalDocument();
    doc.body.positions = [{ product_id: PRODUCT } as (typeof doc.body.positions)[number]];
    expectPermanent(await caught((await cloudAnswering(doc)).getDocument(STORE, DOC)), 'body.positions.0.quantity');
  });

  it.each(['type', 'sum'] as const)('a payment without %s', async (field) => {
    const doc = minimalDocument();
    const payment: Partial<(typeof doc.body.payments)[number]> = { ...doc.body.payments[0] };
    delete payment[field];
    doc.body.payments = [payment as (typeof doc.body.payments)[number]];
    expectPermanent(await caught((await cloudAnswering(doc)).getDocument(STORE, DOC)), `body.payments.0.${field}`);
  });

  it('a push answer without id', async () => {
    expectPermanent(await caught((await cloudAnswering({ status: 'ACCEPTED' })).sendPush({ devices: [DEVICE], payload: {} })), 'id');
  });
});
