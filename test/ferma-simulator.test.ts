/* eslint-disable @typescript-eslint/no-explicit-any -- these tests bend wire JSON into invalid shapes on purpose */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { request } from 'undici';
import { startFermaSimulator, type FermaSimulator, type FermaSimulatorOptions } from '../simulators/ferma';
import { fermaFixture, shapeDifferences } from './fixtures/ferma/fixtures';

const LOGIN = 'shop-login';
const PASSWORD = 'shop-password';
const INN = '7701234567';
const CLOCK = new Date('2026-03-15T09:30:00Z');

let sim: FermaSimulator;
let clock: Date;

async function start(overrides: Partial<FermaSimulatorOptions> = {}): Promise<FermaSimulator> {
  await sim?.close();
  clock = CLOCK;
  sim = await startFermaSimulator({
    login: LOGIN, password: PASSWORD, inns: [INN], processingDelayMs: 20, confirmationDelayMs: 20, rateLimitPerSec: 0,
    clock: () => clock, logger: pino({ level: 'silent' }), ...overrides,
  });
  return sim;
}

interface Answer { status: number; json: any; text: string; headers: Record<string, unknown> }

async function post(path: string, body: unknown, opts: { token?: string; raw?: string; contentType?: string; timeoutMs?: number } = {}): Promise<Answer> {
  const query = opts.token ? `?AuthToken=${opts.token}` : '';
  const res = await request(`${sim.url}${path}${query}`, {
    method: 'POST',
    headers: { 'content-type': opts.contentType ?? 'application/json' },
    body: opts.raw ?? JSON.stringify(body),
    ...(opts.timeoutMs ? { signal: AbortSignal.timeout(opts.timeoutMs) } : {}),
  });
  const text = await res.body.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.statusCode, json, text, headers: res.headers };
}

async function token(): Promise<string> {
  return (await post('/Authorization/CreateAuthToken', fermaFixture('create-auth-token.request'))).json.Data.AuthToken as string;
}

const receipt = async (body: unknown, t?: string): Promise<Answer> => post('/kkt/cloud/receipt', body, { token: t ?? (await token()) });
const status = async (key: { ReceiptId: string } | { InvoiceId: string }, t?: string): Promise<Answer> =>
  post('/kkt/cloud/status', { Request: key }, { token: t ?? (await token()) });

async function settled(receiptId: string): Promise<Answer> {
  for (let i = 0; i < 200; i += 1) {
    const r = await status({ ReceiptId: receiptId });
    if (r.json?.Data?.StatusName === 'CONFIRMED' || r.json?.Data?.StatusName === 'KKT_ERROR') return r;
    await new Promise((res) => setTimeout(res, 5));
  }
  throw new Error(`receipt ${receiptId} did not settle`);
}

/** The Income fixture under a fresh InvoiceId, without callback, optionally with another Vat on its first line. */
function bodyWith(opts: { vat?: string; invoiceId?: string; type?: string } = {}): any {
  const body = fermaFixture<any>('receipt.income.request');
  body.Request.InvoiceId = opts.invoiceId ?? `inv-${Math.random().toString(36).slice(2)}`;
  if (opts.vat) body.Request.CustomerReceipt.Items[0].Vat = opts.vat;
  if (opts.type) body.Request.Type = opts.type;
  delete body.Request.CallbackUrl;
  return body;
}

beforeEach(() => start());
afterAll(() => sim?.close());

describe('Ferma simulator answers in the shapes of the fixtures', () => {
  it('CreateAuthToken: {Status, Data: {AuthToken, ExpirationDateUtc}} in UTC; wrong credentials → 401 code 1001', async () => {
    await start({ tokenTtlMs: 3600_000 });
    const good = await post('/Authorization/CreateAuthToken', fermaFixture('create-auth-token.request'));
    expect(good.status).toBe(200);
    expect(shapeDifferences(good.json, fermaFixture('create-auth-token.response'))).toEqual([]);
    expect(good.json.Data.AuthToken).toMatch(/^[0-9a-f]{32}$/);
    expect(good.json.Data.ExpirationDateUtc).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect(Math.abs(Date.parse(`${good.json.Data.ExpirationDateUtc}Z`) - (Date.now() + 3600_000))).toBeLessThan(3000);

    const bad = await post('/Authorization/CreateAuthToken', { Login: LOGIN, Password: 'nope' });
    expect(bad.status).toBe(401);
    expect(shapeDifferences(bad.json, fermaFixture('create-auth-token.error-wrong-credentials'))).toEqual([]);
    expect(bad.json.Error.Code).toBe(1001);
    expect(bad.text).not.toContain('nope');
  });

  it('CreateAuthToken without a field → 400 code 1004; not application/json → 415', async () => {
    const missing = await post('/Authorization/CreateAuthToken', { Login: LOGIN });
    expect([missing.status, missing.json.Error.Code]).toEqual([400, 1004]);
    const media = await post('/Authorization/CreateAuthToken', undefined, { raw: JSON.stringify(fermaFixture('create-auth-token.request')), contentType: 'text/plain' });
    expect([media.status, media.json.Status]).toEqual([415, 'Failed']);
  });

  it('an Income of the fixture → Data.ReceiptId; status NEW, then PROCESSED with device data, then CONFIRMED', async () => {
    await start({ processingDelayMs: 150, confirmationDelayMs: 150 });
    const t = await token();
    const accepted = await receipt(bodyWith({ invoiceId: 'pos-236-sell' }), t);
    expect(accepted.status).toBe(200);
    expect(shapeDifferences(accepted.json, fermaFixture('receipt.response'))).toEqual([]);
    const receiptId = accepted.json.Data.ReceiptId;
    expect(receiptId).toMatch(/^[0-9a-f-]{36}$/);

    const early = await status({ ReceiptId: receiptId }, t);
    expect(early.status).toBe(200);
    expect(shapeDifferences(early.json, fermaFixture('status.new'))).toEqual([]);
    expect(early.json.Data).toMatchObject({ StatusCode: 0, StatusName: 'NEW', ReceiptId: receiptId, Device: null });

    await new Promise((r) => setTimeout(r, 200));
    const processed = await status({ InvoiceId: 'pos-236-sell' }, t);
    expect(shapeDifferences(processed.json, fermaFixture('status.processed'))).toEqual([]);
    expect(processed.json.Data).toMatchObject({ StatusCode: 1, StatusName: 'PROCESSED', ReceiptId: receiptId, ReceiptDateUtc: '2026-03-15T09:30:00' });

    const confirmed = await settled(receiptId);
    expect(shapeDifferences(confirmed.json, fermaFixture('status.confirmed'))).toEqual([]);
    const d = confirmed.json.Data;
    expect(d).toMatchObject({ StatusCode: 2, StatusName: 'CONFIRMED' });
    expect(d.Device.FN).toMatch(/^\d{16}$/);
    expect(d.Device.RNM).toMatch(/^\d{16}$/);
    expect(d.Device.FPD).toMatch(/^\d+$/);
    expect(d.Device.OfdReceiptUrl).toContain(`/${INN}/`);
    expect(sim.state.receipts.Income).toMatchObject([{ receiptId, invoiceId: 'pos-236-sell', stage: 'CONFIRMED', total: 2900.68, vats: ['Vat22', 'Vat10', 'VatNo'] }]);
  });

  it('an IncomeReturn of the fixture is held as a refund', async () => {
    const r = await receipt(fermaFixture('receipt.income-return.request'));
    expect(r.status).toBe(200);
    expect((await settled(r.json.Data.ReceiptId)).json.Data.StatusName).toBe('CONFIRMED');
    expect(sim.state.receipts.IncomeReturn).toMatchObject([{ invoiceId: 'pos-236-refund-1', type: 'IncomeReturn', total: 1299 }]);
    expect(sim.state.receipts.Income).toEqual([]);
  });

  it('status of an unknown ReceiptId or InvoiceId → 404 code 1005; a status body without a key → 1004 naming Request.ReceiptId', async () => {
    const t = await token();
    for (const key of [{ ReceiptId: '00000000-0000-4000-8000-000000000000' }, { InvoiceId: 'never-sent' }]) {
      const r = await status(key, t);
      expect(r.status).toBe(404);
      expect(shapeDifferences(r.json, fermaFixture('status.error-not-found'))).toEqual([]);
      expect(r.json.Error.Code).toBe(1005);
    }
    const empty = await post('/kkt/cloud/status', { Request: {} }, { token: t });
    expect([empty.status, empty.json.Error.Code]).toEqual([400, 1004]);
    expect(empty.json.Error.Message).toContain('Request.ReceiptId');
  });

  it('a repeated InvoiceId → code 1019 naming the original ReceiptId; nothing registered twice, whatever the Type', async () => {
    const t = await token();
    const first = await receipt(bodyWith({ invoiceId: 'pos-236-sell' }), t);
    const again = await receipt(bodyWith({ invoiceId: 'pos-236-sell' }), t);
    expect(again.status).toBe(400);
    expect(shapeDifferences(again.json, fermaFixture('receipt.error-duplicate'))).toEqual([]);
    expect(again.json.Error.Code).toBe(1019);
    expect(again.json.Error.Message).toContain(`--${first.json.Data.ReceiptId}--`);
    const asRefund = await receipt(bodyWith({ invoiceId: 'pos-236-sell', type: 'IncomeReturn' }), t);
    expect(asRefund.json.Error.Code).toBe(1019);
    expect(sim.state.receipts.Income).toHaveLength(1);
    expect(sim.state.receipts.IncomeReturn).toHaveLength(0);
  });
});

describe('Ferma simulator authentication and routing', () => {
  it('no AuthToken or an unknown one → 401 code 1002', async () => {
    const none = await post('/kkt/cloud/receipt', bodyWith());
    expect([none.status, none.json.Error.Code]).toEqual([401, 1002]);
    const unknown = await receipt(bodyWith(), 'deadbeef');
    expect([unknown.status, unknown.json.Error.Code]).toEqual([401, 1002]);
    expect(sim.state.receipts.Income).toEqual([]);
  });

  it('tokens expire after tokenTtlMs → 401 code 1003; expireTokens() does it at once', async () => {
    await start({ tokenTtlMs: 30 });
    const t = await token();
    await new Promise((r) => setTimeout(r, 50));
    const r = await receipt(bodyWith(), t);
    expect([r.status, r.json.Error.Code]).toEqual([401, 1003]);
    expect(shapeDifferences(r.json, fermaFixture('error-expired-token'))).toEqual([]);
    await start();
    const fresh = await token();
    sim.expireTokens();
    expect((await status({ InvoiceId: 'x' }, fresh)).json.Error.Code).toBe(1003);
  });

  it('errorsWithHttp200: refusals come with HTTP 200 and the same Failed body', async () => {
    await start({ errorsWithHttp200: true });
    const bad = await post('/Authorization/CreateAuthToken', { Login: LOGIN, Password: 'nope' });
    expect([bad.status, bad.json.Status, bad.json.Error.Code]).toEqual([200, 'Failed', 1001]);
    const t = await token();
    const invalid = bodyWith();
    invalid.Request.CustomerReceipt.Items[0].Vat = 'Vat18';
    const refused = await receipt(invalid, t);
    expect([refused.status, refused.json.Error.Code]).toEqual([200, 1004]);
    const body = bodyWith();
    await receipt(body, t);
    expect((await receipt(body, t))).toMatchObject({ status: 200, json: { Status: 'Failed', Error: { Code: 1019 } } });
  });

  it('a body that is not JSON → 400 code 1000; unknown paths → 404', async () => {
    const t = await token();
    const broken = await post('/kkt/cloud/receipt', undefined, { raw: '{"Request":', token: t });
    expect([broken.status, broken.json.Error.Code]).toEqual([400, 1000]);
    const nowhere = await post('/kkt/cloud/teleport', {}, { token: t });
    expect([nowhere.status, nowhere.json.Status]).toEqual([404, 'Failed']);
  });
});

describe('Ferma simulator validates receipts (code 1004 naming the field)', () => {
  type Mutation = [string, string, (b: any) => void];
  const cr = (b: any) => b.Request.CustomerReceipt;
  const item = (b: any) => cr(b).Items[0];
  const cases: Mutation[] = [
    ['missing Request', 'Request', (b) => { delete b.Request; }],
    ['Inn malformed', 'Request.Inn', (b) => { b.Request.Inn = '12345'; }],
    ['Inn without registers in the account', 'Request.Inn', (b) => { b.Request.Inn = '7700000001'; }],
    ['Type unknown', 'Request.Type', (b) => { b.Request.Type = 'Sell'; }],
    ['Type not simulated', 'Request.Type', (b) => { b.Request.Type = 'Expense'; }],
    ['InvoiceId missing', 'Request.InvoiceId', (b) => { delete b.Request.InvoiceId; }],
    ['InvoiceId over 64', 'Request.InvoiceId', (b) => { b.Request.InvoiceId = 'x'.repeat(65); }],
    ['CallbackUrl not http', 'Request.CallbackUrl', (b) => { b.Request.CallbackUrl = 'ftp://x'; }],
    ['CustomerReceipt missing', 'Request.CustomerReceipt', (b) => { delete b.Request.CustomerReceipt; }],
    ['TaxationSystem unknown', 'Request.CustomerReceipt.TaxationSystem', (b) => { cr(b).TaxationSystem = 'USN'; }],
    ['no Email and no Phone', 'Request.CustomerReceipt.Email', (b) => { delete cr(b).Email; }],
    ['Email malformed', 'Request.CustomerReceipt.Email', (b) => { cr(b).Email = 'nobody'; }],
    ['Phone malformed', 'Request.CustomerReceipt.Phone', (b) => { delete cr(b).Email; cr(b).Phone = '+7 (912) 345'; }],
    ['no Items', 'Request.CustomerReceipt.Items', (b) => { cr(b).Items = []; }],
    ['101 Items', 'Request.CustomerReceipt.Items', (b) => { cr(b).Items = Array(101).fill(item(b)); }],
    ['Label empty', 'Request.CustomerReceipt.Items[0].Label', (b) => { item(b).Label = ''; }],
    ['Label over 128', 'Request.CustomerReceipt.Items[0].Label', (b) => { item(b).Label = 'Ж'.repeat(129); }],
    ['Price with 3 decimals', 'Request.CustomerReceipt.Items[0].Price', (b) => { item(b).Price = 1299.001; }],
    ['Price as a string', 'Request.CustomerReceipt.Items[0].Price', (b) => { item(b).Price = '1299'; }],
    ['Quantity 0', 'Request.CustomerReceipt.Items[0].Quantity', (b) => { item(b).Quantity = 0; }],
    ['Amount with float noise', 'Request.CustomerReceipt.Items[0].Amount', (b) => { item(b).Amount = 0.1 + 0.2; }],
    ['Amount ≠ Price × Quantity', 'Request.CustomerReceipt.Items[0].Amount', (b) => { item(b).Amount = 2598.02; }],
    ['Vat unknown', 'Request.CustomerReceipt.Items[0].Vat', (b) => { item(b).Vat = 'Vat18'; }],
    ['Vat in ATOL spelling', 'Request.CustomerReceipt.Items[0].Vat', (b) => { item(b).Vat = 'vat22'; }],
    ['Measure missing', 'Request.CustomerReceipt.Items[0].Measure', (b) => { delete item(b).Measure; }],
    ['Measure as text', 'Request.CustomerReceipt.Items[0].Measure', (b) => { item(b).Measure = 'шт'; }],
    ['PaymentMethod 0', 'Request.CustomerReceipt.Items[0].PaymentMethod', (b) => { item(b).PaymentMethod = 0; }],
    ['PaymentMethod as text', 'Request.CustomerReceipt.Items[0].PaymentMethod', (b) => { item(b).PaymentMethod = 'full_payment'; }],
    ['PaymentType 34', 'Request.CustomerReceipt.Items[0].PaymentType', (b) => { item(b).PaymentType = 34; }],
    ['PaymentItems type 5', 'Request.CustomerReceipt.PaymentItems[0].PaymentType', (b) => { cr(b).PaymentItems[0].PaymentType = 5; }],
    ['PaymentItems sum ≠ items', 'Request.CustomerReceipt.PaymentItems', (b) => { cr(b).PaymentItems[0].Sum = 2900; }],
  ];

  it.each(cases)('%s → 400 code 1004 naming %s', async (_name, field, mutate) => {
    const body = bodyWith();
    mutate(body);
    const r = await receipt(body);
    expect(r.status).toBe(400);
    expect(shapeDifferences(r.json, fermaFixture('receipt.error-validation'))).toEqual([]);
    expect(r.json.Error.Code).toBe(1004);
    expect(r.json.Error.Message).toContain(`${field}: `);
    expect(sim.state.receipts.Income).toHaveLength(0);
  });

  it('accepts the fixture, the phone instead of the email, a numeric TaxationSystem, no PaymentItems, amounts rounded either way', async () => {
    const t = await token();
    expect((await receipt(bodyWith(), t)).status).toBe(200);
    const phone = bodyWith();
    delete phone.Request.CustomerReceipt.Email;
    phone.Request.CustomerReceipt.Phone = '+79991234567';
    expect((await receipt(phone, t)).status).toBe(200);
    const numeric = bodyWith();
    numeric.Request.CustomerReceipt.TaxationSystem = '0';
    delete numeric.Request.CustomerReceipt.PaymentItems;
    expect((await receipt(numeric, t)).status).toBe(200);
    const floor = bodyWith();
    floor.Request.CustomerReceipt.Items[1].Amount = 297.67; // 297.675 rounded down
    floor.Request.CustomerReceipt.PaymentItems[0].Sum = 2900.67;
    expect((await receipt(floor, t)).status).toBe(200);
    expect(sim.state.receipts.Income).toHaveLength(4);
  });
});

describe('Ferma simulator processing', () => {
  const outcome = async (body: unknown): Promise<any> => (await settled((await receipt(body)).json.Data.ReceiptId)).json.Data;

  it('fails an Income with Vat20 in 2026 with KKT_ERROR and the reason; accepts it on a refund of an older sale', async () => {
    const failed = await outcome(bodyWith({ vat: 'Vat20' }));
    expect(failed).toMatchObject({ StatusCode: 3, StatusName: 'KKT_ERROR', Device: null, ReceiptDateUtc: null });
    expect(failed.StatusMessage).toContain('Vat20 после 01.01.2026');
    expect((await outcome(bodyWith({ vat: 'Vat20', type: 'IncomeReturn' }))).StatusName).toBe('CONFIRMED');
  });

  it('decides by the register\'s calendar day in Moscow: Vat22 fails at 23:59:59 on 31.12.2025 and passes at 00:00', async () => {
    clock = new Date('2025-12-31T20:59:59Z');
    const before = await outcome(bodyWith());
    expect([before.StatusName, before.StatusMessage]).toEqual(['KKT_ERROR', expect.stringContaining('Vat22 до 01.01.2026')]);
    clock = new Date('2025-12-31T21:00:00Z');
    expect((await outcome(bodyWith())).StatusName).toBe('CONFIRMED');
    clock = new Date('2025-12-31T20:00:00Z');
    expect((await outcome(bodyWith({ vat: 'CalculatedVat20120' }))).StatusName).toBe('CONFIRMED');
  });

  it('fails the share given by failRate, and the next N with failNextReceipts', async () => {
    await start({ failRate: 1 });
    expect((await outcome(bodyWith())).StatusName).toBe('KKT_ERROR');
    await start();
    sim.setFaults({ failNextReceipts: 1 });
    expect((await outcome(bodyWith())).StatusName).toBe('KKT_ERROR');
    expect((await outcome(bodyWith())).StatusName).toBe('CONFIRMED');
  });

  it('holds a receipt at PROCESSED until the OFD confirms it; completePending finishes everything at once', async () => {
    await start({ processingDelayMs: 10, confirmationDelayMs: 60_000 });
    const t = await token();
    const a = (await receipt(bodyWith(), t)).json.Data.ReceiptId;
    await new Promise((r) => setTimeout(r, 100));
    expect((await status({ ReceiptId: a }, t)).json.Data.StatusName).toBe('PROCESSED');
    await start({ processingDelayMs: 60_000, confirmationDelayMs: 60_000 });
    const t2 = await token();
    const b = (await receipt(bodyWith(), t2)).json.Data.ReceiptId;
    expect((await status({ ReceiptId: b }, t2)).json.Data.StatusName).toBe('NEW');
    sim.completePending();
    expect((await status({ ReceiptId: b }, t2)).json.Data.StatusName).toBe('CONFIRMED');
  });

  it('POSTs the status to CallbackUrl when confirmed and when the register failed', async () => {
    const received: any[] = [];
    const hook: Server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => { raw += c; });
      req.on('end', () => { received.push(JSON.parse(raw)); res.end('ok'); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/webhooks/ferma/callback`;
    try {
      const good = bodyWith();
      good.Request.CallbackUrl = url;
      const failing = bodyWith({ vat: 'Vat20' });
      failing.Request.CallbackUrl = url;
      const done = (await receipt(good)).json.Data.ReceiptId;
      const failed = (await receipt(failing)).json.Data.ReceiptId;
      await settled(done);
      await settled(failed);
      for (let i = 0; i < 100 && received.length < 2; i += 1) await new Promise((r) => setTimeout(r, 10));
      expect(received.map((r) => [r.Data.ReceiptId, r.Data.StatusName]).sort()).toEqual([[done, 'CONFIRMED'], [failed, 'KKT_ERROR']].sort());
      expect(shapeDifferences(received.find((r) => r.Data.StatusName === 'CONFIRMED'), fermaFixture('status.confirmed'))).toEqual([]);
      expect(sim.state.callbacks.map((c) => c.httpStatus)).toEqual([200, 200]);
    } finally {
      hook.closeAllConnections();
      await new Promise((r) => hook.close(r));
    }
  });
});

describe('Ferma simulator limits and faults', () => {
  it('answers HTTP 429 with Retry-After and code 1029 above rateLimitPerSec', async () => {
    await start({ rateLimitPerSec: 1 });
    const t = await token();
    const first = await receipt(bodyWith(), t);
    const second = await receipt(bodyWith(), t);
    expect(first.status).toBe(200);
    expect([second.status, second.headers['retry-after'], second.json.Error.Code]).toEqual([429, '1', 1029]);
    expect(sim.state.counters.rateLimited).toBe(1);
    expect(sim.state.receipts.Income).toHaveLength(1);
  });

  it('errorRate 1 → 500 code 1500 without registering; errorStatus 502 → a proxy page', async () => {
    const t = await token();
    sim.setFaults({ errorRate: 1 });
    const r = await receipt(bodyWith(), t);
    expect([r.status, r.json.Error.Code]).toEqual([500, 1500]);
    sim.setFaults({ errorStatus: 502 });
    const proxy = await receipt(bodyWith(), t);
    expect([proxy.status, proxy.json]).toEqual([502, undefined]);
    expect(sim.state.receipts.Income).toHaveLength(0);
    expect(sim.state.counters.injectedErrors).toBe(2);
  });

  it('faults scoped to one operation leave the others alone', async () => {
    const t = await token();
    sim.setFaults({ errorRate: 1, operation: 'status' });
    const accepted = await receipt(bodyWith(), t);
    expect(accepted.status).toBe(200);
    expect((await status({ ReceiptId: accepted.json.Data.ReceiptId }, t)).status).toBe(500);
    sim.setFaults({ operation: null });
    expect(sim.state.faults.operation).toBeUndefined();
  });

  it('latencyMs delays every answer', async () => {
    const t = await token();
    sim.setFaults({ latencyMs: 150 });
    const started = Date.now();
    await status({ InvoiceId: 'x' }, t);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('timeoutNext: the request hangs and is not applied', async () => {
    const t = await token();
    sim.setFaults({ timeoutNext: 1, operation: 'receipt' });
    const body = bodyWith();
    await expect(post('/kkt/cloud/receipt', body, { token: t, timeoutMs: 150 })).rejects.toThrow();
    expect(sim.state.counters.timeouts).toBe(1);
    expect(sim.state.receipts.Income).toEqual([]);
    expect((await receipt(body, t)).status).toBe(200);
  });

  it('applyThenLoseNext registers the receipt, then drops the connection; the resend gets 1019 with that receipt', async () => {
    const t = await token();
    sim.setFaults({ applyThenLoseNext: 1 });
    const body = bodyWith({ invoiceId: 'lost-answer' });
    await expect(receipt(body, t)).rejects.toThrow();
    expect(sim.state.receipts.Income.map((r) => r.invoiceId)).toEqual(['lost-answer']);
    const again = await receipt(body, t);
    expect(again.json.Error.Code).toBe(1019);
    expect(again.json.Error.Message).toContain(sim.state.receipts.Income[0].receiptId);
    expect(sim.state.counters.lostAnswers).toBe(1);
  });
});

describe('Ferma simulator admin API', () => {
  const admin = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const res = await request(`${sim.adminUrl}/${path}`, {
      method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, json: await res.body.json() };
  };

  it('GET state lists receipts by type with stage; faults, expire-tokens, complete-pending and reset work over HTTP', async () => {
    await start({ processingDelayMs: 60_000 });
    const t = await token();
    await receipt(bodyWith({ invoiceId: 'via-admin' }), t);
    const state = (await admin('GET', 'state')).json;
    expect(state.receipts.Income).toMatchObject([{ invoiceId: 'via-admin', stage: 'NEW' }]);
    expect(state.tokens).toEqual({ issued: 1, active: 1, issuedByAccount: { 'shop-login': 1 } });

    expect((await admin('POST', 'faults', { latencyMs: -1 })).status).toBe(400);
    const set = await admin('POST', 'faults', { errorRate: 0.5, operation: 'status' });
    expect(set).toMatchObject({ status: 200, json: { faults: { errorRate: 0.5, operation: 'status' } } });

    await admin('POST', 'expire-tokens');
    expect((await receipt(bodyWith(), t)).json.Error.Code).toBe(1003);
    await admin('POST', 'complete-pending');
    expect(sim.state.receipts.Income[0].stage).toBe('CONFIRMED');
    await admin('POST', 'reset');
    expect(sim.state).toMatchObject({ receipts: { Income: [], IncomeReturn: [] }, faults: {}, tokens: { issued: 0, active: 0 } });
  });
});
