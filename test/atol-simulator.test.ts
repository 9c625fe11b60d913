/* eslint-disable @typescript-eslint/no-explicit-any -- these tests bend wire JSON into invalid shapes on purpose */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { request } from 'undici';
import { startAtolSimulator, type AtolSimulator, type AtolSimulatorOptions } from '../simulators/atol/simulator';
import { atolFixture, shapeDifferences } from './fixtures/atol/fixtures';

const LOGIN = 'shop-login';
const PASSWORD = 'shop-password';
const GROUP = 'shop-group';

let sim: AtolSimulator;

async function start(overrides: Partial<AtolSimulatorOptions> = {}): Promise<AtolSimulator> {
  await sim?.close();
  sim = await startAtolSimulator({
    login: LOGIN, password: PASSWORD, groupCode: GROUP, processingDelayMs: 20, rateLimitPerSec: 0,
    logger: pino({ level: 'silent' }), ...overrides,
  });
  return sim;
}

interface Answer { status: number; json: any; text: string; headers: Record<string, unknown> }

async function http(method: 'GET' | 'POST', url: string, opts: { body?: unknown; raw?: string; token?: string; contentType?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = opts.contentType ?? 'application/json; charset=utf-8';
  if (opts.token) headers.token = opts.token;
  const res = await request(url, { method, headers, body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
  const text = await res.body.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.statusCode, json, text, headers: res.headers };
}

async function token(): Promise<string> {
  const res = await http('POST', `${sim.url}/getToken`, { body: atolFixture('get-token.request') });
  return res.json.token as string;
}

const sell = async (body: unknown, t?: string, operation = 'sell', group = GROUP): Promise<Answer> =>
  http('POST', `${sim.url}/${group}/${operation}`, { body, token: t ?? (await token()) });

const report = async (uuid: string, t?: string): Promise<Answer> =>
  http('GET', `${sim.url}/${GROUP}/report/${uuid}`, { token: t ?? (await token()) });

async function settled(uuid: string): Promise<Answer> {
  for (let i = 0; i < 100; i += 1) {
    const r = await report(uuid);
    if (r.json?.status !== 'wait') return r;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`receipt ${uuid} did not settle`);
}

/** The fixture body with its receipt moved to another date and VAT tag. */
function bodyWith(opts: { timestamp?: string; vat?: string; externalId?: string } = {}): any {
  const body = atolFixture<any>('sell.request');
  if (opts.timestamp) body.timestamp = opts.timestamp;
  if (opts.vat) body.receipt.items[0].vat.type = opts.vat;
  body.external_id = opts.externalId ?? `ext-${Math.random().toString(36).slice(2)}`;
  delete body.service;
  return body;
}

beforeEach(() => start());
afterAll(() => sim?.close());

describe('ATOL simulator answers in the shapes of the fixtures', () => {
  it('getToken: {error: null, token, timestamp}; wrong credentials → 401 code 12', async () => {
    const good = await http('POST', `${sim.url}/getToken`, { body: atolFixture('get-token.request') });
    expect(good.status).toBe(200);
    expect(shapeDifferences(good.json, atolFixture('get-token.response'))).toEqual([]);
    expect(good.json.timestamp).toMatch(/^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$/);

    const bad = await http('POST', `${sim.url}/getToken`, { body: { login: LOGIN, pass: 'nope' } });
    expect(bad.status).toBe(401);
    expect(shapeDifferences(bad.json, atolFixture('get-token.error-12-wrong-login'))).toEqual([]);
    expect(bad.json.error.code).toBe(12);
    expect(bad.text).not.toContain(PASSWORD);
  });

  it('getToken also works as GET with query parameters, and rejects missing fields with 13', async () => {
    const viaGet = await http('GET', `${sim.url}/getToken?login=${LOGIN}&pass=${PASSWORD}`);
    expect(viaGet.json.token).toEqual(expect.any(String));
    const missing = await http('POST', `${sim.url}/getToken`, { body: { login: LOGIN } });
    expect([missing.status, missing.json.error.code]).toEqual([400, 13]);
  });

  it('sell of the fixture body → {uuid, status: wait, error: null, timestamp}; report wait, then done with a realistic payload', async () => {
    const t = await token();
    const accepted = await sell({ ...atolFixture('sell.request'), service: undefined }, t);
    expect(accepted.status).toBe(200);
    expect(shapeDifferences(accepted.json, atolFixture('sell.response'))).toEqual([]);
    expect(accepted.json.status).toBe('wait');

    const early = await report(accepted.json.uuid, t);
    expect(early.status).toBe(200);
    expect(early.json.status).toBe('wait');
    expect(shapeDifferences(early.json, atolFixture('report.wait'))).toEqual([]);

    const done = await settled(accepted.json.uuid);
    expect(done.status).toBe(200);
    expect(shapeDifferences(done.json, atolFixture('report.done'))).toEqual([]);
    const p = done.json.payload;
    expect(p.total).toBe(2900.68);
    expect(p.fn_number).toMatch(/^\d{16}$/);
    expect(p.ecr_registration_number).toMatch(/^\d{16}$/);
    expect(p.receipt_datetime).toMatch(/^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$/);
    expect(Number.isInteger(p.fiscal_document_attribute)).toBe(true);
    expect(done.json.external_id).toBe('pos-payment:236:sell');
  });

  it('report of a receipt the register failed carries the register error', async () => {
    await start({ failRate: 1 });
    const accepted = await sell(bodyWith());
    const failed = await settled(accepted.json.uuid);
    expect(shapeDifferences(failed.json, atolFixture('report.fail'))).toEqual([]);
    expect(failed.json).toMatchObject({ status: 'fail', payload: null, error: { type: 'driver' } });
  });

  it('report while the state is not yet known → HTTP 200, code 34, status wait', async () => {
    await start({ stateLagMs: 10_000 });
    const accepted = await sell(bodyWith());
    const r = await report(accepted.json.uuid);
    expect(r.status).toBe(200);
    expect(shapeDifferences(r.json, atolFixture('report.error-34-state-not-found'))).toEqual([]);
    expect(r.json).toMatchObject({ status: 'wait', error: { code: 34 } });
  });

  it('report of an unknown or malformed uuid → HTTP 400, code 30', async () => {
    for (const uuid of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const r = await report(uuid);
      expect(r.status).toBe(400);
      expect(shapeDifferences(r.json, atolFixture('report.error-30-missing-uuid'))).toEqual([]);
      expect(r.json.error.code).toBe(30);
    }
  });

  it('a repeated external_id → HTTP 400, code 33, status wait, the original uuid; nothing registered twice', async () => {
    const body = bodyWith({ externalId: 'pos-payment:236:sell' });
    const first = await sell(body);
    const again = await sell({ ...body, timestamp: '15.03.2026 12:31:00' });
    expect(again.status).toBe(400);
    expect(shapeDifferences(again.json, atolFixture('sell.error-33-duplicate'))).toEqual([]);
    expect(again.json).toMatchObject({ uuid: first.json.uuid, status: 'wait', error: { code: 33 } });
    expect(sim.state.receipts.sell).toHaveLength(1);
  });

  it('external_id is unique across operations of the group', async () => {
    const body = bodyWith({ externalId: 'same' });
    await sell(body);
    const refund = await sell(body, undefined, 'sell_refund');
    expect(refund.json.error.code).toBe(33);
  });
});

describe('ATOL simulator authentication and routing', () => {
  it('no token → 401 code 10; unknown token → 10', async () => {
    const none = await http('POST', `${sim.url}/${GROUP}/sell`, { body: bodyWith() });
    expect([none.status, none.json.error.code]).toEqual([401, 10]);
    const unknown = await sell(bodyWith(), 'deadbeef');
    expect([unknown.status, unknown.json.error.code]).toEqual([401, 10]);
  });

  it('accepts the token in the query string too', async () => {
    const t = await token();
    const r = await http('POST', `${sim.url}/${GROUP}/sell?token=${t}`, { body: bodyWith() });
    expect(r.status).toBe(200);
  });

  it('tokens expire after tokenTtlMs → 401 code 11', async () => {
    await start({ tokenTtlMs: 30 });
    const t = await token();
    await new Promise((r) => setTimeout(r, 50));
    const r = await sell(bodyWith(), t);
    expect([r.status, r.json.error.code]).toEqual([401, 11]);
    expect(shapeDifferences(r.json, atolFixture('error-11-expired-token'))).toEqual([]);
  });

  it('wrong group → 401 code 20; a v4-only group → 401 code 21', async () => {
    await start({ v4OnlyGroupCodes: ['old-group'] });
    const t = await token();
    const other = await sell(bodyWith(), t, 'sell', 'someone-else');
    expect([other.status, other.json.error.code]).toEqual([401, 20]);
    const v4 = await sell(bodyWith(), t, 'sell', 'old-group');
    expect([v4.status, v4.json.error.code]).toEqual([401, 21]);
  });

  it('operations other than sell, sell_refund and sell_correction → 400 code 31', async () => {
    const t = await token();
    for (const op of ['buy', 'buy_correction', 'teleport']) {
      const r = await sell(bodyWith(), t, op);
      expect([r.status, r.json.error.code]).toEqual([400, 31]);
    }
  });

  it('a body that is not application/json → 415 code 41; not JSON at all → 400 code 40', async () => {
    const t = await token();
    const media = await http('POST', `${sim.url}/${GROUP}/sell`, { raw: JSON.stringify(bodyWith()), token: t, contentType: 'text/plain' });
    expect([media.status, media.json.error.code]).toEqual([415, 41]);
    const broken = await http('POST', `${sim.url}/${GROUP}/sell`, { raw: '{"external_id":', token: t });
    expect([broken.status, broken.json.error.code]).toEqual([400, 40]);
  });
});

describe('ATOL simulator validates v5 receipts (code 32 naming the field)', () => {
  type Mutation = [string, string, (b: any) => void];
  const item = (b: any) => b.receipt.items[0];
  const cases: Mutation[] = [
    ['missing external_id', 'external_id', (b) => { delete b.external_id; }],
    ['external_id over 128', 'external_id', (b) => { b.external_id = 'x'.repeat(129); }],
    ['timestamp in ISO form', 'timestamp', (b) => { b.timestamp = '2026-03-15T12:30:00'; }],
    ['timestamp not a real day', 'timestamp', (b) => { b.timestamp = '31.02.2026 12:30:00'; }],
    ['missing receipt', 'receipt', (b) => { delete b.receipt; }],
    ['bad callback_url', 'service.callback_url', (b) => { b.service = { callback_url: 'ftp://x' }; }],
    ['no client contact', 'receipt.client', (b) => { b.receipt.client = {}; }],
    ['client email malformed', 'receipt.client.email', (b) => { b.receipt.client = { email: 'nobody' }; }],
    ['client phone malformed', 'receipt.client.phone', (b) => { b.receipt.client = { phone: '+7 (999) 123' }; }],
    ['company email missing', 'receipt.company.email', (b) => { delete b.receipt.company.email; }],
    ['company sno unknown', 'receipt.company.sno', (b) => { b.receipt.company.sno = 'usn'; }],
    ['company inn malformed', 'receipt.company.inn', (b) => { b.receipt.company.inn = '12345'; }],
    ['company payment_address missing', 'receipt.company.payment_address', (b) => { delete b.receipt.company.payment_address; }],
    ['no items', 'receipt.items', (b) => { b.receipt.items = []; }],
    ['101 items', 'receipt.items', (b) => { b.receipt.items = Array(101).fill(item(b)); }],
    ['item name over 128', 'receipt.items[0].name', (b) => { item(b).name = 'Ж'.repeat(129); }],
    ['item name empty', 'receipt.items[0].name', (b) => { item(b).name = ''; }],
    ['price with 3 decimals', 'receipt.items[0].price', (b) => { item(b).price = 1299.001; }],
    ['price as a string', 'receipt.items[0].price', (b) => { item(b).price = '1299'; }],
    ['quantity 0', 'receipt.items[0].quantity', (b) => { item(b).quantity = 0; }],
    ['sum with float noise', 'receipt.items[0].sum', (b) => { item(b).sum = 0.1 + 0.2; }],
    ['sum ≠ price × quantity', 'receipt.items[0].sum', (b) => { item(b).sum = 2598.02; }],
    ['measure not a v5 code', 'receipt.items[0].measure', (b) => { item(b).measure = 7; }],
    ['measure as v4 text', 'receipt.items[0].measure', (b) => { item(b).measure = 'шт'; }],
    ['payment_method unknown', 'receipt.items[0].payment_method', (b) => { item(b).payment_method = 'cash'; }],
    ['payment_object as v4 text', 'receipt.items[0].payment_object', (b) => { item(b).payment_object = 'commodity'; }],
    ['payment_object unknown', 'receipt.items[0].payment_object', (b) => { item(b).payment_object = 99; }],
    ['vat missing', 'receipt.items[0].vat', (b) => { delete item(b).vat; }],
    ['vat.type unknown', 'receipt.items[0].vat.type', (b) => { item(b).vat.type = 'vat18'; }],
    ['vat.sum with 3 decimals', 'receipt.items[0].vat.sum', (b) => { item(b).vat.sum = 468.491; }],
    ['no payments', 'receipt.payments', (b) => { b.receipt.payments = []; }],
    ['11 payments', 'receipt.payments', (b) => { b.receipt.payments = Array(11).fill({ type: 1, sum: 0 }); }],
    ['payment type out of range', 'receipt.payments[0].type', (b) => { b.receipt.payments[0].type = 12; }],
    ['vats with an unknown type', 'receipt.vats[0].type', (b) => { b.receipt.vats = [{ type: 'vat18', sum: 1 }]; }],
    ['total ≠ Σ items', 'receipt.total', (b) => { b.receipt.total = 2900.69; b.receipt.payments[0].sum = 2900.69; }],
    ['Σ payments ≠ total', 'receipt.payments', (b) => { b.receipt.payments[0].sum = 2900; }],
  ];

  it.each(cases)('%s → 400 code 32 naming %s', async (_name, field, mutate) => {
    const body = bodyWith();
    mutate(body);
    const r = await sell(body);
    expect(r.status).toBe(400);
    expect(shapeDifferences(r.json, atolFixture('sell.error-32-validation'))).toEqual([]);
    expect(r.json).toMatchObject({ status: 'fail', error: { code: 32 } });
    expect(r.json.error.text).toContain(`Ошибочные поля: ${field} (`);
    expect(sim.state.receipts.sell).toHaveLength(0);
  });

  it('accepts the fixture, the phone instead of the email, and sums rounded either way to the kopeck', async () => {
    const t = await token();
    expect((await sell(bodyWith(), t)).status).toBe(200);
    const phone = bodyWith();
    phone.receipt.client = { phone: '+79991234567' };
    expect((await sell(phone, t)).status).toBe(200);
    const floor = bodyWith();
    floor.receipt.items[1].sum = 297.67; // 297.675 rounded down
    floor.receipt.total = 2900.67;
    floor.receipt.payments[0].sum = 2900.67;
    expect((await sell(floor, t)).status).toBe(200);
  });
});

describe('ATOL simulator processing', () => {
  it('fails a sell with vat20 dated after 2026-01-01 with a register error', async () => {
    const accepted = await sell(bodyWith({ vat: 'vat20', timestamp: '15.03.2026 12:30:00' }));
    expect(accepted.status).toBe(200);
    const r = await settled(accepted.json.uuid);
    expect(r.json).toMatchObject({ status: 'fail', error: { type: 'driver', code: 13 } });
    expect(r.json.error.text).toContain('vat20 after 01.01.2026');
    expect(sim.state.receipts.sell[0]).toMatchObject({ status: 'fail', vat_types: ['vat20', 'vat10', 'none'] });
  });

  it('fails vat22 dated before 2026 and vat120 in 2026; accepts vat20 in 2025 and vat122 in 2026', async () => {
    const outcome = async (vat: string, timestamp: string) => (await settled((await sell(bodyWith({ vat, timestamp }))).json.uuid)).json.status;
    expect(await outcome('vat22', '31.12.2025 23:59:59')).toBe('fail');
    expect(await outcome('vat120', '01.01.2026 00:00:00')).toBe('fail');
    expect(await outcome('vat20', '31.12.2025 23:59:59')).toBe('done');
    expect(await outcome('vat122', '01.01.2026 00:00:00')).toBe('done');
  });

  it('accepts vat20 on a 2026 refund of an older sale (historic documents)', async () => {
    const r = await sell(bodyWith({ vat: 'vat20', timestamp: '10.02.2026 10:00:00' }), undefined, 'sell_refund');
    expect((await settled(r.json.uuid)).json.status).toBe('done');
  });

  it('fails the share of receipts given by failRate, and the next N with failNextReceipts', async () => {
    await start({ failRate: 1 });
    expect((await settled((await sell(bodyWith())).json.uuid)).json.status).toBe('fail');
    await start();
    sim.setFaults({ failNextReceipts: 1 });
    expect((await settled((await sell(bodyWith())).json.uuid)).json.status).toBe('fail');
    expect((await settled((await sell(bodyWith())).json.uuid)).json.status).toBe('done');
  });

  it('completePending finishes waiting receipts at once', async () => {
    await start({ processingDelayMs: 60_000 });
    const accepted = await sell(bodyWith());
    sim.completePending();
    expect((await report(accepted.json.uuid)).json.status).toBe('done');
  });

  it('POSTs the report to service.callback_url when done and when failed', async () => {
    const received: any[] = [];
    const hook: Server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => { raw += c; });
      req.on('end', () => { received.push(JSON.parse(raw)); res.end('ok'); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/atol/callback`;
    try {
      const body = bodyWith();
      body.service = { callback_url: url };
      const done = await sell(body);
      const failing = bodyWith({ vat: 'vat20' });
      failing.service = { callback_url: url };
      const failed = await sell(failing);
      await settled(done.json.uuid);
      await settled(failed.json.uuid);
      for (let i = 0; i < 50 && received.length < 2; i += 1) await new Promise((r) => setTimeout(r, 10));
      expect(received.map((r) => [r.uuid, r.status]).sort()).toEqual([[done.json.uuid, 'done'], [failed.json.uuid, 'fail']].sort());
      expect(shapeDifferences(received.find((r) => r.status === 'done'), atolFixture('report.done'))).toEqual([]);
      expect(sim.state.callbacks.map((c) => c.httpStatus)).toEqual([200, 200]);
    } finally {
      hook.closeAllConnections();
      await new Promise((r) => hook.close(r));
    }
  });
});

describe('ATOL simulator limits and faults', () => {
  it('answers HTTP 429 with Retry-After above rateLimitPerSec per register', async () => {
    await start({ rateLimitPerSec: 1 });
    const t = await token();
    const first = await sell(bodyWith(), t);
    const second = await sell(bodyWith(), t);
    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    expect(second.json.error).toMatchObject({ code: 0 });
    expect(sim.state.counters.rateLimited).toBe(1);
    expect(sim.state.receipts.sell).toHaveLength(1);
  });

  it('scales the limit with the registers of the group', async () => {
    await start({ rateLimitPerSec: 1, registers: 3 });
    const t = await token();
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await sell(bodyWith(), t)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('errorRate 1 → 500 code 50 without registering; errorStatus 502 → a proxy page', async () => {
    const t = await token();
    sim.setFaults({ errorRate: 1 });
    const r = await sell(bodyWith(), t);
    expect([r.status, r.json.error.code]).toEqual([500, 50]);
    sim.setFaults({ errorStatus: 502 });
    const proxy = await sell(bodyWith(), t);
    expect([proxy.status, proxy.json]).toEqual([502, undefined]);
    expect(sim.state.receipts.sell).toHaveLength(0);
    expect(sim.state.counters.injectedErrors).toBe(2);
  });

  it('latencyMs delays every answer', async () => {
    const t = await token();
    sim.setFaults({ latencyMs: 150 });
    const started = Date.now();
    await report('00000000-0000-4000-8000-000000000000', t);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('applyThenLoseNext registers the receipt, then drops the connection; the resend gets code 33', async () => {
    const t = await token();
    sim.setFaults({ applyThenLoseNext: 1 });
    const body = bodyWith({ externalId: 'lost-answer' });
    await expect(sell(body, t)).rejects.toThrow();
    expect(sim.state.receipts.sell.map((r) => r.external_id)).toEqual(['lost-answer']);
    const again = await sell(body, t);
    expect(again.json).toMatchObject({ error: { code: 33 }, uuid: sim.state.receipts.sell[0].uuid });
    expect(sim.state.counters.lostAnswers).toBe(1);
  });
});

describe('ATOL simulator admin API', () => {
  const admin = (method: 'GET' | 'POST', path: string, body?: unknown) => http(method, `${sim.adminUrl}/${path}`, { body });

  it('GET state lists receipts by operation with external_id and status', async () => {
    await sell(bodyWith({ externalId: 's-1' }));
    await sell(bodyWith({ externalId: 'r-1' }), undefined, 'sell_refund');
    const state = (await admin('GET', 'state')).json;
    expect(state.receipts.sell.map((r: any) => [r.external_id, r.status])).toEqual([['s-1', 'wait']]);
    expect(state.receipts.sell_refund.map((r: any) => r.external_id)).toEqual(['r-1']);
    expect(state.tokens.issued).toBe(2);
  });

  it('POST faults validates and merges; POST reset clears everything', async () => {
    expect((await admin('POST', 'faults', { errorRate: 2 })).status).toBe(400);
    expect((await admin('POST', 'faults', { latencyMs: 5 })).json.faults).toEqual({ latencyMs: 5 });
    expect((await admin('POST', 'faults', { failNextReceipts: 2 })).json.faults).toEqual({ latencyMs: 5, failNextReceipts: 2 });
    await sell(bodyWith());
    await admin('POST', 'reset');
    const state = (await admin('GET', 'state')).json;
    expect(state.receipts.sell).toEqual([]);
    expect(state.faults).toEqual({});
    expect(state.tokens).toEqual({ issued: 0, active: 0 });
  });

  it('POST expire-tokens makes every issued token answer code 11', async () => {
    const t = await token();
    await admin('POST', 'expire-tokens');
    const r = await sell(bodyWith(), t);
    expect(r.json.error.code).toBe(11);
    expect((await sell(bodyWith())).status).toBe(200);
  });

  it('POST complete-pending finishes waiting receipts', async () => {
    await start({ processingDelayMs: 60_000 });
    const accepted = await sell(bodyWith());
    await admin('POST', 'complete-pending');
    expect((await report(accepted.json.uuid)).json.status).toBe('done');
  });
});
