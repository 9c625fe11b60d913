import { EvotorCloudClient, bitrixProductIdOf, type EvotorProduct } from '../activities/evotor/client';
import { EvotorReceiptWebhookSchema, type EvotorReceiptWebhook } from '../activities/evotor/webhook';
import { startEvotorSimulator, type EvotorSimulator } from '../simulators/evotor/simulator';
import { fixture, http, sampleOrderPayload, shapeDiff, silentLogger, startReceiver, startStub, type HttpStub } from './fixtures/evotor/support';

/**
 * Store product catalogs of the Evotor cloud (REST v2 GET /stores/{id}/products[/{productId}]) in the
 * simulator and the client. A catalog sync puts the Bitrix product id into a product's `code`; the
 * terminal sells catalog products, so a receipt's items carry the Evotor product uuid, never our id.
 * The fixtures products-page-*.json and product.json are hand-written from developer.evotor.ru's v2
 * product reference and the cloud SDK's product model (they do not come from the simulator).
 */

const TOKEN = 'sim-cloud-token';
const APP_ID = 'a4f2c3d1-0b6e-4f4a-9d7c-2e8b1c5f3a90';
const STORE = '20190528-92E7-4012-80D2-C5CDAF90F275';
const OTHER_STORE = 'S-2';
const DEVICE = '20190528-8698-409A-8002-A0C67CCF7B3F';
const auth = { authorization: `Bearer ${TOKEN}` };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let sim: EvotorSimulator;
let receiver: HttpStub;
let client: EvotorCloudClient;

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await startEvotorSimulator({
    token: TOKEN,
    appId: APP_ID,
    pageSize: 2,
    stores: [{ id: STORE, name: 'Пункт выдачи' }, { id: OTHER_STORE }],
    devices: [{ id: DEVICE, storeId: STORE }],
    webhook: { url: receiver.url, token: 'hook', retryDelayMs: 10 },
    logger: silentLogger,
  });
  client = new EvotorCloudClient({ apiUrl: sim.url, token: TOKEN, appId: APP_ID, logger: silentLogger });
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});
beforeEach(() => {
  sim.reset();
  receiver.requests.length = 0;
});

const catalogOf = (storeId = STORE) => sim.state.products[storeId] ?? [];

async function webhooks(): Promise<EvotorReceiptWebhook[]> {
  await sim.flush();
  return receiver.requests.map((r) => EvotorReceiptWebhookSchema.parse(JSON.parse(r.body)));
}

describe('catalog and paging', () => {
  test('admin POST adds products with a fresh uuid each, unless one is given', async () => {
    const res = await http('POST', `${sim.url}/_admin/stores/${STORE}/products`, {
      body: [
        { name: 'Кофемолка ручная', code: '101', price: '2490.00', vatRate: 0.22 },
        { id: 'f1a2b3c4-0000-4000-8000-000000000001', name: 'Кофе в зёрнах 1 кг', code: 102, article_number: '102', price: 1590.5 },
      ],
    });
    expect(res.status).toBe(201);
    const [a, b] = res.json.items;
    expect(a).toEqual(expect.objectContaining({ name: 'Кофемолка ручная', code: '101', price: 2490, tax: 'VAT_22', type: 'NORMAL', store_id: STORE }));
    expect(a.id).toMatch(UUID);
    expect(b).toEqual(expect.objectContaining({ id: 'f1a2b3c4-0000-4000-8000-000000000001', code: '102', article_number: '102' }));
    expect(catalogOf().map((p) => p.id).sort()).toEqual([a.id, b.id].sort());

    // { items: [...] } works too; a known id replaces that product.
    const again = await http('POST', `${sim.url}/_admin/stores/${STORE}/products`, {
      body: { items: [{ id: b.id, name: 'Кофе в зёрнах 1 кг', code: '102', price: '1490.00' }] },
    });
    expect(again.status).toBe(201);
    expect(catalogOf()).toHaveLength(2);
    expect((await client.getProduct(STORE, b.id))!.price).toBe(149_000);
  });

  test('admin input errors: 400 changes nothing; an unknown store is 404', async () => {
    const bad = await http('POST', `${sim.url}/_admin/stores/${STORE}/products`, { body: [{ name: 'ok', code: '1' }, { code: '2' }] });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/products\[1\]\.name/);
    expect((await http('POST', `${sim.url}/_admin/stores/${STORE}/products`, { body: [{ name: 'x', price: '1.005' }] })).status).toBe(400);
    expect((await http('POST', `${sim.url}/_admin/stores/${STORE}/products`, { body: { nothing: true } })).status).toBe(400);
    expect(catalogOf()).toEqual([]);
    expect((await http('POST', `${sim.url}/_admin/stores/nope/products`, { body: [{ name: 'x' }] })).status).toBe(404);
    expect(() => sim.addProducts('nope', [{ name: 'x' }])).toThrow(/not found/);
  });

  test('GET /stores/:id/products pages with next_cursor like documents; the client collects every page', async () => {
    const added = sim.addProducts(STORE, Array.from({ length: 5 }, (_, i) => ({ name: `Товар ${i}`, code: String(200 + i), price: `${100 + i}.50` })));
    sim.addProducts(OTHER_STORE, [{ name: 'Чужой товар', code: '1', price: 1 }]);

    const first = await http('GET', `${sim.url}/stores/${STORE}/products`, { headers: auth });
    expect(first.status).toBe(200);
    expect(first.json.items).toHaveLength(2);
    expect(typeof first.json.paging.next_cursor).toBe('string');
    const seen = [...first.json.items];
    let page = first;
    while (page.json.paging.next_cursor) {
      page = await http('GET', `${sim.url}/stores/${STORE}/products?cursor=${encodeURIComponent(page.json.paging.next_cursor)}`, { headers: auth });
      expect(page.status).toBe(200);
      seen.push(...page.json.items);
    }
    expect(page.json.paging).toEqual({});
    expect(seen.map((p) => p.id).sort()).toEqual(added.map((p) => p.id).sort());

    const products = await client.listProducts(STORE);
    expect(products.map((p) => p.id)).toEqual(seen.map((p) => p.id));
    expect(products.find((p) => p.code === '203')).toEqual(expect.objectContaining({ name: 'Товар 3', price: 10_350, cost_price: 0, quantity: 0 }));
    expect((await client.listProducts(OTHER_STORE)).map((p) => p.name)).toEqual(['Чужой товар']);
  });

  test('a cursor works only for the products of the store that issued it', async () => {
    sim.addProducts(STORE, Array.from({ length: 3 }, (_, i) => ({ name: `Товар ${i}`, code: String(i), price: 1 })));
    const first = await http('GET', `${sim.url}/stores/${STORE}/products`, { headers: auth });
    const cursor = encodeURIComponent(first.json.paging.next_cursor);
    expect((await http('GET', `${sim.url}/stores/${OTHER_STORE}/products?cursor=${cursor}`, { headers: auth })).status).toBe(400);
    expect((await http('GET', `${sim.url}/stores/${STORE}/documents?cursor=${cursor}`, { headers: auth })).status).toBe(400);
    expect((await http('GET', `${sim.url}/stores/${STORE}/products?cursor=garbage`, { headers: auth })).status).toBe(400);
  });

  test('reset() empties what was added; stores[].products seeds a catalog at start and after reset', async () => {
    sim.addProducts(STORE, [{ name: 'x', code: '1' }]);
    sim.reset();
    expect(catalogOf()).toEqual([]);

    const seeded = await startEvotorSimulator({
      token: TOKEN,
      stores: [{ id: STORE, products: [{ id: '0b8c0f5e-1111-4222-8333-944455556666', name: 'Кофемолка ручная', code: '101', price: '2490.00' }] }],
      logger: silentLogger,
    });
    try {
      const c = new EvotorCloudClient({ apiUrl: seeded.url, token: TOKEN, logger: silentLogger });
      expect((await c.listProducts(STORE)).map((p) => [p.id, p.code, p.price])).toEqual([['0b8c0f5e-1111-4222-8333-944455556666', '101', 249_000]]);
      seeded.addProducts(STORE, [{ name: 'y' }]);
      seeded.reset();
      expect((await c.listProducts(STORE)).map((p) => p.code)).toEqual(['101']);
    } finally {
      await seeded.close();
    }
  });
});

describe('auth, 404 and rate limit', () => {
  test.each(['/products', '/products/some-id'])('GET /stores/:id%s needs the bearer token', async (suffix) => {
    const path = `${sim.url}/stores/${STORE}${suffix}`;
    const none = await http('GET', path);
    expect(none.status).toBe(401);
    expect(none.headers['x-ratelimit-limit']).toBeDefined();
    expect((await http('GET', path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await http('GET', `${sim.url}/stores/${STORE}/products`, { headers: { 'x-authorization': TOKEN } })).status).toBe(200);
  });

  test('the client with a wrong token gets a non-retryable 401', async () => {
    const wrong = new EvotorCloudClient({ apiUrl: sim.url, token: 'wrong', logger: silentLogger });
    await expect(wrong.listProducts(STORE)).rejects.toMatchObject({ system: 'evotor', httpStatus: 401, retryable: false });
    await expect(wrong.getProduct(STORE, 'x')).rejects.toMatchObject({ httpStatus: 401, retryable: false });
  });

  test('an unknown product is 404 (getProduct: null); an unknown store is 404 too', async () => {
    const [p] = sim.addProducts(STORE, [{ name: 'Кофемолка ручная', code: '101', price: '2490.00' }]);
    const missing = await http('GET', `${sim.url}/stores/${STORE}/products/00000000-0000-4000-8000-000000000000`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ code: 'NOT_FOUND', message: expect.any(String) });
    expect(await client.getProduct(STORE, '00000000-0000-4000-8000-000000000000')).toBeNull();
    // A product of one store is not found in another.
    expect(await client.getProduct(OTHER_STORE, String(p!.id))).toBeNull();
    expect((await http('GET', `${sim.url}/stores/nope/products`, { headers: auth })).status).toBe(404);
    await expect(client.listProducts('nope')).rejects.toMatchObject({ httpStatus: 404, retryable: false });
  });

  test('products calls count against the same rate limit as the rest, and faults reach them', async () => {
    const limited = await startEvotorSimulator({ token: TOKEN, rateLimit: { limit: 2, windowMs: 60_000 }, logger: silentLogger });
    try {
      const store = limited.state.stores[0]!.id;
      const statuses = [];
      statuses.push((await http('GET', `${limited.url}/stores`, { headers: auth })).status);
      const products = await http('GET', `${limited.url}/stores/${store}/products`, { headers: auth });
      statuses.push(products.status);
      expect(products.headers['x-ratelimit-remaining']).toBe('0');
      const over = await http('GET', `${limited.url}/stores/${store}/products/x`, { headers: auth });
      statuses.push(over.status);
      expect(statuses).toEqual([200, 200, 429]);
      expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }

    sim.setFaults({ failNext: 1, errorStatus: 503, path: '/stores/*/products' });
    await expect(client.listProducts(STORE)).rejects.toMatchObject({ httpStatus: 503, retryable: true });
    expect(await client.listProducts(STORE)).toEqual([]);
  });
});

describe('receipts ring catalog products', () => {
  test('the webhook item id is the Evotor uuid of the product whose code is the Bitrix product id', async () => {
    const [coffee] = sim.addProducts(STORE, [
      { name: 'Кофемолка ручная', code: '101', articleNumber: 'KM-101', price: '2490.00', barcodes: ['4601234567893'], vatRate: 0.22 },
      { name: 'Кофе в зёрнах 1 кг', code: '102', price: '1590.50', vatRate: 0.22 },
    ]);
    const sale = sim.sell(DEVICE, { items: [{ productId: '101', name: 'Кофемолка ручная', price: '2490.00', quantity: 1, vatRate: 0.22 }] });

    const [event] = await webhooks();
    const itemId = event!.data.items[0]!.id!;
    expect(itemId).toBe(coffee!.id);
    expect(itemId).not.toBe('101');
    const product = (await client.getProduct(STORE, itemId))!;
    expect(bitrixProductIdOf(product, 'code')).toBe('101');
    expect(bitrixProductIdOf(product, 'article_number')).toBe('KM-101');
    expect(product.barcodes).toEqual(['4601234567893']);

    // The cloud document's position: product_id is the uuid, code the product's code.
    const doc = (await client.getDocument(STORE, sale.id))!;
    expect(doc.body.positions.map((p) => [p.product_id, p.code])).toEqual([[coffee!.id, '101']]);
    // Nothing was added to the catalog.
    expect(catalogOf()).toHaveLength(2);
  });

  test('a product the catalog lacks is created on the fly: fresh uuid, code = productId, article_number = ART-<productId>', async () => {
    sim.addProducts(STORE, [{ name: 'Другой товар', code: '1', price: 1 }]);
    const sale = sim.sell(DEVICE, {
      items: [
        { productId: '555', name: 'Турка медная', price: '1250.00', quantity: 1, vatRate: 0.22, measureName: 'шт' },
        { productId: '555', name: 'Турка медная', price: '1250.00', quantity: 1, vatRate: 0.22 },
        { name: 'Пакет', price: '5.00', quantity: 1 },
      ],
    });
    const created = catalogOf().filter((p) => p.code === '555');
    expect(created).toHaveLength(1);
    expect(created[0]).toEqual(
      expect.objectContaining({ code: '555', article_number: 'ART-555', name: 'Турка медная', price: 1250, tax: 'VAT_22', type: 'NORMAL', measure_name: 'шт', allow_to_sell: true }),
    );
    expect(String(created[0]!.id)).toMatch(UUID);
    expect(catalogOf()).toHaveLength(2); // the free-price line created nothing

    const [event] = await webhooks();
    expect(event!.data.items.map((i) => i.id)).toEqual([created[0]!.id, created[0]!.id, expect.stringMatching(UUID)]);
    expect(event!.data.items[2]!.id).not.toBe(created[0]!.id);
    const doc = (await client.getDocument(STORE, sale.id))!;
    expect(doc.body.positions.map((p) => [p.product_id, p.code])).toEqual([
      [created[0]!.id, '555'],
      [created[0]!.id, '555'],
      [undefined, undefined],
    ]);

    // The next sale of the same Bitrix product finds it in the catalog.
    sim.sell(DEVICE, { items: [{ productId: '555', name: 'Турка', price: '1100.00', quantity: 2, vatRate: 0.22 }] });
    expect(catalogOf().filter((p) => p.code === '555')).toHaveLength(1);
    const events = await webhooks();
    expect(events[1]!.data.items[0]!.id).toBe(created[0]!.id);

    const fetched = (await client.getProduct(STORE, String(created[0]!.id)))!;
    expect([fetched.code, fetched.article_number, fetched.price]).toEqual(['555', 'ART-555', 125_000]);
  });

  test('a receipt that cannot be rung creates no product', async () => {
    const bad = await http('POST', `${sim.url}/_admin/devices/${DEVICE}/sell`, { body: { items: [{ productId: '777', name: 'x', price: '10.00', quantity: 0 }] } });
    expect(bad.status).toBe(400);
    expect(catalogOf()).toEqual([]);
  });

  test('pay-push and payback: the order items ring as catalog products, the refund carries the same uuids', async () => {
    const [kettle] = sim.addProducts(STORE, [{ name: 'Чайник электрический', code: '10', price: '1234.50', vatRate: 0.22 }]);
    await client.sendPush({
      devices: [DEVICE],
      payload: sampleOrderPayload,
    });
    const sale = sim.payPush(DEVICE);
    const sugar = catalogOf().find((p) => p.code === '27')!;
    expect(sugar).toEqual(expect.objectContaining({ article_number: 'ART-27', tax: 'NO_VAT', price: 89.9 }));

    const refund = sim.payback(DEVICE, { baseDocumentId: sale.id });
    const partial = sim.payback(DEVICE, { baseDocumentId: sale.id, items: [{ productId: '27', name: 'Сахар весовой', price: '89.90', quantity: 0.5, vatRate: null }] });
    const events = await webhooks();
    expect(events.map((e) => [e.data.type, e.data.items.map((i) => i.id)])).toEqual([
      ['SELL', [kettle!.id, sugar.id]],
      ['PAYBACK', [kettle!.id, sugar.id]],
      ['PAYBACK', [sugar.id]],
    ]);
    const doc = (await client.getDocument(STORE, refund.id))!;
    expect(doc.body.positions.map((p) => p.product_id)).toEqual([kettle!.id, sugar.id]);
    expect((await client.getDocument(STORE, partial.id))!.body.base_document_id).toBe(sale.id);
    expect(catalogOf()).toHaveLength(2);
  });
});

describe('fixtures from the real docs', () => {
  let stub: HttpStub;
  let stubClient: EvotorCloudClient;
  const single = fixture<Record<string, unknown>>('product.json');

  beforeAll(async () => {
    stub = await startStub((req) => {
      if (req.path === `/stores/${STORE}/products`) return { body: fixture(req.query.has('cursor') ? 'products-page-2.json' : 'products-page-1.json') };
      if (req.path === `/stores/${STORE}/products/${String(single.id)}`) return { body: single };
      return { status: 404, body: { code: 'NOT_FOUND', message: 'not found' } };
    });
    stubClient = new EvotorCloudClient({ apiUrl: stub.url, token: TOKEN, logger: silentLogger });
  });
  afterAll(() => stub.close());

  test('the client follows next_cursor, sends only the cursor after the first page, and reads money in kopecks', async () => {
    const before = stub.requests.length;
    const products = await stubClient.listProducts(STORE);
    const [first, second] = stub.requests.slice(before);
    expect([...first!.query.keys()]).toEqual([]);
    expect(second!.query.get('cursor')).toBe(fixture<{ paging: { next_cursor: string } }>('products-page-1.json').paging.next_cursor);
    expect(first!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(first!.headers.accept).toBe('application/vnd.evotor.v2+json');

    expect(products.map((p) => [p.id, p.code, p.price, p.cost_price, p.quantity, p.type])).toEqual([
      ['450b6aa6-bdee-437b-ade0-c16934912aa7', '10', 123_450, 81_000, 7, 'NORMAL'],
      ['7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f', '27', 8_990, 6_125, 42.375, 'NORMAL'],
      ['9e3b1c70-2f4d-4a8e-b6c1-5d7e8f9a0b12', '31', 30_000, 0, 0, 'SERVICE'],
    ]);
    expect(products[0]).toEqual(
      expect.objectContaining({ article_number: 'ЧЭ-1700', barcodes: ['4607012345678'], measure_name: 'шт', tax: 'VAT_10', allow_to_sell: true, parent_id: '1ddea16b-971b-dee5-3798-1b29a7aa2e27' }),
    );
    expect(products[1]!.parent_id).toBeUndefined();
    expect(products.map((p) => bitrixProductIdOf(p, 'code'))).toEqual(['10', '27', '31']);
    expect(products.map((p) => bitrixProductIdOf(p, 'article_number'))).toEqual(['ЧЭ-1700', undefined, '31']);
  });

  test('the client reads one product; the docs example cost_price 100.123 (fractions of a kopeck) reads as unknown', async () => {
    const p = (await stubClient.getProduct(STORE, String(single.id)))!;
    expect(p).toEqual(expect.objectContaining({ id: single.id, code: '102', article_number: 'КФ-1000', price: 159_050, quantity: 12, barcodes: ['2000000000060'] }));
    expect(p.cost_price).toBeUndefined();
    expect(await stubClient.getProduct(STORE, 'unknown')).toBeNull();
  });

  test('a product without id, or with a code that is no text, is an INVALID_RESPONSE naming it; a bad price (not read) is not', async () => {
    const { id: _id, ...withoutId } = single;
    const bad = await startStub((req) =>
      req.path.endsWith('/products') ? { body: { items: [{ ...single, code: { nested: true } }], paging: {} } } : { body: withoutId },
    );
    const badPrice = await startStub(() => ({ body: { items: [{ ...single, price: 'много' }], paging: {} } }));
    try {
      const c = new EvotorCloudClient({ apiUrl: bad.url, token: TOKEN, logger: silentLogger });
      await expect(c.listProducts(STORE)).rejects.toMatchObject({ code: 'INVALID_RESPONSE', retryable: false, message: expect.stringContaining('items.0.code') });
      await expect(c.getProduct(STORE, 'x')).rejects.toMatchObject({ code: 'INVALID_RESPONSE', retryable: false, message: expect.stringContaining(': id:') });
      const [product] = await new EvotorCloudClient({ apiUrl: badPrice.url, token: TOKEN, logger: silentLogger }).listProducts(STORE);
      expect(product).toMatchObject({ id: single.id });
      expect(product!.price).toBeUndefined();
    } finally {
      await bad.close();
      await badPrice.close();
    }
  });

  test("the simulator's products have the fixtures' shape (list page with and without next_cursor, one product)", async () => {
    sim.addProducts(STORE, [
      { name: 'Чайник электрический', code: '10', articleNumber: 'ЧЭ-1700', barcodes: ['4607012345678'], price: '1234.50', costPrice: '810', quantity: 7, vatRate: 0.1 },
      { name: 'Сахар весовой', code: '27', price: '89.90', measureName: 'кг', quantity: 42.375 },
      { name: 'Доставка курьером', code: '31', articleNumber: '31', price: 300, type: 'SERVICE' },
    ]);
    sim.sell(DEVICE, { items: [{ productId: '900', name: 'Создан кассиром', price: '10.00', quantity: 1 }] });

    const page1 = fixture<{ items: unknown[]; paging: unknown }>('products-page-1.json');
    const page2 = fixture<{ items: unknown[]; paging: unknown }>('products-page-2.json');
    const first = await http('GET', `${sim.url}/stores/${STORE}/products`, { headers: auth });
    expect(shapeDiff({ items: [], paging: page1.paging }, first.json)).toEqual([]);
    for (const item of first.json.items) expect(shapeDiff(page1.items[0], item)).toEqual([]);
    const second = await http('GET', `${sim.url}/stores/${STORE}/products?cursor=${encodeURIComponent(first.json.paging.next_cursor)}`, { headers: auth });
    expect(shapeDiff({ items: [], paging: page2.paging }, second.json)).toEqual([]);
    expect(second.json.paging).toEqual({});
    for (const item of second.json.items) expect(shapeDiff(page2.items[0], item)).toEqual([]);

    const created = catalogOf().find((p) => p.code === '900')!;
    const one = await http('GET', `${sim.url}/stores/${STORE}/products/${String(created.id)}`, { headers: auth });
    expect(shapeDiff(single, one.json)).toEqual([]);

    // And the client parses what the simulator says exactly as it parses the fixtures.
    const parsed: EvotorProduct[] = await client.listProducts(STORE);
    expect(parsed).toHaveLength(4);
    expect(parsed.find((p) => p.code === '10')).toEqual(
      expect.objectContaining({ article_number: 'ЧЭ-1700', price: 123_450, cost_price: 81_000, quantity: 7, tax: 'VAT_10', barcodes: ['4607012345678'] }),
    );
  });
});
