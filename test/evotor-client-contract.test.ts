import { Writable } from 'node:stream';
import pino from 'pino';
import {
  EvotorCloudClient,
  appExtrasFromDocument,
  documentClosedAtMs,
  fiscalAttributesFromDocument,
} from '../activities/evotor/client';
import { EvotorDocumentSchema } from '../activities/evotor/schemas';
import { EvotorReceiptWebhookSchema, terminalPaymentFromWebhook } from '../activities/evotor/webhook';
import { fixture, silentLogger, startStub, type HttpStub } from './fixtures/evotor/support';

/** The client against hand-written fixtures of Evotor's documented wire format, served by a stub. */

const TOKEN = 'cloud-token-0f9e8d7c-do-not-log';
const APP_ID = 'a4f2c3d1-0b6e-4f4a-9d7c-2e8b1c5f3a90';
const STORE = '20190528-92E7-4012-80D2-C5CDAF90F275';
const DEVICE = '20190528-8698-409A-8002-A0C67CCF7B3F';
const SELL_ID = 'd38ac944-c006-445a-b095-768bcdc6a866';
const PUSH_ID = '0b6f2c8e-5a31-4d97-8e2f-9c1a7b3d5e40';

let stub: HttpStub;
let client: EvotorCloudClient;

beforeAll(async () => {
  stub = await startStub((req) => {
    if (req.path === '/stores') return { body: fixture('stores.json') };
    if (req.path === '/devices') return { body: fixture('devices.json') };
    if (req.path === `/stores/${STORE}/documents`) {
      return { body: fixture(req.query.has('cursor') ? 'documents-page-2.json' : 'documents-page-1.json') };
    }
    if (req.path === `/stores/${STORE}/documents/${SELL_ID}`) return { body: fixture('cloud-sell-document.json') };
    if (req.method === 'POST' && req.path === `/apps/${APP_ID}/push-notifications`) return { body: fixture('push-accepted.json') };
    if (req.path === `/apps/${APP_ID}/push-notifications/${PUSH_ID}`) return { body: fixture('push-completed.json') };
    return { status: 404, body: { code: 'NOT_FOUND', message: 'not found' } };
  });
  client = new EvotorCloudClient({ apiUrl: stub.url, token: TOKEN, appId: APP_ID, logger: silentLogger });
});

afterAll(() => stub.close());

test('every call carries the bearer token and asks for the v2 media type', async () => {
  await client.listStores();
  const req = stub.requests[stub.requests.length - 1]!;
  expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
  expect(req.headers.accept).toBe('application/vnd.evotor.v2+json');
});

test('stores and devices', async () => {
  expect(await client.listStores()).toEqual([expect.objectContaining({ id: STORE, address: 'Россия, Москва, Тверская ул., 1' })]);
  expect(await client.listDevices()).toEqual([expect.objectContaining({ id: DEVICE, store_id: STORE, timezone_offset: 10_800_000 })]);
});

test('listDocuments follows paging.next_cursor, sending only the cursor after the first page', async () => {
  const before = stub.requests.length;
  const docs = await client.listDocuments(STORE, { since: 1_770_681_600_000, until: 1_770_768_000_000, types: ['SELL', 'PAYBACK'] });
  expect(docs.map((d) => d.type)).toEqual(['OPEN_SESSION', 'SELL', 'PAYBACK']);

  const [first, second] = stub.requests.slice(before);
  expect(first!.query.get('since')).toBe('1770681600000');
  expect(first!.query.get('until')).toBe('1770768000000');
  expect(first!.query.getAll('types')).toEqual(['SELL', 'PAYBACK']);
  expect([...second!.query.keys()]).toEqual(['cursor']);
  expect(second!.query.get('cursor')).toBe(fixture<{ paging: { next_cursor: string } }>('documents-page-1.json').paging.next_cursor);
  expect(stub.requests.length - before).toBe(2);
});

test('the async iterator yields the same documents page by page', async () => {
  const ids: string[] = [];
  for await (const d of client.iterateDocuments(STORE)) ids.push(d.id);
  expect(ids).toEqual((await client.listDocuments(STORE)).map((d) => d.id));
});

test('a SELL document: money in kopecks, extras of our app, close time', async () => {
  const doc = (await client.getDocument(STORE, SELL_ID))!;
  expect(doc.body.sum).toBe(136_935);
  expect(doc.body.result_sum).toBe(136_935);
  expect(doc.body.positions.map((p) => [p.code, p.quantity, p.price, p.sum])).toEqual([
    ['10', 1, 123_450, 123_450],
    ['27', 1.5, 8_990, 13_485],
  ]);
  expect(doc.body.positions[0]!.tax).toEqual(expect.objectContaining({ type: 'VAT_22', result_sum: 22_261 }));
  expect(doc.body.payments).toEqual([expect.objectContaining({ type: 'ELECTRON', sum: 136_935 })]);
  expect(appExtrasFromDocument(doc, APP_ID)).toEqual({ bitrixOrderId: '236', accountNumber: '392' });
  expect(documentClosedAtMs(doc)).toBe(Date.parse('2026-02-10T10:48:57.000Z'));
});

test('fiscal attributes come from pos_print_results, device-local time turned into UTC', async () => {
  const doc = (await client.getDocument(STORE, SELL_ID))!;
  expect(fiscalAttributesFromDocument(doc)).toEqual({
    source: 'terminal',
    fnNumber: '9283440300251791',
    fiscalDocumentNumber: '360',
    fiscalSign: '3566743109',
    receiptDateTime: '2026-02-10T10:48:00.000Z',
    receiptNumber: '274',
    shiftNumber: '43',
    registrationNumber: '0003236243025918',
    total: 136_935,
  });
});

test('the published docs wrap array elements ({ pos_print_result: {...} }); both forms parse alike', () => {
  const raw = fixture<{ body: Record<string, unknown[]> }>('cloud-sell-document.json');
  const flat = EvotorDocumentSchema.parse(raw);
  const wrapped = structuredClone(raw);
  wrapped.body.pos_print_results = wrapped.body.pos_print_results!.map((r) => ({ pos_print_result: r }));
  wrapped.body.positions = wrapped.body.positions!.map((p) => ({ position: p }));
  wrapped.body.payments = wrapped.body.payments!.map((p) => ({ payment: p }));
  const parsed = EvotorDocumentSchema.parse(wrapped);
  expect(fiscalAttributesFromDocument(parsed)).toEqual(fiscalAttributesFromDocument(flat));
  expect(parsed.body.positions.map((p) => p.sum)).toEqual([123_450, 13_485]);
});

test('documents without fiscal data give null; a PAYBACK names the sale it refunds', async () => {
  const [openSession, , payback] = await client.listDocuments(STORE);
  expect(fiscalAttributesFromDocument(openSession!)).toBeNull();
  expect(payback!.body.base_document_id).toBe(SELL_ID);
  expect(payback!.body.base_document_number).toBe(444);
  expect(fiscalAttributesFromDocument(payback!)?.fiscalDocumentNumber).toBe('363');
});

test('getDocument answers null for a document the cloud does not have', async () => {
  expect(await client.getDocument(STORE, '00000000-0000-0000-0000-000000000000')).toBeNull();
});

test('sendPush posts devices, payload and active_till (now + 2 days by default)', async () => {
  const payload = { kind: 'bitrix-order', orderId: '236' };
  const t0 = Date.now();
  const push = await client.sendPush({ devices: [DEVICE], payload });
  expect(push).toEqual(expect.objectContaining({ id: PUSH_ID, status: 'ACCEPTED' }));

  const req = stub.requests[stub.requests.length - 1]!;
  expect(req.method).toBe('POST');
  expect(req.headers['content-type']).toBe('application/vnd.evotor.v2+json');
  const body = JSON.parse(req.body) as { devices: string[]; payload: unknown; active_till: string };
  expect(body.devices).toEqual([DEVICE]);
  expect(body.payload).toEqual(payload);
  const till = Date.parse(body.active_till.replace('+0000', 'Z'));
  expect(till - t0).toBeGreaterThanOrEqual(2 * 86_400_000 - 1000);
  expect(till - t0).toBeLessThanOrEqual(2 * 86_400_000 + 5000);
});

test('getPush reports per-device status', async () => {
  const push = (await client.getPush(PUSH_ID))!;
  expect(push.status).toBe('COMPLETED');
  expect(push.details.map((d) => d.status)).toEqual(['DELIVERED', 'REJECTED']);
  expect(await client.getPush('11111111-1111-1111-1111-111111111111')).toBeNull();
});

test('the receipt webhook fixture parses with our webhook schema into a terminal payment', () => {
  const event = EvotorReceiptWebhookSchema.parse(fixture('receipt-webhook.json'));
  expect(terminalPaymentFromWebhook(event)).toEqual(
    expect.objectContaining({
      receiptId: SELL_ID,
      terminalStoreId: STORE,
      deviceId: DEVICE,
      amount: 136_935,
      paidAt: '2026-02-10T10:48:57.000Z',
      paymentSource: 'PAY_CARD',
      orderId: '236',
      accountNumber: '392',
    }),
  );
});

test('the token never reaches the logs, also when a call fails', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const verbose = new EvotorCloudClient({ apiUrl: stub.url, token: TOKEN, appId: APP_ID, logger: pino({ level: 'trace' }, sink) });
  await verbose.listStores();
  await expect(verbose.listDocuments('no-such-store')).rejects.toMatchObject({ system: 'evotor', httpStatus: 404 });
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.join('\n')).not.toContain(TOKEN);
});
