import { EvotorCloudClient, documentClosedAtMs } from '../activities/evotor/client';
import { parseEvotorDate } from '../activities/evotor/documents';
import { EvotorReceiptWebhookSchema } from '../activities/evotor/webhook';
import { startEvotorSimulator, type EvotorSimulator } from '../simulators/evotor/simulator';
import { http, silentLogger, startReceiver, type HttpStub } from './fixtures/evotor/support';

/** An offline terminal keeps its receipts; back online it uploads them in one burst, webhooks follow. */

const TOKEN = 'sim-cloud-token';
const STORE = 'S-1';
const DEVICE = 'D-1';
const MINUTE = 60_000;
let sim: EvotorSimulator;
let receiver: HttpStub;
let client: EvotorCloudClient;

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await startEvotorSimulator({
    token: TOKEN,
    stores: [{ id: STORE }],
    devices: [{ id: DEVICE, storeId: STORE }],
    webhook: { url: receiver.url, token: 'hook-token', retryDelayMs: 20 },
    logger: silentLogger,
  });
  client = new EvotorCloudClient({ apiUrl: sim.url, token: TOKEN, logger: silentLogger });
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});
beforeEach(() => {
  sim.reset();
  receiver.requests.length = 0;
});

test('offline receipts are invisible to the cloud and send no webhook, then arrive in a burst with old close dates', async () => {
  const t0 = Date.now() - 60 * MINUTE;
  expect((await http('POST', `${sim.url}/_admin/devices/${DEVICE}/offline`)).status).toBe(200);
  const rung = Array.from({ length: 6 }, (_, i) =>
    sim.sell(DEVICE, { items: [{ name: `Товар ${i}`, price: '50.00', quantity: i + 1 }], paymentSource: 'PAY_CASH', at: t0 + i * 5 * MINUTE }),
  );
  expect(rung.every((r) => r.queued)).toBe(true);

  expect(sim.state.queued.map((q) => q.id)).toEqual(rung.map((r) => r.id));
  expect(await client.listDocuments(STORE, { since: t0 - MINUTE, types: ['SELL'] })).toEqual([]);
  expect(await client.getDocument(STORE, rung[0]!.id)).toBeNull();
  await sim.flush();
  expect(receiver.requests).toHaveLength(0);

  const online = await http('POST', `${sim.url}/_admin/devices/${DEVICE}/online`);
  expect(online.json).toEqual({ online: true, uploaded: 6 });
  expect(sim.state.queued).toEqual([]);

  const docs = await client.listDocuments(STORE, { since: t0 - MINUTE, types: ['SELL'] });
  expect(docs.map((d) => d.id)).toEqual(rung.map((r) => r.id));
  for (const [i, d] of docs.entries()) {
    expect(documentClosedAtMs(d)).toBe(t0 + i * 5 * MINUTE);
    expect(parseEvotorDate(d.created_at!)).toBeGreaterThan(documentClosedAtMs(d));
  }

  await sim.flush();
  const events = receiver.requests.map((r) => EvotorReceiptWebhookSchema.parse(JSON.parse(r.body)));
  expect(events.map((e) => e.data.id).sort()).toEqual(rung.map((r) => r.id).sort());
  for (const e of events) {
    const doc = docs.find((d) => d.id === e.data.id)!;
    expect(parseEvotorDate(e.data.dateTime)).toBe(documentClosedAtMs(doc));
    expect(e.timestamp).toBeGreaterThan(parseEvotorDate(e.data.dateTime));
  }
});

test('a refund of an offline sale, rung offline too, uploads after its sale', async () => {
  sim.setOffline(DEVICE);
  const saleResult = sim.sell(DEVICE, {
    items: [
      { productId: '10', name: 'Чайник', price: '1234.50', quantity: 1, vatRate: 0.22 },
      { productId: '11', name: 'Кружка', price: '300.00', quantity: 2, vatRate: 0.22 },
    ],
    extras: { bitrixOrderId: '236', accountNumber: '392' },
  });
  const refund = await http('POST', `${sim.url}/_admin/devices/${DEVICE}/payback`, {
    body: { baseDocumentId: saleResult.id, items: [{ productId: '11', name: 'Кружка', price: '300.00', quantity: 1, vatRate: 0.22 }] },
  });
  expect(refund.status).toBe(201);
  expect(refund.json.queued).toBe(true);
  sim.setOnline(DEVICE);

  const docs = await client.listDocuments(STORE, { types: ['SELL', 'PAYBACK'] });
  expect(docs).toHaveLength(2);
  const sale = docs.find((d) => d.type === 'SELL');
  const payback = docs.find((d) => d.type === 'PAYBACK');
  expect(sale!.id).toBe(saleResult.id);
  expect(sim.state.documents.map((d) => d.type)).toEqual(['OPEN_SESSION', 'SELL', 'PAYBACK']);
  expect(payback!.body.base_document_id).toBe(saleResult.id);
  expect(payback!.body.base_document_number).toBe(sale!.number);
  expect(payback!.body.result_sum).toBe(30_000);

  await sim.flush();
  const events = receiver.requests.map((r) => EvotorReceiptWebhookSchema.parse(JSON.parse(r.body)));
  const pb = events.find((e) => e.data.type === 'PAYBACK')!;
  expect(pb.data.totalAmount).toBe(300);
  expect(pb.data.extras).toEqual({ bitrixOrderId: '236', accountNumber: '392' });
});

test('a refund needs a sale on that terminal', async () => {
  expect((await http('POST', `${sim.url}/_admin/devices/${DEVICE}/payback`, { body: { baseDocumentId: 'nope' } })).status).toBe(404);
  expect((await http('POST', `${sim.url}/_admin/devices/no-such/offline`)).status).toBe(404);
});
