import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';
import pino from 'pino';
import type { BitrixClient } from '../activities/bitrix/client';
import { createFermaActivities, type FermaActivityDeps, type FermaReceiptStatusResult } from '../activities/ferma/activities';
import { FermaClient, isRetryable, type FermaClientOptions, type FermaReceiptStatus } from '../activities/ferma/client';
import { buildFermaIncomeReceipt, buildFermaIncomeReturnReceipt } from '../activities/ferma/receipt';
import type { FermaReceiptRequest } from '../activities/ferma/wire';
import { ExternalServiceError } from '../activities/shared/errors';
import { CompanyAccounts } from '../activities/shared/company-clients';
import type { EvotorCloudClient } from '../activities/evotor/client';
import type { OrderSnapshot } from '../domain/order';
import { PosConfigSchema } from '../lib/config';
import { startFermaSimulator, type FermaSimulator, type FermaSimulatorOptions } from '../simulators/ferma';
import { fermaFixture } from './fixtures/ferma/fixtures';
import { caught } from './support/errors';
import { ScriptedServer } from './support/scripted-server';

/** A fake Ferma answering the hand-written fixtures: routes are paths under /api (e.g. /kkt/cloud/receipt). */
const fakeferma = () =>
  new ScriptedServer('/api', (route, r) => r.path === route);

const LOGIN = 'shop-login';
const PASSWORD = 'shop-password';
const TOKEN = 'f3accdfda7574736ba94a78d00e974f4';
const RECEIPT_ID = '6c1ce5c4-4a46-4b1b-9f3e-1f5e2c2f7a10';
const AUTH = '/Authorization/CreateAuthToken';
const RECEIPT = '/kkt/cloud/receipt';
const STATUS = '/kkt/cloud/status';
const fx = fermaFixture;
const ok = (json: unknown) => ({ status: 200, json });

/** The token fixture, valid for `ms` from now (Ferma's UTC form without a zone designator). */
function tokenAnswer(ms = 24 * 3600_000, token = TOKEN) {
  const body = fx<{ Data: { AuthToken: string; ExpirationDateUtc: string } }>('create-auth-token.response');
  body.Data.AuthToken = token;
  body.Data.ExpirationDateUtc = new Date(Date.now() + ms).toISOString().slice(0, 19);
  return ok(body);
}

let fake: ScriptedServer;
let logs: string;

function client(overrides: Partial<FermaClientOptions> = {}): FermaClient {
  const sink = new Writable({ write(chunk, _enc, cb) { logs += String(chunk); cb(); } });
  return new FermaClient({ apiUrl: fake.url, login: LOGIN, password: PASSWORD, timeoutMs: 2000, logger: pino({ level: 'debug' }, sink), ...overrides });
}

const income = (): FermaReceiptRequest => fx<FermaReceiptRequest>('receipt.income.request');
const incomeReturn = (): FermaReceiptRequest => fx<FermaReceiptRequest>('receipt.income-return.request');

beforeEach(async () => {
  fake = fakeferma();
  logs = '';
  await fake.start();
});
afterEach(() => fake.stop());

describe('FermaClient speaks the wire format of the fixtures', () => {
  it('gets a token with {Login, Password} and posts the Income receipt with ?AuthToken=', async () => {
    fake.on(AUTH, tokenAnswer()).on(RECEIPT, ok(fx('receipt.response')));
    const result = await client().register(income());

    expect(result).toEqual({ receiptId: RECEIPT_ID, invoiceId: 'pos-236-sell', alreadyAccepted: false });
    const [auth] = fake.calls(AUTH);
    expect(auth.body).toEqual(fx('create-auth-token.request'));
    expect(auth.query.has('AuthToken')).toBe(false);
    const [receipt] = fake.calls(RECEIPT);
    expect(receipt.query.get('AuthToken')).toBe(TOKEN);
    expect(receipt.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(receipt.body).toEqual(fx('receipt.income.request'));
  });

  it('posts IncomeReturn to the same endpoint, Type in the body', async () => {
    fake.on(AUTH, tokenAnswer()).on(RECEIPT, ok(fx('receipt.response')));
    await expect(client().register(incomeReturn())).resolves.toMatchObject({ invoiceId: 'pos-236-refund-1', alreadyAccepted: false });
    expect(fake.calls(RECEIPT)[0].body).toMatchObject({ Request: { Type: 'IncomeReturn', InvoiceId: 'pos-236-refund-1' } });
  });

  it('does not send a body that breaks the schema (no request at all)', async () => {
    const body = income();
    body.Request.CustomerReceipt.Items = [];
    expect(await caught(client().register(body))).toMatchObject({ system: 'ferma', code: 'INVALID_RECEIPT', retryable: false });
    const noContact = income();
    delete noContact.Request.CustomerReceipt.Email;
    expect(await caught(client().register(noContact))).toMatchObject({ code: 'INVALID_RECEIPT' });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('FermaClient token lifecycle', () => {
  it('reuses a token until shortly before ExpirationDateUtc, and concurrent calls share one CreateAuthToken', async () => {
    fake.on(AUTH, tokenAnswer(3600_000)).on(RECEIPT, ok(fx('receipt.response')));
    const c = client();
    await Promise.all([c.register(income()), c.register(income()), c.register(income())]);
    await c.register(income());
    expect(fake.calls(AUTH)).toHaveLength(1);
  });

  it('replaces a token before it expires: a short-lived one is used for half its life', async () => {
    fake.on(AUTH, tokenAnswer(2000, 'first'), tokenAnswer(3600_000, 'second')).on(RECEIPT, ok(fx('receipt.response')));
    const c = client();
    await c.register(income());
    await c.register(income());
    await new Promise((r) => setTimeout(r, 1100));
    await c.register(income());
    expect(fake.calls(RECEIPT).map((r) => r.query.get('AuthToken'))).toEqual(['first', 'first', 'second']);
  });

  it('does not fetch a token per request when ExpirationDateUtc is already past or unreadable (fallback TTL)', async () => {
    const past = fx<{ Data: Record<string, string> }>('create-auth-token.response');
    fake.on(AUTH, ok(past)).on(RECEIPT, ok(fx('receipt.response')));
    const c = client();
    await c.register(income());
    await c.register(income());
    expect(fake.calls(AUTH)).toHaveLength(1);
  });

  it('on an expired token (401) fetches a new token once and retries once', async () => {
    fake.on(AUTH, tokenAnswer(3600_000, 'old'), tokenAnswer(3600_000, 'new'))
      .on(RECEIPT, { status: 401, json: fx('error-expired-token') }, ok(fx('receipt.response')));
    await expect(client().register(income())).resolves.toMatchObject({ alreadyAccepted: false });
    expect(fake.calls(RECEIPT).map((r) => r.query.get('AuthToken'))).toEqual(['old', 'new']);
  });

  it('recognises the token error code in an HTTP 200 answer too', async () => {
    fake.on(AUTH, tokenAnswer(3600_000, 'old'), tokenAnswer(3600_000, 'new'))
      .on(STATUS, ok(fx('error-expired-token')), ok(fx('status.new')));
    await expect(client().getStatus({ receiptId: RECEIPT_ID })).resolves.toMatchObject({ status: 'wait', stage: 'NEW' });
    expect(fake.calls(AUTH)).toHaveLength(2);
  });

  it('gives up after one refresh: a refused new token is retryable, never a third attempt', async () => {
    fake.on(AUTH, tokenAnswer()).on(RECEIPT, { status: 401, json: fx('error-expired-token') });
    const e = await caught(client().register(income()));
    expect(e).toMatchObject({ system: 'ferma', code: '1003', retryable: true, httpStatus: 401 });
    expect(fake.calls(AUTH)).toHaveLength(2);
    expect(fake.calls(RECEIPT)).toHaveLength(2);
  });

  it('does not retry wrong credentials, and never puts login, password, token or the buyer into errors or logs', async () => {
    fake.on(AUTH, { status: 401, json: fx('create-auth-token.error-wrong-credentials') });
    const e = await caught(client().register(income()));
    expect(e).toMatchObject({ code: '1001', retryable: false, httpStatus: 401 });

    fake.on(AUTH, tokenAnswer()).on(RECEIPT, 'destroy');
    const e2 = await caught(client().register(income()));
    fake.on(RECEIPT, { status: 401, json: fx('error-expired-token') });
    const e3 = await caught(client().register(income()));
    for (const text of [e.message, e2.message, e3.message, e.stack ?? '', e2.stack ?? '', logs]) {
      expect(text).not.toContain(LOGIN);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('AuthToken=');
      expect(text).not.toContain('buyer@example.ru');
    }
    expect(logs).toContain('ferma');
  });
});

describe('FermaClient idempotency by InvoiceId', () => {
  beforeEach(() => { fake.on(AUTH, tokenAnswer()); });

  it('answers a duplicate InvoiceId (1019) with the original receipt, read by InvoiceId', async () => {
    fake.on(RECEIPT, { status: 400, json: fx('receipt.error-duplicate') }).on(STATUS, ok(fx('status.new')));
    await expect(client().register(income())).resolves.toEqual({ receiptId: RECEIPT_ID, invoiceId: 'pos-236-sell', alreadyAccepted: true });
    expect(fake.calls(STATUS)[0].body).toEqual(fx('status.by-invoice-id.request'));
  });

  it('handles the duplicate answered with HTTP 200 the same way', async () => {
    fake.on(RECEIPT, ok(fx('receipt.error-duplicate'))).on(STATUS, ok(fx('status.confirmed')));
    await expect(client().register(income())).resolves.toMatchObject({ receiptId: RECEIPT_ID, alreadyAccepted: true });
  });

  it('takes the ReceiptId from the duplicate message when the status leaves it out', async () => {
    const status = fx<{ Data: Record<string, unknown> }>('status.new');
    delete status.Data.ReceiptId;
    fake.on(RECEIPT, { status: 400, json: fx('receipt.error-duplicate') }).on(STATUS, ok(status));
    await expect(client().register(income())).resolves.toMatchObject({ receiptId: RECEIPT_ID, alreadyAccepted: true });
  });

  it('refuses a duplicate whose original it cannot name (nothing to poll)', async () => {
    const status = fx<{ Data: Record<string, unknown> }>('status.new');
    delete status.Data.ReceiptId;
    fake.on(RECEIPT, { status: 400, json: { Status: 'Failed', Error: { Code: 1019, Message: 'Чек с таким InvoiceId уже существует' } } }).on(STATUS, ok(status));
    expect(await caught(client().register(income()))).toMatchObject({ code: '1019', retryable: false });
  });

  it('when the status by InvoiceId cannot be read yet: the ReceiptId of the message, else a retryable error', async () => {
    fake.on(RECEIPT, { status: 400, json: fx('receipt.error-duplicate') }).on(STATUS, { status: 404, json: fx('status.error-not-found') });
    await expect(client().register(income())).resolves.toMatchObject({ receiptId: RECEIPT_ID, alreadyAccepted: true });
    fake.on(RECEIPT, { status: 400, json: { Status: 'Failed', Error: { Code: 1019, Message: 'Чек с таким InvoiceId уже существует' } } });
    expect(await caught(client().register(income()))).toMatchObject({ code: '1005', retryable: true });
  });

  it('classifies a validation error as not retryable, with Ferma\'s field in the message (HTTP 400 or 200)', async () => {
    fake.on(RECEIPT, { status: 400, json: fx('receipt.error-validation') });
    const e = await caught(client().register(income()));
    expect(e).toMatchObject({ code: '1004', retryable: false, httpStatus: 400 });
    expect(e.message).toContain('Request.CustomerReceipt.Items[0].Amount');
    fake.on(RECEIPT, ok(fx('receipt.error-validation')));
    expect(await caught(client().register(income()))).toMatchObject({ code: '1004', retryable: false, httpStatus: 200 });
  });
});

describe('FermaClient.getStatus', () => {
  beforeEach(() => { fake.on(AUTH, tokenAnswer()); });

  it('posts {Request: {ReceiptId}} and maps CONFIRMED to done with fiscal attributes in UTC', async () => {
    fake.on(STATUS, ok(fx('status.confirmed')));
    const status = await client().getStatus({ receiptId: RECEIPT_ID });
    expect(fake.calls(STATUS)[0].body).toEqual(fx('status.by-receipt-id.request'));
    expect(status).toEqual({
      status: 'done',
      stage: 'CONFIRMED',
      receiptId: RECEIPT_ID,
      fiscal: {
        source: 'ferma',
        fnNumber: '7281440500123456',
        fiscalDocumentNumber: '133',
        fiscalSign: '3449555941',
        receiptDateTime: '2026-03-15T09:30:05.000Z',
        registrationNumber: '0000111118041361',
        receiptNumber: '6',
        shiftNumber: '23',
        ofdUrl: 'https://check.ofd.ru/rec/7701234567/0000111118041361/7281440500123456/133/3449555941',
      },
    });
  });

  it('NEW is wait without fiscal data; PROCESSED is wait with it, or done when doneAt is processed', async () => {
    fake.on(STATUS, ok(fx('status.new')), ok(fx('status.processed')), ok(fx('status.processed')));
    await expect(client().getStatus({ receiptId: RECEIPT_ID })).resolves.toEqual({ status: 'wait', stage: 'NEW', receiptId: RECEIPT_ID });
    const processed = await client().getStatus({ receiptId: RECEIPT_ID });
    expect(processed).toMatchObject({ status: 'wait', stage: 'PROCESSED', fiscal: { fiscalDocumentNumber: '133' } });
    await expect(client({ doneAt: 'processed' }).getStatus({ receiptId: RECEIPT_ID })).resolves.toMatchObject({ status: 'done', stage: 'PROCESSED' });
  });

  it('KKT_ERROR is fail with the register\'s message', async () => {
    fake.on(STATUS, ok(fx('status.kkt-error')));
    await expect(client().getStatus({ invoiceId: 'pos-236-sell' })).resolves.toEqual({
      status: 'fail', stage: 'KKT_ERROR', receiptId: RECEIPT_ID,
      error: { code: 3, message: 'Ошибка ККТ: ставка НДС не действует на дату документа' },
    });
  });

  it('refuses a CONFIRMED answer without device data, and an unknown stage', async () => {
    const bare = fx<{ Data: Record<string, unknown> }>('status.confirmed');
    bare.Data.Device = null;
    fake.on(STATUS, ok(bare));
    expect(await caught(client().getStatus({ receiptId: RECEIPT_ID }))).toMatchObject({ code: 'BAD_RESPONSE', retryable: false });
    fake.on(STATUS, ok({ Status: 'Success', Data: { StatusCode: 9, StatusName: 'TELEPORTED' } }));
    expect(await caught(client().getStatus({ receiptId: RECEIPT_ID }))).toMatchObject({ code: 'BAD_RESPONSE' });
  });

  it('an unknown receipt is a non-retryable Ferma error', async () => {
    fake.on(STATUS, { status: 404, json: fx('status.error-not-found') });
    expect(await caught(client().getStatus({ receiptId: '00000000-0000-4000-8000-000000000000' }))).toMatchObject({ code: '1005', retryable: false, httpStatus: 404 });
  });
});

describe('FermaClient error classification', () => {
  beforeEach(() => { fake.on(AUTH, tokenAnswer()); });

  it('rate limit and server codes are retryable; request errors are not', () => {
    expect([isRetryable(1029, 200), isRetryable(1500, 200), isRetryable(1004, 500), isRetryable(1004, 429)]).toEqual([true, true, true, true]);
    expect([isRetryable(1004, 400), isRetryable(1001, 401), isRetryable(1005, 200), isRetryable(1019, 400)]).toEqual([false, false, false, false]);
  });

  it('retries on a 5xx page without a Ferma body', async () => {
    fake.on(RECEIPT, { status: 502, text: '<html>Bad Gateway</html>' });
    const e = await caught(client().register(income()));
    expect(e).toBeInstanceOf(ExternalServiceError);
    expect(e).toMatchObject({ code: 'HTTP_502', retryable: true, httpStatus: 502 });
  });

  it('retries on HTTP 429 and passes Retry-After on', async () => {
    fake.on(STATUS, { status: 429, json: { Status: 'Failed', Error: { Code: 1029, Message: 'too many' } }, headers: { 'retry-after': '2' } });
    expect(await caught(client().getStatus({ receiptId: RECEIPT_ID }))).toMatchObject({ code: '1029', retryable: true, httpStatus: 429, retryAfterMs: 2000 });
  });

  it('retries when the connection drops (the receipt may have been applied: resend the same InvoiceId)', async () => {
    fake.on(RECEIPT, 'destroy');
    expect(await caught(client().register(income()))).toMatchObject({ code: 'NETWORK', retryable: true });
  });

  it('retries on a timeout', async () => {
    fake.on(RECEIPT, 'hang');
    expect(await caught(client({ timeoutMs: 150 }).register(income()))).toMatchObject({ code: 'TIMEOUT', retryable: true });
  });
});

describe('FermaClient and the Ferma activities against the simulator', () => {
  const silent = pino({ level: 'silent' });
  const INN = '7701234567';
  const company = { inn: INN, email: 'shop@example.ru', sno: 'osn' as const, paymentAddress: 'https://shop.example.ru' };
  const order: OrderSnapshot = {
    id: '42', accountNumber: '1042', currency: 'RUB', total: 150050, statusId: 'N', paid: false, canceled: false, deducted: false,
    items: [
      { basketId: '1', productId: '7', name: 'Чайник электрический', price: 120000, quantity: 1, vatRate: 0.22, vatIncluded: true, measureCode: '796', reservations: [] },
      { basketId: '2', productId: '8', name: 'Мёд гречишный', price: 60100, quantity: 0.5, vatRate: 0.1, vatIncluded: true, measureCode: '166', reservations: [] },
    ],
    payments: [{ id: '9', paySystemId: '10', sum: 150050, paid: false }], shipments: [], buyer: { phone: '8 (912) 345-67-89' },
  };
  const config = PosConfigSchema.parse({
    bitrix: { posPaySystemIds: ['10'], statuses: { awaitingPayment: 'WP', paid: 'P' } },
    stores: [
      { id: 'msk-ferma', name: 'Ferma store', bitrixStoreId: '1', evotorStoreId: 'e1', fiscalMode: 'atol', company },
      { id: 'no-company', name: 'Bare store', bitrixStoreId: '2', evotorStoreId: 'e2' },
    ],
  });
  let sim: FermaSimulator;
  let seq = 0;

  async function startSim(overrides: Partial<FermaSimulatorOptions> = {}): Promise<void> {
    await sim?.close();
    sim = await startFermaSimulator({
      login: LOGIN, password: PASSWORD, inns: [INN], processingDelayMs: 40, confirmationDelayMs: 40, rateLimitPerSec: 0,
      logger: silent, ...overrides,
    });
  }
  const simClient = (overrides: Partial<FermaClientOptions> = {}) =>
    new FermaClient({ apiUrl: sim.url, login: LOGIN, password: PASSWORD, timeoutMs: 2000, logger: silent, ...overrides });
  const incomeFor = (invoiceId = `pos-42-sell-${++seq}`): FermaReceiptRequest => buildFermaIncomeReceipt({
    order, invoiceId, receiptTime: new Date('2026-04-01T07:00:00Z'), timeZone: 'Europe/Moscow', company, kind: 'full_payment',
  });

  /** Polls as the workflow does, recording every stage seen. */
  async function settle(read: () => Promise<FermaReceiptStatus | FermaReceiptStatusResult>, stages: string[] = []) {
    for (let i = 0; i < 200; i += 1) {
      const s = await read();
      stages.push('stage' in s ? s.stage : s.status);
      if (s.status !== 'wait') return s;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('receipt did not settle');
  }

  beforeEach(() => startSim());
  afterAll(() => sim?.close());

  it('fiscalizes a built Income: register, poll through NEW and PROCESSED until CONFIRMED; Ferma holds what was built', async () => {
    const c = simClient();
    const body = incomeFor();
    const { receiptId, alreadyAccepted } = await c.register(body);
    expect(alreadyAccepted).toBe(false);
    const stages: string[] = [];
    const final = await settle(() => c.getStatus({ receiptId }), stages) as FermaReceiptStatus;
    expect(final).toMatchObject({ status: 'done', stage: 'CONFIRMED', receiptId, fiscal: { source: 'ferma', fnNumber: expect.stringMatching(/^\d{16}$/) } });
    expect(stages).toEqual(expect.arrayContaining(['NEW', 'PROCESSED', 'CONFIRMED']));
    expect(stages.indexOf('PROCESSED')).toBeGreaterThan(stages.indexOf('NEW'));
    expect(Math.abs(Date.parse(final.fiscal!.receiptDateTime) - Date.now())).toBeLessThan(5000);

    const [held] = sim.state.receipts.Income;
    expect(held).toMatchObject({ receiptId, invoiceId: body.Request.InvoiceId, stage: 'CONFIRMED', total: 1500.5, vats: ['Vat22', 'Vat10'] });
    expect(held.body).toEqual(body);
    expect(held.body).toMatchObject({ Request: { CustomerReceipt: { Phone: '+79123456789', PaymentItems: [{ PaymentType: 1, Sum: 1500.5 }] } } });
  });

  it('re-sending the same InvoiceId returns the original receipt; Ferma holds one', async () => {
    const c = simClient();
    const body = incomeFor();
    const first = await c.register(body);
    const again = await c.register(body);
    expect(again).toEqual({ receiptId: first.receiptId, invoiceId: body.Request.InvoiceId, alreadyAccepted: true });
    expect(sim.state.receipts.Income.map((r) => r.receiptId)).toEqual([first.receiptId]);
  });

  it('survives a lost answer (apply-then-lose): the retry is "already accepted", still one receipt, and it confirms', async () => {
    const c = simClient();
    const body = incomeFor();
    sim.setFaults({ applyThenLoseNext: 1 });
    expect(await caught(c.register(body))).toMatchObject({ code: 'NETWORK', retryable: true });
    expect(sim.state.receipts.Income).toHaveLength(1);
    const retry = await c.register(body);
    expect(retry.alreadyAccepted).toBe(true);
    expect(sim.state.receipts.Income.map((r) => r.receiptId)).toEqual([retry.receiptId]);
    expect((await settle(() => c.getStatus({ receiptId: retry.receiptId }))).status).toBe('done');
    expect(sim.state.counters.lostAnswers).toBe(1);
  });

  it('refreshes an expired token once, transparently', async () => {
    const c = simClient();
    await c.register(incomeFor());
    sim.expireTokens();
    await expect(c.register(incomeFor())).resolves.toMatchObject({ alreadyAccepted: false });
    expect(sim.state.tokens.issued).toBe(2);
  });

  it('gets the simulator\'s validation error naming the field, not retryable, whatever the HTTP status', async () => {
    for (const errorsWithHttp200 of [false, true]) {
      await startSim({ errorsWithHttp200 });
      const body = incomeFor();
      body.Request.CustomerReceipt.Items[0].Amount = 1199.99;
      const e = await caught(simClient().register(body));
      expect(e).toMatchObject({ system: 'ferma', code: '1004', retryable: false, httpStatus: errorsWithHttp200 ? 200 : 400 });
      expect(e.message).toContain('Request.CustomerReceipt.Items[0].Amount');
      const other = incomeFor();
      other.Request.Inn = '7700000001';
      expect((await caught(simClient().register(other))).message).toContain('Request.Inn');
      expect(sim.state.receipts.Income).toHaveLength(0);
    }
  });

  it('duplicates and expired tokens work the same when Ferma answers errors with HTTP 200', async () => {
    await startSim({ errorsWithHttp200: true });
    const c = simClient();
    const body = incomeFor();
    const first = await c.register(body);
    sim.expireTokens();
    await expect(c.register(body)).resolves.toEqual({ receiptId: first.receiptId, invoiceId: body.Request.InvoiceId, alreadyAccepted: true });
    expect(sim.state.tokens.issued).toBe(2);
  });

  describe('activities', () => {
    const bitrix = (o: OrderSnapshot = order) => ({ getOrder: async () => structuredClone(o) }) as unknown as BitrixClient;
    const only = (ferma: FermaClient | undefined, cfg = config) => new CompanyAccounts(cfg, { evotor: {} as EvotorCloudClient, ferma });
    const activities = (overrides: Partial<FermaActivityDeps> = {}) => createFermaActivities({
      bitrix: bitrix(), accounts: only(simClient()), config, callbackBaseUrl: 'https://bridge.example.ru/', logger: silent, ...overrides,
    });

    it('registerFermaReceipt + getFermaReceiptStatus: the Income of the order, polled until done; a retry is already accepted', async () => {
      const a = activities();
      const input = { orderId: '42', storeId: 'msk-ferma', invoiceId: 'pos-42-sell', receiptTime: '2026-04-01T07:00:00.000Z' };
      const { receiptId, alreadyAccepted } = await a.registerFermaReceipt(input);
      expect(alreadyAccepted).toBe(false);
      const result = await settle(() => a.getFermaReceiptStatus({ receiptId })) as FermaReceiptStatusResult;
      expect(result).toMatchObject({ status: 'done', fiscal: { source: 'ferma' } });
      await expect(a.registerFermaReceipt(input)).resolves.toEqual({ receiptId, alreadyAccepted: true });
      const [held] = sim.state.receipts.Income;
      expect(held.body).toMatchObject({
        Request: { Inn: INN, Type: 'Income', InvoiceId: 'pos-42-sell', CallbackUrl: 'https://bridge.example.ru/webhooks/ferma/callback?invoiceId=pos-42-sell' },
      });
      expect(sim.state.receipts.Income).toHaveLength(1);
    });

    it('registerFermaRefund sends an IncomeReturn with the sale\'s VAT (Vat20 for a 2025 sale) that the register accepts', async () => {
      const sold2025 = { ...order, items: order.items.map((i) => ({ ...i, vatRate: i.vatRate === 0.22 ? 0.2 : i.vatRate })) };
      const a = activities({ bitrix: bitrix(sold2025) });
      const { receiptId } = await a.registerFermaRefund({
        orderId: '42', storeId: 'msk-ferma', invoiceId: 'pos-42-refund-1', receiptTime: '2026-04-02T07:00:00.000Z',
        saleTime: '2025-12-20T10:00:00.000Z', lines: [{ basketId: '1', quantity: 1 }],
      });
      expect((await settle(() => a.getFermaReceiptStatus({ receiptId }))).status).toBe('done');
      const [held] = sim.state.receipts.IncomeReturn;
      expect(held).toMatchObject({ type: 'IncomeReturn', vats: ['Vat20'], total: 1200 });
    });

    it('an Income with a 20% line in 2026 ends in fail with the register\'s reason', async () => {
      const old = { ...order, items: [{ ...order.items[0], vatRate: 0.2 }], total: 120000 };
      const body = buildFermaIncomeReturnReceipt({
        order: old, invoiceId: 'pos-43-sell', receiptTime: new Date(), timeZone: 'Europe/Moscow', company, kind: 'full_payment',
        saleTime: new Date('2025-06-01T10:00:00Z'),
      });
      body.Request.Type = 'Income';
      const { receiptId } = await simClient().register(body);
      const result = await settle(() => activities().getFermaReceiptStatus({ receiptId })) as FermaReceiptStatusResult;
      expect(result.status).toBe('fail');
      expect(result.error).toContain('Vat20');
      expect(result.fiscal).toBeUndefined();
    });

    it('turns configuration, order and Ferma problems into non-retryable failures a person can act on', async () => {
      const input = { orderId: '42', storeId: 'msk-ferma', invoiceId: 'pos-42-sell', receiptTime: '2026-04-01T07:00:00.000Z' };
      await expect(activities({ accounts: only(undefined) }).registerFermaReceipt(input)).rejects.toMatchObject({ type: 'config', nonRetryable: true });
      await expect(activities().registerFermaReceipt({ ...input, storeId: 'no-company' })).rejects.toMatchObject({ type: 'config', nonRetryable: true });
      const noContact = activities({ bitrix: bitrix({ ...order, buyer: {} }) });
      await expect(noContact.registerFermaReceipt(input)).rejects.toMatchObject({ type: 'receipt', nonRetryable: true });
      const wrongInnConfig = { ...config, stores: [{ ...config.stores[0], company: { ...company, inn: '7700000001' } }] };
      const wrongInn = createFermaActivities({ bitrix: bitrix(), accounts: only(simClient(), wrongInnConfig), logger: silent, config: wrongInnConfig });
      const failure = await wrongInn.registerFermaReceipt(input).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: 'ferma:1004', nonRetryable: true });
      expect((failure as Error).message).toContain('Request.Inn');
      sim.setFaults({ errorRate: 1, operation: 'receipt' });
      await expect(activities().registerFermaReceipt(input)).rejects.toMatchObject({ type: 'ferma:1500', nonRetryable: false });
      expect(sim.state.receipts.Income).toHaveLength(0);
    });
  });
});
