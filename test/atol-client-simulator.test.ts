import pino from 'pino';
import type { OrderSnapshot } from '../domain/order';
import { AtolClient, type AtolClientOptions, type AtolReport } from '../activities/atol/client';
import { buildAtolSellReceipt, type AtolSellReceiptInput } from '../activities/atol/receipt';
import type { AtolReceiptRequest } from '../activities/atol/wire';
import { startAtolSimulator, type AtolSimulator, type AtolSimulatorOptions } from '../simulators/atol/simulator';
import { caught } from './support/errors';

const silent = pino({ level: 'silent' });
let sim: AtolSimulator;

async function start(overrides: Partial<AtolSimulatorOptions> = {}): Promise<void> {
  await sim?.close();
  sim = await startAtolSimulator({
    login: 'shop-login', password: 'shop-password', groupCode: 'shop-group',
    processingDelayMs: 20, rateLimitPerSec: 0, logger: silent, ...overrides,
  });
}

function client(overrides: Partial<AtolClientOptions> = {}): AtolClient {
  return new AtolClient({
    apiUrl: sim.url, login: 'shop-login', password: 'shop-password', groupCode: 'shop-group',
    minRequestIntervalMs: 0, timeoutMs: 2000, logger: silent, ...overrides,
  });
}

const order: OrderSnapshot = {
  id: '42', accountNumber: '1042', currency: 'RUB', total: 150050, statusId: 'N', paid: false, canceled: false, deducted: false,
  items: [
    { basketId: '1', productId: '7', name: 'Чайник электрический', price: 120000, quantity: 1, vatRate: 0.22, vatIncluded: true, measureCode: '796', reservations: [] },
    { basketId: '2', productId: '8', name: 'Мёд гречишный', price: 60100, quantity: 0.5, vatRate: 0.1, vatIncluded: true, measureCode: '166', reservations: [] },
  ],
  payments: [], shipments: [], buyer: { phone: '8 (912) 345-67-89' },
};

function receipt(overrides: Partial<AtolSellReceiptInput> = {}): AtolReceiptRequest {
  return buildAtolSellReceipt({
    order, externalId: `pos-payment:42:sell:${Math.random().toString(36).slice(2)}`, receiptTime: new Date('2026-04-01T07:00:00Z'),
    timeZone: 'Europe/Moscow', company: { email: 'shop@example.ru', sno: 'osn', inn: '7701234567', paymentAddress: 'https://shop.example.ru' },
    kind: 'full_payment', ...overrides,
  });
}

async function settle(c: AtolClient, uuid: string): Promise<AtolReport> {
  for (let i = 0; i < 100; i += 1) {
    const r = await c.getReport(uuid);
    if (r.status !== 'wait') return r;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error('receipt did not settle');
}

beforeEach(() => start());
afterAll(() => sim?.close());

describe('AtolClient against the ATOL simulator', () => {
  it('fiscalizes a built receipt: sell, poll, fiscal attributes; ATOL holds exactly what was built', async () => {
    const c = client();
    const body = receipt();
    const { uuid, alreadyAccepted } = await c.sell(body);
    expect(alreadyAccepted).toBe(false);
    const report = await settle(c, uuid);
    expect(report.status).toBe('done');
    expect(report.fiscal).toMatchObject({ source: 'atol', total: 150050, fnNumber: expect.stringMatching(/^\d{16}$/) });
    expect(new Date(report.fiscal!.receiptDateTime).toISOString()).toBe(report.fiscal!.receiptDateTime);
    expect(Math.abs(Date.parse(report.fiscal!.receiptDateTime) - Date.now())).toBeLessThan(5000);

    const [held] = sim.state.receipts.sell;
    expect(held).toMatchObject({ uuid, external_id: body.external_id, status: 'done', timestamp: '01.04.2026 10:00:00' });
    expect(held.body).toEqual(body);
    expect(held.body.receipt).toMatchObject({ client: { phone: '+79123456789' }, total: 1500.5 });
  });

  it('survives a lost answer: the retry of the same external_id is "already accepted", one receipt at ATOL', async () => {
    const c = client();
    const body = receipt();
    sim.setFaults({ applyThenLoseNext: 1 });
    const lost = await caught(c.sell(body));
    expect(lost).toMatchObject({ code: 'NETWORK', retryable: true });
    const retry = await c.sell(body);
    expect(retry.alreadyAccepted).toBe(true);
    expect(sim.state.receipts.sell.map((r) => r.uuid)).toEqual([retry.uuid]);
    expect((await settle(c, retry.uuid)).status).toBe('done');
  });

  it('refreshes an expired token once, transparently', async () => {
    const c = client();
    await c.sell(receipt());
    sim.expireTokens();
    await expect(c.sell(receipt())).resolves.toMatchObject({ alreadyAccepted: false });
    expect(sim.state.tokens.issued).toBe(2);
  });

  it('reports wait while ATOL has no state for the receipt yet (code 34)', async () => {
    await start({ stateLagMs: 10_000 });
    const c = client();
    const { uuid } = await c.sell(receipt());
    await expect(c.getReport(uuid)).resolves.toEqual({ status: 'wait' });
  });

  it('a vat20 receipt dated 2026 (which our builder refuses to build) ends in fail with a register error', async () => {
    const withVat20 = { ...order, items: [{ ...order.items[0], vatRate: 0.2 }], total: 120000 };
    expect(() => receipt({ order: withVat20 })).toThrow(/VAT rate 20% is not valid on 2026-04-01/);
    const body = receipt();
    body.receipt.items[0].vat = { type: 'vat20', sum: 200 };
    const c = client();
    const { uuid } = await c.sell(body);
    const report = await settle(c, uuid);
    expect(report).toMatchObject({ status: 'fail', error: { type: 'driver', code: 13 } });
    expect(report.error!.text).toContain('vat20');
  });

  it('turns simulator refusals into typed errors: 32 not retryable, 5xx retryable, wrong password not retryable', async () => {
    const c = client();
    const body = receipt();
    body.receipt.items[0].sum = 1199.99;
    expect(await caught(c.sell(body))).toMatchObject({ code: '32', retryable: false, httpStatus: 400 });

    sim.setFaults({ errorRate: 1 });
    expect(await caught(c.sell(receipt()))).toMatchObject({ code: '50', retryable: true, httpStatus: 500 });
    sim.reset();

    expect(await caught(client({ password: 'wrong' }).sell(receipt()))).toMatchObject({ code: '12', retryable: false });
  });

  it('its request spacing keeps it under the simulator\'s rate limit', async () => {
    await start({ rateLimitPerSec: 10 });
    const c = client({ minRequestIntervalMs: 100 });
    const { uuid } = await c.sell(receipt());
    for (let i = 0; i < 4; i += 1) await c.getReport(uuid);
    expect(sim.state.counters.rateLimited).toBe(0);
  });
});
