import pino from 'pino';
import { request } from 'undici';
import type { OrderSnapshot } from '../domain/order';
import { AtolClient, type AtolClientOptions } from '../activities/atol/client';
import { buildAtolSellReceipt } from '../activities/atol/receipt';
import type { AtolReceiptRequest } from '../activities/atol/wire';
import { startAtolSimulator, type AtolSimulator, type AtolSimulatorState } from '../simulators/atol/simulator';
import { caught } from './support/errors';

/**
 * The ATOL simulator's transport faults (timeouts, lost answers, scoping), seen through the real AtolClient:
 * what the client reports and what ATOL holds afterwards.
 */

const silent = pino({ level: 'silent' });
const CLIENT_TIMEOUT_MS = 150;
let sim: AtolSimulator;

function client(overrides: Partial<AtolClientOptions> = {}): AtolClient {
  return new AtolClient({
    apiUrl: sim.url, login: 'shop-login', password: 'shop-password', groupCode: 'shop-group',
    minRequestIntervalMs: 0, timeoutMs: CLIENT_TIMEOUT_MS, logger: silent, ...overrides,
  });
}

const order: OrderSnapshot = {
  id: '42', accountNumber: '1042', currency: 'RUB', total: 120000, statusId: 'N', paid: false, canceled: false, deducted: false,
  items: [
    { basketId: '1', productId: '7', name: 'Чайник электрический', price: 120000, quantity: 1, vatRate: 0.22, vatIncluded: true, measureCode: '796', reservations: [] },
  ],
  payments: [], shipments: [], buyer: { email: 'buyer@example.ru' },
};

let seq = 0;
function receipt(): AtolReceiptRequest {
  seq += 1;
  return buildAtolSellReceipt({
    order, externalId: `pos-payment:42:sell:faults-${seq}`, receiptTime: new Date('2026-04-01T07:00:00Z'),
    timeZone: 'Europe/Moscow', company: { email: 'shop@example.ru', sno: 'osn', inn: '7701234567', paymentAddress: 'https://shop.example.ru' },
    kind: 'full_payment',
  });
}

async function adminState(): Promise<AtolSimulatorState> {
  const res = await request(`${sim.adminUrl}/state`);
  return (await res.body.json()) as AtolSimulatorState;
}

async function adminFaults(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`${sim.adminUrl}/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

/** Hanging requests leave once the client's abort reaches the server. */
async function untilNoneHanging(): Promise<void> {
  for (let i = 0; i < 100 && sim.state.hangingRequests > 0; i += 1) await new Promise((r) => setTimeout(r, 5));
  expect(sim.state.hangingRequests).toBe(0);
}

beforeEach(async () => {
  await sim?.close();
  sim = await startAtolSimulator({
    login: 'shop-login', password: 'shop-password', groupCode: 'shop-group',
    processingDelayMs: 10_000, rateLimitPerSec: 0, logger: silent,
  });
});
afterAll(() => sim?.close());

describe('ATOL simulator timeouts through AtolClient', () => {
  it('timeoutNext on sell: retryable TIMEOUT, no receipt registered; the retry registers exactly one', async () => {
    const c = client();
    const body = receipt();
    expect((await adminFaults({ timeoutNext: 1, operation: 'sell' })).status).toBe(200);

    const started = Date.now();
    const err = await caught(c.sell(body));
    expect(err).toMatchObject({ system: 'atol', code: 'TIMEOUT', retryable: true });
    expect(Date.now() - started).toBeLessThan(CLIENT_TIMEOUT_MS + 1000);
    await untilNoneHanging();

    const state = await adminState();
    expect(state.receipts.sell).toEqual([]);
    expect(state.counters.timeouts).toBe(1);
    expect(state.faults).toMatchObject({ timeoutNext: 0, operation: 'sell' });

    const retry = await c.sell(body);
    expect(retry.alreadyAccepted).toBe(false);
    expect(sim.state.receipts.sell.map((r) => [r.uuid, r.external_id])).toEqual([[retry.uuid, body.external_id]]);
  });

  it('timeoutRate 1 hangs every request in scope; GET /_admin/state shows the hanging request', async () => {
    const c = client({ timeoutMs: 400 });
    await c.sell(receipt()); // token cached, one receipt
    sim.setFaults({ timeoutRate: 1 });

    const pending = caught(c.sell(receipt()));
    await new Promise((r) => setTimeout(r, 100));
    const during = await adminState(); // admin is never faulted
    expect(during.hangingRequests).toBe(1);
    expect(during.faults).toMatchObject({ timeoutRate: 1 });

    expect(await pending).toMatchObject({ code: 'TIMEOUT', retryable: true });
    await untilNoneHanging();
    expect(sim.state.receipts.sell).toHaveLength(1);
  });

  it('without a scope the first request to hang is getToken: no token issued, nothing registered', async () => {
    sim.setFaults({ timeoutNext: 1 });
    expect(await caught(client().sell(receipt()))).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(sim.state.tokens.issued).toBe(0);
    expect(sim.state.receipts.sell).toEqual([]);
  });

  it('hangMs shorter than the client timeout: the socket is dropped unanswered → retryable NETWORK, nothing registered', async () => {
    const c = client({ timeoutMs: 2000 });
    sim.setFaults({ timeoutNext: 1, hangMs: 50, operation: 'sell' });
    const started = Date.now();
    expect(await caught(c.sell(receipt()))).toMatchObject({ code: 'NETWORK', retryable: true });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(sim.state.receipts.sell).toEqual([]);
    expect(sim.state.hangingRequests).toBe(0);
  });

  it('close() does not wait for hanging requests: it destroys them', async () => {
    sim.setFaults({ timeoutNext: 1, hangMs: 60_000 });
    const hung = request(`${sim.url}/getToken?login=shop-login&pass=shop-password`).then(
      () => 'answered',
      () => 'dropped',
    );
    for (let i = 0; i < 100 && sim.state.hangingRequests === 0; i += 1) await new Promise((r) => setTimeout(r, 5));
    expect(sim.state.hangingRequests).toBe(1);

    const started = Date.now();
    await sim.close();
    expect(Date.now() - started).toBeLessThan(500);
    expect(await hung).toBe('dropped');
  });
});

describe('ATOL simulator lost answers through AtolClient', () => {
  it('applyThenLoseRate on sell: retryable error, the receipt IS registered; the resend is alreadyAccepted with the original uuid', async () => {
    const c = client();
    const body = receipt();
    sim.setFaults({ applyThenLoseRate: 1, operation: 'sell' });

    const lost = await caught(c.sell(body));
    expect(lost).toMatchObject({ code: 'NETWORK', retryable: true });
    const [held] = sim.state.receipts.sell;
    expect(held).toMatchObject({ external_id: body.external_id, status: 'wait' });
    expect(sim.state.counters.lostAnswers).toBe(1);

    sim.setFaults({ applyThenLoseRate: 0 });
    const resend = await c.sell(body); // code 33 with the original uuid
    expect(resend).toEqual({ uuid: held.uuid, alreadyAccepted: true });
    expect(sim.state.receipts.sell.map((r) => r.uuid)).toEqual([held.uuid]);
  });

  it('applyThenLoseNext counts down: one lost answer, then normal answers', async () => {
    const c = client();
    sim.setFaults({ applyThenLoseNext: 1, operation: 'sell' });
    expect(await caught(c.sell(receipt()))).toMatchObject({ retryable: true });
    await expect(c.sell(receipt())).resolves.toMatchObject({ alreadyAccepted: false });
    expect(sim.state.receipts.sell).toHaveLength(2);
    expect(sim.state.faults.applyThenLoseNext).toBe(0);
  });
});

describe('ATOL simulator fault scoping', () => {
  it('operation report: reports time out and fail, sells and getToken go through untouched', async () => {
    const c = client();
    sim.setFaults({ operation: 'report', timeoutNext: 1, errorRate: 1, latencyMs: 1000 });
    const started = Date.now();
    const { uuid } = await c.sell(receipt());
    expect(Date.now() - started).toBeLessThan(500); // latency is scoped too
    expect(sim.state.faults.timeoutNext).toBe(1);
    sim.setFaults({ latencyMs: 0 });

    expect(await caught(c.getReport(uuid))).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(await caught(c.getReport(uuid))).toMatchObject({ code: '50', retryable: true });
    expect(sim.state.counters).toMatchObject({ timeouts: 1, injectedErrors: 1 });
  });

  it('operation sell_refund: lost answers do not touch sell', async () => {
    const c = client();
    sim.setFaults({ operation: 'sell_refund', applyThenLoseRate: 1 });
    await expect(c.sell(receipt())).resolves.toMatchObject({ alreadyAccepted: false });
    expect(await caught(c.sellRefund(receipt()))).toMatchObject({ code: 'NETWORK', retryable: true });
    expect(sim.state.receipts.sell_refund).toHaveLength(1);
    expect(sim.state.counters.lostAnswers).toBe(1);
  });

  it('operation getToken: a client holding a token is unaffected, a new one times out', async () => {
    const warm = client();
    await warm.sell(receipt());
    sim.setFaults({ operation: 'getToken', timeoutRate: 1 });
    await expect(warm.sell(receipt())).resolves.toMatchObject({ alreadyAccepted: false });
    expect(await caught(client().sell(receipt()))).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(sim.state.tokens.issued).toBe(1);
  });

  it('POST /_admin/faults validates the new options; operation null lifts the scope', async () => {
    expect((await adminFaults({ timeoutRate: 1.5 })).status).toBe(400);
    expect((await adminFaults({ applyThenLoseRate: -0.1 })).status).toBe(400);
    expect((await adminFaults({ timeoutNext: 1.5 })).status).toBe(400);
    expect((await adminFaults({ operation: 'buy' })).status).toBe(400);
    expect((await adminFaults({ operation: 'report', hangMs: 10 })).json.faults).toEqual({ operation: 'report', hangMs: 10 });
    expect((await adminFaults({ operation: null })).json.faults).toEqual({ hangMs: 10 });
    sim.reset();
    expect((await adminState()).faults).toEqual({});
  });
});
