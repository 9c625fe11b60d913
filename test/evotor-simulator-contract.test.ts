import { startEvotorSimulator, type EvotorSimulator } from '../simulators/evotor/simulator';
import { fixture, http, shapeDiff, silentLogger, startReceiver, type HttpStub, sampleOrderPayload } from './fixtures/evotor/support';

/**
 * What the simulator says has the shape of Evotor's real wire format: the same keys and JSON types as
 * the hand-written fixtures (which come from Evotor's docs, SDKs and real documents, not from the simulator).
 */

const TOKEN = 'sim-cloud-token';
const APP_ID = 'a4f2c3d1-0b6e-4f4a-9d7c-2e8b1c5f3a90';
const STORE = '20190528-92E7-4012-80D2-C5CDAF90F275';
const DEVICE = '20190528-8698-409A-8002-A0C67CCF7B3F';
const auth = { authorization: `Bearer ${TOKEN}` };
let sim: EvotorSimulator;
let receiver: HttpStub;

const order = sampleOrderPayload;

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await startEvotorSimulator({
    token: TOKEN,
    appId: APP_ID,
    pageSize: 1,
    stores: [{ id: STORE, name: 'Пункт выдачи', address: 'Москва' }],
    devices: [{ id: DEVICE, storeId: STORE }],
    webhook: { url: receiver.url, token: 'hook' },
    logger: silentLogger,
  });
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

async function pushAndPay(): Promise<{ id: string }> {
  const push = await http('POST', `${sim.url}/apps/${APP_ID}/push-notifications`, { headers: auth, body: { devices: [DEVICE], payload: order } });
  expect(push.status).toBe(200);
  return sim.payPush(DEVICE);
}

test('a SELL document matches cloud-sell-document.json', async () => {
  const { id } = await pushAndPay();
  const doc = await http('GET', `${sim.url}/stores/${STORE}/documents/${id}`, { headers: auth });
  expect(shapeDiff(fixture('cloud-sell-document.json'), doc.json)).toEqual([]);
});

test('a PAYBACK document matches the one in documents-page-2.json', async () => {
  const { id } = await pushAndPay();
  const pb = sim.payback(DEVICE, { baseDocumentId: id });
  const doc = await http('GET', `${sim.url}/stores/${STORE}/documents/${pb.id}`, { headers: auth });
  const expected = fixture<{ items: unknown[] }>('documents-page-2.json').items[0];
  expect(shapeDiff(expected, doc.json)).toEqual([]);
});

test('document pages match the documents-page fixtures (with and without next_cursor)', async () => {
  await pushAndPay();
  const first = await http('GET', `${sim.url}/stores/${STORE}/documents?types=SELL`, { headers: auth });
  expect(first.json.items).toHaveLength(1);
  const page1 = fixture<{ items: unknown[]; paging: unknown }>('documents-page-1.json');
  expect(shapeDiff({ items: [], paging: page1.paging }, first.json)).toEqual([]);
  expect(shapeDiff(fixture('cloud-sell-document.json'), first.json.items[0])).toEqual([]);

  const sessions = await http('GET', `${sim.url}/stores/${STORE}/documents?types=OPEN_SESSION`, { headers: auth });
  expect(sessions.json.paging).toEqual({});
  expect(shapeDiff(page1.items[0], sessions.json.items[0])).toEqual([]);
  expect(shapeDiff(fixture<{ paging: unknown }>('documents-page-2.json').paging, sessions.json.paging)).toEqual([]);
});

test('the receipt webhook matches receipt-webhook.json', async () => {
  receiver.requests.length = 0;
  await pushAndPay();
  await sim.flush();
  expect(shapeDiff(fixture('receipt-webhook.json'), JSON.parse(receiver.requests[0]!.body))).toEqual([]);
});

test('push answers match push-accepted.json and push-completed.json', async () => {
  const created = await http('POST', `${sim.url}/apps/${APP_ID}/push-notifications`, {
    headers: auth,
    body: { devices: [DEVICE, '20190528-4525-40B7-802F-1DEE82B2E24E'], payload: order },
  });
  const accepted = fixture<{ details: unknown[] }>('push-accepted.json');
  expect(shapeDiff({ ...accepted, details: [] }, created.json)).toEqual([]);
  expect(shapeDiff(accepted.details[0], created.json.details[0])).toEqual([]);

  const status = await http('GET', `${sim.url}/apps/${APP_ID}/push-notifications/${created.json.id}`, { headers: auth });
  const completed = fixture<{ details: unknown[] }>('push-completed.json');
  expect(shapeDiff({ ...completed, details: [] }, status.json)).toEqual([]);
  expect(status.json.details.map((d: { status: string }) => d.status)).toEqual(['DELIVERED', 'REJECTED']);
  expect(shapeDiff(completed.details[0], status.json.details[0])).toEqual([]);
  expect(shapeDiff(completed.details[1], status.json.details[1])).toEqual([]);
});

test('stores and devices match stores.json and devices.json', async () => {
  expect(shapeDiff(fixture('stores.json'), (await http('GET', `${sim.url}/stores`, { headers: auth })).json)).toEqual([]);
  expect(shapeDiff(fixture('devices.json'), (await http('GET', `${sim.url}/devices`, { headers: auth })).json)).toEqual([]);
});

test('the shape check itself notices a missing key, an extra key and a wrong type', () => {
  expect(shapeDiff({ a: 1, b: 'x' }, { a: '1', c: true })).toEqual(['$.a: expected number, got string', '$.b: missing', '$.c: not in the fixture']);
});
