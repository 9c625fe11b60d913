import { EvotorCloudClient, appExtrasFromDocument, fiscalAttributesFromDocument } from '../activities/evotor/client';
import { EvotorReceiptWebhookSchema } from '../activities/evotor/webhook';
import type { TerminalOrderPayload } from '../domain/terminal-payload';
import { startEvotorSimulator, type EvotorSimulator } from '../simulators/evotor/simulator';
import { http, silentLogger, startReceiver, type HttpStub, sampleOrderPayload } from './fixtures/evotor/support';

/** Order pushes: ACCEPTED → DELIVERED when the terminal is online, EXPIRED after active_till; the cashier rings them. */

const TOKEN = 'sim-cloud-token';
const APP_ID = '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
const STORE = 'S-1';
const ONLINE = 'D-online';
const OFFLINE = 'D-offline';
let sim: EvotorSimulator;
let receiver: HttpStub;
let client: EvotorCloudClient;

const order: TerminalOrderPayload = sampleOrderPayload;

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await startEvotorSimulator({
    token: TOKEN,
    appId: APP_ID,
    stores: [{ id: STORE }],
    devices: [{ id: ONLINE, storeId: STORE }, { id: OFFLINE, storeId: STORE, online: false }],
    webhook: { url: receiver.url, token: 'hook-token', retryDelayMs: 20 },
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

test('an online terminal gets the push: ACCEPTED at once, DELIVERED right after', async () => {
  const push = await client.sendPush({ devices: [ONLINE], payload: order });
  expect(push.status).toBe('ACCEPTED');
  expect(push.details).toEqual([expect.objectContaining({ device_id: ONLINE, status: 'ACCEPTED' })]);

  const later = (await client.getPush(push.id))!;
  expect(later.status).toBe('COMPLETED');
  expect(later.details[0]).toEqual(expect.objectContaining({ status: 'DELIVERED', sent_at: expect.any(String) }));
});

test('an offline terminal gets it when it comes back online', async () => {
  const push = await client.sendPush({ devices: [OFFLINE], payload: order });
  expect((await client.getPush(push.id))!.details[0]!.status).toBe('ACCEPTED');
  sim.setOnline(OFFLINE);
  expect((await client.getPush(push.id))!.details[0]!.status).toBe('DELIVERED');
});

test('a push not delivered by active_till expires, and stays expired when the terminal returns', async () => {
  const push = await client.sendPush({ devices: [OFFLINE], payload: order, activeTill: new Date(Date.now() + 150) });
  await new Promise((r) => setTimeout(r, 200));
  expect((await client.getPush(push.id))!.details[0]!.status).toBe('EXPIRED');
  sim.setOnline(OFFLINE);
  const after = (await client.getPush(push.id))!;
  expect(after.details[0]!.status).toBe('EXPIRED');
  expect(after.status).toBe('COMPLETED');
});

test('unknown terminals are REJECTED; default expiry is two days; a past expiry is refused', async () => {
  const t0 = Date.now();
  const push = await client.sendPush({ devices: [ONLINE, 'no-such-device'], payload: order });
  const rejected = push.details.find((d) => d.device_id === 'no-such-device')!;
  expect(rejected.status).toBe('REJECTED');
  const till = Date.parse(rejected.active_till!.replace('+0000', 'Z'));
  expect(Math.abs(till - (t0 + 2 * 86_400_000))).toBeLessThan(5000);

  await expect(client.sendPush({ devices: [ONLINE], payload: order, activeTill: new Date(Date.now() - 1000) })).rejects.toMatchObject({
    httpStatus: 400,
    retryable: false,
  });
  expect(await client.getPush('00000000-0000-0000-0000-000000000000')).toBeNull();
});

test('a push to another app id is not found', async () => {
  const other = new EvotorCloudClient({ apiUrl: sim.url, token: TOKEN, appId: 'other-app', logger: silentLogger });
  await expect(other.sendPush({ devices: [ONLINE], payload: order })).rejects.toMatchObject({ httpStatus: 404, retryable: false });
});

test('the cashier rings the latest delivered push: a SELL of its items with our order id in extras', async () => {
  await client.sendPush({ devices: [ONLINE], payload: { ...order, orderId: '100', accountNumber: '300' } });
  await client.sendPush({ devices: [ONLINE], payload: order });
  const res = await http('POST', `${sim.url}/_admin/devices/${ONLINE}/pay-push`, { body: { paymentSource: 'PAY_CASH' } });
  expect(res.status).toBe(201);
  expect(res.json).toEqual(expect.objectContaining({ type: 'SELL', totalAmount: '1369.35', queued: false }));

  const doc = (await client.getDocument(STORE, res.json.id))!;
  expect(appExtrasFromDocument(doc, APP_ID)).toEqual({ bitrixOrderId: '236', accountNumber: '392' });
  expect(doc.body.result_sum).toBe(136_935);
  expect(doc.body.payments[0]!.type).toBe('CASH');
  expect(doc.body.positions.map((p) => [p.code, p.quantity, p.sum])).toEqual([
    ['10', 1, 123_450],
    ['27', 1.5, 13_485],
  ]);
  expect(fiscalAttributesFromDocument(doc)).toEqual(
    expect.objectContaining({ source: 'terminal', fnNumber: expect.stringMatching(/^\d{16}$/), fiscalSign: expect.stringMatching(/^\d{1,10}$/), total: 136_935 }),
  );

  await sim.flush();
  expect(receiver.requests).toHaveLength(1);
  const event = EvotorReceiptWebhookSchema.parse(JSON.parse(receiver.requests[0]!.body));
  expect(event.data).toEqual(
    expect.objectContaining({ id: res.json.id, type: 'SELL', paymentSource: 'PAY_CASH', extras: { bitrixOrderId: '236', accountNumber: '392' } }),
  );
});

test('a given push id, overridden extras and a short payment', async () => {
  const first = await client.sendPush({ devices: [ONLINE], payload: order });
  await client.sendPush({ devices: [ONLINE], payload: { ...order, orderId: '999' } });
  const r = sim.payPush(ONLINE, { pushId: first.id, extras: {}, amountOverride: '1000.00' });
  const doc = (await client.getDocument(STORE, r.id))!;
  expect(doc.extras).toEqual({});
  expect(doc.body.sum).toBe(136_935);
  expect(doc.body.result_sum).toBe(100_000);
  expect(doc.body.positions.reduce((s, p) => s + (p.result_sum ?? 0), 0)).toBe(100_000);
});

test('nothing to ring without a delivered push', async () => {
  expect((await http('POST', `${sim.url}/_admin/devices/${ONLINE}/pay-push`, { body: {} })).status).toBe(409);
  const push = await client.sendPush({ devices: [OFFLINE], payload: order });
  expect((await http('POST', `${sim.url}/_admin/devices/${OFFLINE}/pay-push`, { body: { pushId: push.id } })).status).toBe(409);
  await client.sendPush({ devices: [ONLINE], payload: { kind: 'something-else' } });
  expect((await http('POST', `${sim.url}/_admin/devices/${ONLINE}/pay-push`, { body: {} })).status).toBe(422);
});
