import { BitrixClient } from '../activities/bitrix/client';
import { ExternalServiceError } from '../activities/shared/errors';
import { startBitrixSimulator, type BitrixSimulator } from '../simulators/bitrix';
import { silentLogger } from './fixtures/bitrix/helpers';

async function bitrixError(p: Promise<unknown>): Promise<ExternalServiceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ExternalServiceError) return e;
    throw e;
  }
  throw new Error('expected a Bitrix error');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rate limit (leaky bucket per portal)', () => {
  let sim: BitrixSimulator;
  beforeEach(async () => {
    sim = await startBitrixSimulator({ logger: silentLogger });
  });
  afterEach(async () => sim.close());

  test('cloud default: a burst beyond 50 gets 503 QUERY_LIMIT_EXCEEDED', async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, async () => {
        const res = await fetch(`${sim.url}catalog.document.mode.status.json`, { method: 'POST' });
        return { status: res.status, body: (await res.json()) as { error?: string } };
      }),
    );
    const rejected = answers.filter((a) => a.status === 503);
    expect(rejected.length).toBeGreaterThanOrEqual(9);
    expect(rejected.length).toBeLessThanOrEqual(10);
    expect(rejected.every((a) => a.body.error === 'QUERY_LIMIT_EXCEEDED')).toBe(true);
    expect(sim.requestCounts()).toMatchObject({ total: 60, rateLimited: rejected.length });
  });

  test('one batch of 50 commands is one request against the limit', async () => {
    sim.setRateLimit({ rps: 0.01, burst: 1 });
    const client = new BitrixClient({ restUrl: sim.url, logger: silentLogger, maxAttempts: 1 });
    const cmds = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`c${i}`, { method: 'catalog.document.mode.status' }]));
    const out = await client.batch(cmds);
    expect(Object.keys(out.results)).toHaveLength(50);
    const e = await bitrixError(client.call('catalog.document.mode.status'));
    expect([e.code, e.httpStatus, e.retryable]).toEqual(['QUERY_LIMIT_EXCEEDED', 503, true]);
    await client.close();
  });

  test('a client that keeps under the rate never hits the limit', async () => {
    sim.setRateLimit({ rps: 20, burst: 5 });
    const client = new BitrixClient({ restUrl: sim.url, logger: silentLogger, maxAttempts: 1 });
    for (let i = 0; i < 25; i++) {
      await client.documentModeStatus();
      await sleep(60);
    }
    expect(sim.requestCounts()).toMatchObject({ total: 25, rateLimited: 0 });
    await client.close();
  });

  test('the client backs off and gets through a full bucket', async () => {
    sim.setRateLimit({ rps: 20, burst: 1 });
    await fetch(`${sim.url}catalog.document.mode.status.json`, { method: 'POST' });
    const client = new BitrixClient({ restUrl: sim.url, logger: silentLogger, maxAttempts: 5, retryBaseDelayMs: 30 });
    await expect(client.documentModeStatus()).resolves.toBe(true);
    expect(sim.requestCounts().rateLimited).toBeGreaterThanOrEqual(1);
    await client.close();
  });

  test('the limit can be changed or switched off at runtime through the admin API', async () => {
    const settings = await fetch(`${sim.adminUrl}/settings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rateLimit: null }),
    });
    expect(await settings.json()).toMatchObject({ rateLimit: null });
    const statuses = await Promise.all(Array.from({ length: 70 }, () => fetch(`${sim.url}catalog.document.mode.status`, { method: 'POST' }).then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
  });
});

describe('fault injection', () => {
  let sim: BitrixSimulator;
  let client: BitrixClient;
  let paymentId: string;
  let orderId: string;

  beforeAll(async () => {
    sim = await startBitrixSimulator({ rateLimit: null, logger: silentLogger });
    client = new BitrixClient({ restUrl: sim.url, logger: silentLogger, timeoutMs: 300, maxAttempts: 1 });
  });
  beforeEach(() => {
    sim.reset();
    const order = sim.createOrder({ basket: [{ productId: 1, name: 'x', price: 100, quantity: 1 }] });
    orderId = String(order.id);
    paymentId = String(order.payments[0]!.id);
  });
  afterAll(async () => {
    await client.close();
    await sim.close();
  });

  const markPaid = () => client.updatePayment(paymentId, '1', { paid: true, psInvoiceId: 'evo-42' });
  const paidInSim = () => sim.state.findPayment(Number(paymentId)).payment.paid;

  test('errorNext: a 500 that is retryable and not applied', async () => {
    sim.setFaults({ errorNext: 1 });
    const e = await bitrixError(markPaid());
    expect([e.code, e.httpStatus, e.retryable]).toEqual(['INTERNAL_SERVER_ERROR', 500, true]);
    expect(paidInSim()).toBe(false);
    await markPaid();
    expect(paidInSim()).toBe(true);
    expect(sim.requestCounts().faults.error).toBe(1);
  });

  test('errorRate 1 fails everything until cleared', async () => {
    sim.setFaults({ errorRate: 1 });
    await expect(client.getOrder(orderId)).rejects.toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
    await expect(client.getOrder(orderId)).rejects.toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
    sim.setFaults({});
    await expect(client.getOrder(orderId)).resolves.toMatchObject({ id: orderId });
  });

  test('timeoutNext / timeoutRate: the request hangs past the client timeout and is not applied', async () => {
    sim.setFaults({ timeoutNext: 1 });
    const e = await bitrixError(markPaid());
    expect([e.code, e.retryable]).toEqual(['TIMEOUT', true]);
    expect(paidInSim()).toBe(false);
    sim.setFaults({ timeoutRate: 1, hangMs: 1000 });
    expect((await bitrixError(client.getOrder(orderId))).code).toBe('TIMEOUT');
    sim.setFaults({});
    expect(sim.requestCounts().faults.timeout).toBe(2);
  });

  test('applyThenLoseNext: the change is in Bitrix, the client only saw a broken connection', async () => {
    sim.setFaults({ applyThenLoseNext: 1 });
    const e = await bitrixError(markPaid());
    expect([e.code, e.retryable]).toEqual(['NETWORK', true]);
    expect(sim.state.findPayment(Number(paymentId)).payment).toMatchObject({ paid: true, psInvoiceId: 'evo-42' });
    const seen = await client.getOrder(orderId);
    expect(seen.payments[0]).toMatchObject({ paid: true, psInvoiceId: 'evo-42' });
    expect(sim.requestCounts().faults.applyThenLose).toBe(1);
  });

  test('applyThenLoseRate on a batch applies every command', async () => {
    sim.setStock({ productId: 5, storeId: 1, amount: 3 });
    sim.setFaults({ applyThenLoseRate: 1, method: 'batch' });
    const e = await bitrixError(
      client.batch({
        doc: { method: 'catalog.document.add', params: { fields: { docType: 'D', currency: 'RUB', responsibleId: 1, title: 'evo-9' } } },
        l: { method: 'catalog.document.element.add', params: { fields: { docId: '$result[doc][document][id]', elementId: 5, storeFrom: 1, amount: 2 } } },
        go: { method: 'catalog.document.conduct', params: { id: '$result[doc][document][id]' } },
      }),
    );
    expect(e.code).toBe('NETWORK');
    expect(sim.state.stock.get('1:5')!.amount).toBe(1);
    sim.setFaults({});
    expect(await client.listDocuments({ title: 'evo-9' })).toEqual([expect.objectContaining({ status: 'Y' })]);
  });

  test('faults scoped to one method leave the others alone', async () => {
    sim.setFaults({ method: 'sale.payment.update', errorRate: 1 });
    await expect(client.getOrder(orderId)).resolves.toMatchObject({ id: orderId });
    await expect(markPaid()).rejects.toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
  });

  test('latencyMs delays every answer; faults are settable through the admin API', async () => {
    const res = await fetch(`${sim.adminUrl}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 150 }),
    });
    expect(await res.json()).toEqual({ faults: { latencyMs: 150 } });
    const started = Date.now();
    await client.getOrder(orderId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    sim.setFaults({});
  });
});
