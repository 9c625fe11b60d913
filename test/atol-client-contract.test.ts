import { Writable } from 'node:stream';
import pino from 'pino';
import { AtolClient, isRetryable, type AtolClientOptions } from '../activities/atol/client';
import type { AtolReceiptRequest } from '../activities/atol/wire';
import { ExternalServiceError } from '../activities/shared/errors';
import { atolFixture } from './fixtures/atol/fixtures';
import { caught } from './support/errors';
import { ScriptedServer } from './support/scripted-server';

/** A fake ATOL answering the hand-written fixtures: routes are `METHOD /path-suffix`. */
const fakeatol = () =>
  new ScriptedServer('/possystem/v5', (route, r) => {
    const [method, suffix] = route.split(' ');
    return r.method === method && r.path.endsWith(suffix);
  });

const LOGIN = 'shop-login';
const PASSWORD = 'shop-password';
const GROUP = 'shop-group';
const fx = atolFixture;
const ok = (json: unknown) => ({ status: 200, json });

let fake: ScriptedServer;
let logs: string;

function client(overrides: Partial<AtolClientOptions> = {}): AtolClient {
  const sink = new Writable({ write(chunk, _enc, cb) { logs += String(chunk); cb(); } });
  return new AtolClient({
    apiUrl: fake.url, login: LOGIN, password: PASSWORD, groupCode: GROUP,
    minRequestIntervalMs: 0, timeoutMs: 2000, logger: pino({ level: 'debug' }, sink), ...overrides,
  });
}

const sellBody = (): AtolReceiptRequest => fx<AtolReceiptRequest>('sell.request');

beforeEach(async () => {
  fake = fakeatol();
  logs = '';
  await fake.start();
});
afterEach(() => fake.stop());

describe('AtolClient speaks the v5 protocol of the fixtures', () => {
  it('gets a token with {login, pass} and sends the receipt to /{group}/sell with the Token header', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /shop-group/sell', ok(fx('sell.response')));
    const result = await client().sell(sellBody());

    expect(result).toEqual({ uuid: '2ea26f17-0884-4f08-b120-306fc096a58f', alreadyAccepted: false });
    const [token] = fake.calls('POST /getToken');
    expect(token.path).toBe('/getToken');
    expect(token.body).toEqual(fx('get-token.request'));
    const [sell] = fake.calls('POST /sell');
    expect(sell.path).toBe('/shop-group/sell');
    expect(sell.headers.token).toBe('fj45u923j59ju42395iu9423i59243u0');
    expect(sell.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(sell.body).toEqual(fx('sell.request'));
  });

  it('sends refunds to /{group}/sell_refund', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /shop-group/sell_refund', ok(fx('sell.response')));
    await expect(client().sellRefund({ ...sellBody(), external_id: 'refund:236:1' })).resolves.toMatchObject({ alreadyAccepted: false });
    expect(fake.calls('POST /sell_refund')[0].path).toBe('/shop-group/sell_refund');
  });

  it('reuses the token for 24 h and asks for one token when calls run concurrently', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', ok(fx('sell.response')));
    const c = client();
    await Promise.all([c.sell(sellBody()), c.sell(sellBody()), c.sell(sellBody())]);
    await c.sell(sellBody());
    expect(fake.calls('POST /getToken')).toHaveLength(1);
  });

  it('asks for a new token after the cached one is older than the TTL', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', ok(fx('sell.response')));
    const c = client({ tokenTtlMs: 1 });
    await c.sell(sellBody());
    await new Promise((r) => setTimeout(r, 5));
    await c.sell(sellBody());
    expect(fake.calls('POST /getToken')).toHaveLength(2);
  });

  it('on code 11 fetches a new token once and retries once', async () => {
    fake
      .on('POST /getToken', ok({ ...fx('get-token.response'), token: 'old' }), ok({ ...fx('get-token.response'), token: 'new' }))
      .on('POST /sell', { status: 401, json: fx('error-11-expired-token') }, ok(fx('sell.response')));
    await expect(client().sell(sellBody())).resolves.toMatchObject({ alreadyAccepted: false });
    expect(fake.calls('POST /getToken')).toHaveLength(2);
    expect(fake.calls('POST /sell').map((r) => r.headers.token)).toEqual(['old', 'new']);
  });

  it('on code 11 answered with HTTP 200 refreshes too', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', ok(fx('error-11-expired-token')), ok(fx('sell.response')));
    await expect(client().sell(sellBody())).resolves.toMatchObject({ alreadyAccepted: false });
    expect(fake.calls('POST /getToken')).toHaveLength(2);
  });

  it('gives up after one refresh: still 11 → a retryable error, never a third attempt', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', { status: 401, json: fx('error-11-expired-token') });
    const e = await caught(client().sell(sellBody()));
    expect(e).toMatchObject({ system: 'atol', code: '11', retryable: true, httpStatus: 401 });
    expect(fake.calls('POST /getToken')).toHaveLength(2);
    expect(fake.calls('POST /sell')).toHaveLength(2);
  });

  it('treats code 33 as already accepted and returns the original uuid', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', { status: 400, json: fx('sell.error-33-duplicate') });
    await expect(client().sell(sellBody())).resolves.toEqual({ uuid: '2ea26f17-0884-4f08-b120-306fc096a58f', alreadyAccepted: true });
  });

  it('refuses a code 33 without a uuid (nothing to poll)', async () => {
    const { uuid: _uuid, ...withoutUuid } = fx('sell.error-33-duplicate');
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', { status: 400, json: withoutUuid });
    expect(await caught(client().sell(sellBody()))).toMatchObject({ code: '33', retryable: false });
  });

  it('classifies code 32 (validation) as not retryable, with ATOL\'s field text', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', { status: 400, json: fx('sell.error-32-validation') });
    const e = await caught(client().sell(sellBody()));
    expect(e).toMatchObject({ code: '32', retryable: false, httpStatus: 400 });
    expect(e.message).toContain('receipt.items[0].sum');
  });

  it('does not send a body that breaks the v5 schema', async () => {
    const body = sellBody();
    body.receipt.items = [];
    expect(await caught(client().sell(body))).toMatchObject({ code: 'INVALID_RECEIPT', retryable: false });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('AtolClient.getReport', () => {
  beforeEach(() => { fake.on('POST /getToken', ok(fx('get-token.response'))); });

  it('GETs /{group}/report/{uuid} and maps done to fiscal attributes in UTC and kopecks', async () => {
    fake.on('GET /report/2ea26f17-0884-4f08-b120-306fc096a58f', ok(fx('report.done')));
    const report = await client().getReport('2ea26f17-0884-4f08-b120-306fc096a58f');
    expect(fake.calls('GET /report/2ea26f17-0884-4f08-b120-306fc096a58f')[0].path).toBe('/shop-group/report/2ea26f17-0884-4f08-b120-306fc096a58f');
    expect(report).toEqual({
      status: 'done',
      fiscal: {
        source: 'atol',
        fnNumber: '7380440700076543',
        fiscalDocumentNumber: '133',
        fiscalSign: '3449555941',
        receiptDateTime: '2026-03-15T09:30:05.000Z',
        receiptNumber: '6',
        shiftNumber: '23',
        registrationNumber: '0000111118041361',
        total: 290068,
        ofdUrl: 'https://ofd.example.ru/rec?fn=7380440700076543&i=133&fp=3449555941',
      },
    });
  });

  it('reads receipt_datetime on the register clock it is configured with', async () => {
    fake.on('GET /report/u1', ok(fx('report.done')));
    const report = await client({ timeZone: 'Asia/Novosibirsk' }).getReport('u1');
    expect(report.fiscal?.receiptDateTime).toBe('2026-03-15T05:30:05.000Z');
  });

  it('answers wait for status wait and for code 34 (state not found yet)', async () => {
    fake.on('GET /report/u1', ok(fx('report.wait'))).on('GET /report/u2', ok(fx('report.error-34-state-not-found')));
    await expect(client().getReport('u1')).resolves.toEqual({ status: 'wait' });
    await expect(client().getReport('u2')).resolves.toEqual({ status: 'wait' });
  });

  it('returns the register error of a failed receipt', async () => {
    fake.on('GET /report/u1', ok(fx('report.fail')));
    await expect(client().getReport('u1')).resolves.toEqual({
      status: 'fail', error: { code: 13, text: 'Некорректное значение параметра', type: 'driver' },
    });
  });

  it('throws a non-retryable error for an unknown uuid (code 30)', async () => {
    fake.on('GET /report/0e1f', { status: 400, json: fx('report.error-30-missing-uuid') });
    expect(await caught(client().getReport('0e1f'))).toMatchObject({ code: '30', retryable: false, httpStatus: 400 });
  });

  it('refuses a done report whose date-time it cannot read', async () => {
    const done = fx<{ payload: Record<string, unknown> }>('report.done');
    done.payload.receipt_datetime = 'yesterday';
    fake.on('GET /report/u1', ok(done));
    expect(await caught(client().getReport('u1'))).toMatchObject({ code: 'BAD_RESPONSE', retryable: false });
  });
});

describe('AtolClient error classification', () => {
  const retryable = [1, 50];
  const notRetryable = [12, 13, 14, 20, 21, 30, 31, 32, 40, 41];

  it.each(retryable)('ATOL code %i is retryable', (code) => expect(isRetryable(code, 400)).toBe(true));
  it.each(notRetryable)('ATOL code %i is not retryable', (code) => expect(isRetryable(code, 400)).toBe(false));

  it('maps each code answered by ATOL into ExternalServiceError("atol", code, text, retryable, httpStatus)', async () => {
    const http: Record<number, number> = { 1: 400, 12: 401, 13: 400, 14: 403, 20: 401, 21: 401, 30: 400, 31: 400, 32: 400, 40: 400, 41: 415, 50: 500 };
    for (const [code, status] of Object.entries(http).map(([c, s]) => [Number(c), s])) {
      fake.on('POST /getToken', ok(fx('get-token.response')));
      fake.on('POST /sell', { status, json: { error: { error_id: 'e', code, text: `text ${code}`, type: 'system' }, status: 'fail', timestamp: '15.03.2026 12:30:01' } });
      const e = await caught(client().sell(sellBody()));
      expect(e).toBeInstanceOf(ExternalServiceError);
      expect([e.system, e.code, e.retryable, e.httpStatus]).toEqual(['atol', String(code), retryable.includes(code), status]);
      expect(e.message).toContain(`text ${code}`);
    }
  });

  it('retries on a 5xx page without an ATOL body', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', { status: 502, text: '<html>Bad Gateway</html>' });
    expect(await caught(client().sell(sellBody()))).toMatchObject({ code: 'HTTP_502', retryable: true, httpStatus: 502 });
  });

  it('retries on HTTP 429 and passes Retry-After on', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response')))
      .on('GET /report/u1', { status: 429, json: { error: { error_id: 'e', code: 0, text: 'too many', type: 'system' } }, headers: { 'retry-after': '2' } });
    expect(await caught(client().getReport('u1'))).toMatchObject({ code: '0', retryable: true, httpStatus: 429, retryAfterMs: 2000 });
  });

  it('retries when the connection drops (the receipt may have been applied: resend the same external_id)', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', 'destroy');
    expect(await caught(client().sell(sellBody()))).toMatchObject({ code: 'NETWORK', retryable: true });
  });

  it('retries on a timeout', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', 'hang');
    expect(await caught(client({ timeoutMs: 150 }).sell(sellBody()))).toMatchObject({ code: 'TIMEOUT', retryable: true });
  });

  it('does not retry wrong credentials, and never puts login, password or token into errors or logs', async () => {
    fake.on('POST /getToken', { status: 401, json: fx('get-token.error-12-wrong-login') });
    const e = await caught(client().sell(sellBody()));
    expect(e).toMatchObject({ code: '12', retryable: false, httpStatus: 401 });
    fake.on('POST /getToken', ok(fx('get-token.response'))).on('POST /sell', { status: 401, json: fx('error-11-expired-token') });
    const e2 = await caught(client().sell(sellBody()));
    for (const text of [e.message, e2.message, e.stack ?? '', logs]) {
      expect(text).not.toContain(LOGIN);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('fj45u923j59ju42395iu9423i59243u0');
      expect(text).not.toContain('buyer@example.ru');
    }
    expect(logs).not.toBe('');
  });
});

describe('AtolClient request spacing', () => {
  it('keeps at least minRequestIntervalMs between requests to the group, retries included', async () => {
    fake.on('POST /getToken', ok(fx('get-token.response')))
      .on('POST /sell', ok(fx('error-11-expired-token')), ok(fx('sell.response')))
      .on('GET /report/u1', ok(fx('report.wait')));
    const c = client({ minRequestIntervalMs: 120 });
    const started = Date.now();
    await c.sell(sellBody());
    await c.getReport('u1');
    expect(fake.calls('POST /sell')).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 120 - 10);
  });
});
