import {
  batchResultSchema,
  booleanResultSchema,
  documentElementResultSchema,
  documentListResultSchema,
  documentModeResultSchema,
  documentResultSchema,
  orderGetResultSchema,
  paymentResultSchema,
  shipmentResultSchema,
  statusListResultSchema,
  storeListResultSchema,
  storeProductListResultSchema,
  timeSchema,
} from '../activities/bitrix/schemas';
import { startBitrixSimulator, type BitrixSimulator } from '../simulators/bitrix';
import { fixture, shapeMismatches, silentLogger, type Fixture } from './fixtures/bitrix/helpers';

/**
 * The simulator answers the fixtures' requests with the fixtures' shape, and the answers pass the same zod
 * schemas the client uses. Raw HTTP here: the client is pinned to the same fixtures separately.
 */
describe('Bitrix simulator speaks the documented wire format', () => {
  let sim: BitrixSimulator;
  let orderId: number;

  beforeAll(async () => {
    sim = await startBitrixSimulator({ rateLimit: null, logger: silentLogger });
    sim.addPaySystem({ id: 48, name: 'Оплата в пункте выдачи' });
    sim.addStatus({ id: 'P', type: 'O', name: 'Оплачен, формируется к отправке' });
    sim.setStock({ productId: 348, storeId: 1, amount: 12 });
    sim.setStock({ productId: 412, storeId: 1, amount: 10 });
    const order = sim.createOrder({
      id: 236,
      accountNumber: '392',
      basket: [
        { productId: 348, name: 'Футболка мужская', price: 980, quantity: 1, vatRate: 0.22, reservations: [{ storeId: 1, quantity: 1 }] },
        { productId: 412, name: 'Носки', price: '250.00', quantity: 2, vatRate: null, vatIncluded: false, reservations: [{ storeId: 1, quantity: 2 }] },
      ],
      payments: [{ paySystemId: 48 }],
      propertyValues: [
        { code: 'FIO', value: 'Иван Петров' },
        { code: 'EMAIL', value: 'ivan@example.com' },
        { code: 'PHONE', value: '+79001234567' },
        { code: 'ADDRESS', value: null },
      ],
    });
    orderId = order.id;
  });
  afterAll(async () => sim.close());

  async function call(method: string, params: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${sim.url}${method}.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function expectLike(f: Fixture, params: unknown = f.request.params) {
    const { status, body } = await call(f.request.method, params);
    expect(status).toBe(f.response.status);
    expect(shapeMismatches(body, f.response.body)).toEqual([]);
    expect(timeSchema.safeParse(body.time).success).toBe(true);
    return body;
  }

  test('sale.order.get', async () => {
    const body = await expectLike(fixture('sale.order.get.json'));
    const order = JSON.parse(JSON.stringify(body.result)).order;
    expect(order.id).toBe(236);
    expect(order.accountNumber).toBe('392');
    expect(typeof order.basketItems[0].id).toBe('string');
    expect(order.basketItems[0].vatRate).toBe(0.22);
    expect(order.basketItems[1].vatRate).toBeNull();
    expect(order.payments[0].accountNumber).toBe('392/1');
    expect(order.shipments[0].accountNumber).toBe('392/2');
    const parsed = orderGetResultSchema.parse(body.result).order;
    expect(parsed.total).toBe(148000);
    expect(parsed.items.map((i) => i.price)).toEqual([98000, 25000]);
    expect(parsed.buyer).toEqual({ email: 'ivan@example.com', phone: '+79001234567', name: 'Иван Петров' });
  });

  test('sale.payment.update', async () => {
    const f = fixture('sale.payment.update.json');
    const paymentId = sim.state.getOrder(orderId).payments[0]!.id;
    const body = await expectLike(f, { ...f.request.params, id: paymentId });
    const payment = paymentResultSchema.parse(body.result).payment;
    expect(payment).toEqual({ ...(f.expected as object), id: String(paymentId) });
  });

  test('sale.shipment.update', async () => {
    const f = fixture('sale.shipment.update.json');
    const shipmentId = sim.state.getOrder(orderId).shipments[0]!.id;
    const body = await expectLike(f, { ...f.request.params, id: shipmentId });
    expect(shipmentResultSchema.parse(body.result).shipment).toEqual({ ...(f.expected as object), id: String(shipmentId) });
  });

  test('catalog.storeproduct.list, sale.status.list, catalog.store.list', async () => {
    storeProductListResultSchema.parse((await expectLike(fixture('catalog.storeproduct.list.json'))).result);
    const statuses = statusListResultSchema.parse((await expectLike(fixture('sale.status.list.json'))).result).statuses;
    expect(statuses.map((s) => s.id)).toEqual(expect.arrayContaining(['N', 'F', 'P']));
    storeListResultSchema.parse((await expectLike(fixture('catalog.store.list.json'))).result);
    expect(documentModeResultSchema.parse((await expectLike(fixture('catalog.document.mode.status.json'))).result)).toBe(true);
  });

  test('catalog.document.add → element.add → conduct → list', async () => {
    const docId = documentResultSchema.parse((await expectLike(fixture('catalog.document.add.json'))).result).document.id;
    const el = fixture('catalog.document.element.add.json');
    const elParams = el.request.params as { fields: object };
    documentElementResultSchema.parse((await expectLike(el, { fields: { ...elParams.fields, docId: Number(docId) } })).result);
    booleanResultSchema.parse((await expectLike(fixture('catalog.document.conduct.json'), { id: Number(docId) })).result);
    const docs = documentListResultSchema.parse((await expectLike(fixture('catalog.document.list.json'))).result).documents;
    expect(docs).toEqual([expect.objectContaining({ id: docId, status: 'Y', docType: 'D' })]);
  });

  test('batch: same request string, same answer shape, same per-command error', async () => {
    const f = fixture('batch.json');
    const body = await expectLike(f);
    const parsed = batchResultSchema.parse(body.result);
    const expected = (f.response.body as { result: { result_error: unknown } }).result.result_error;
    expect(parsed.result_error).toEqual(expected);
    const doc = (parsed.result.doc as { document: { id: number } }).document.id;
    expect((parsed.result.line0 as { documentElement: { docId: number } }).documentElement.docId).toBe(doc);
  });

  test('a sale error: HTTP 400 with the numeric code', async () => {
    const notFound = fixture<{ cases: { status: number; body: { error: unknown } }[] }>('error-responses.json').cases.find(
      (c) => c.body.error === 200540400001,
    )!;
    const { status, body } = await call('sale.order.get', { id: 999999 });
    expect({ status, body }).toEqual({ status: notFound.status, body: notFound.body });
  });
});
