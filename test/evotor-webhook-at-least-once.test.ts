import { EvotorReceiptWebhookSchema } from '../activities/evotor/webhook';
import { startEvotorSimulator, type EvotorSimulator } from '../simulators/evotor/simulator';
import { http, silentLogger, startReceiver, type HttpStub, type StubAnswer } from './fixtures/evotor/support';

/** Receipt webhooks arrive at least once: failures and slow answers are resent, some are duplicated anyway. */

const STORE = 'S-1';
const DEVICE = 'D-1';
const HOOK_TOKEN = 'hook-token-we-issued';
let sim: EvotorSimulator;
let receiver: HttpStub;
let answers: StubAnswer[] = [];

beforeAll(async () => {
  receiver = await startReceiver(() => answers.shift() ?? { status: 200, body: {} });
  sim = await startEvotorSimulator({
    token: 'cloud-token',
    stores: [{ id: STORE }],
    devices: [{ id: DEVICE, storeId: STORE }],
    webhook: { url: receiver.url, token: HOOK_TOKEN, timeoutMs: 1_000, retryDelayMs: 20 },
    logger: silentLogger,
  });
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});
beforeEach(() => {
  sim.reset();
  receiver.requests.length = 0;
  answers = [];
});

const ring = (name = 'Товар') => sim.sell(DEVICE, { items: [{ productId: '10', name, price: '99.90', quantity: 2, vatRate: 0.22 }], paymentSource: 'PAY_CARD' });
const delivery = (receiptId: string) => sim.state.deliveries.find((d) => d.receiptId === receiptId)!;

test('each delivery is a JSON POST with our bearer token and the receipt as data', async () => {
  const r = ring();
  await sim.flush();
  expect(receiver.requests).toHaveLength(1);
  const req = receiver.requests[0]!;
  expect(req.method).toBe('POST');
  expect(req.headers.authorization).toBe(`Bearer ${HOOK_TOKEN}`);
  expect(req.headers['content-type']).toMatch(/^application\/json/);
  const event = EvotorReceiptWebhookSchema.parse(JSON.parse(req.body));
  expect(event.data).toEqual(expect.objectContaining({ id: r.id, deviceId: DEVICE, storeId: STORE, type: 'SELL', totalAmount: 199.8 }));
  expect(delivery(r.id)).toEqual(expect.objectContaining({ state: 'delivered', acknowledged: 1 }));
});

test('a 500 answer is resent, byte for byte', async () => {
  answers = [{ status: 500 }];
  const r = ring();
  await sim.flush();
  expect(receiver.requests).toHaveLength(2);
  expect(receiver.requests[1]!.body).toBe(receiver.requests[0]!.body);
  expect(delivery(r.id).attempts.map((a) => a.status)).toEqual([500, 200]);
  expect(delivery(r.id).state).toBe('delivered');
});

test('an answer slower than the timeout counts as lost and is resent (the receiver sees it twice)', async () => {
  answers = [{ status: 200, delayMs: 1_500 }];
  const r = ring();
  await sim.flush();
  expect(receiver.requests).toHaveLength(2);
  const attempts = delivery(r.id).attempts;
  expect(attempts[0]).toEqual(expect.objectContaining({ error: 'timeout' }));
  expect(attempts[1]).toEqual(expect.objectContaining({ status: 200 }));
});

test('after maxAttempts failures the delivery is given up and says so', async () => {
  sim.configureWebhook({ maxAttempts: 3 });
  answers = [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }];
  const r = ring();
  await sim.flush();
  expect(receiver.requests).toHaveLength(3);
  expect(delivery(r.id)).toEqual(expect.objectContaining({ state: 'failed', acknowledged: 0 }));
});

test('duplicateRate 1: every event is delivered twice', async () => {
  const res = await http('POST', `${sim.url}/_admin/webhook`, { body: { duplicateRate: 1 } });
  expect(res.json.duplicateRate).toBe(1);
  const ids = [ring('a').id, ring('b').id, ring('c').id];
  await sim.flush();
  expect(receiver.requests).toHaveLength(6);
  const received = receiver.requests.map((q) => (JSON.parse(q.body) as { data: { id: string } }).data.id);
  for (const id of ids) {
    expect(received.filter((x) => x === id)).toHaveLength(2);
    expect(delivery(id).acknowledged).toBe(2);
    expect(delivery(id).attempts.map((a) => a.duplicate)).toEqual([false, true]);
  }
});

test('url and token can be changed at runtime', async () => {
  const other = await startReceiver();
  try {
    await http('POST', `${sim.url}/_admin/webhook`, { body: { url: other.url, token: 'rotated' } });
    ring();
    await sim.flush();
    expect(receiver.requests).toHaveLength(0);
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0]!.headers.authorization).toBe('Bearer rotated');
    expect(sim.state.webhook).toEqual(expect.objectContaining({ url: other.url, tokenSet: true }));
  } finally {
    await other.close();
  }
});

test('without a webhook configured, receipts are recorded as undeliverable', async () => {
  const bare = await startEvotorSimulator({ token: 't', logger: silentLogger });
  try {
    const dev = bare.state.devices[0]!.id;
    const r = bare.sell(dev, { items: [{ name: 'x', price: 1, quantity: 1 }] });
    await bare.waitForDeliveries();
    expect(bare.state.deliveries).toEqual([expect.objectContaining({ receiptId: r.id, state: 'undeliverable', attempts: [] })]);
  } finally {
    await bare.close();
  }
});
