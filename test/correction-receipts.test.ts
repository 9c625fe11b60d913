/* eslint-disable @typescript-eslint/no-explicit-any -- these tests bend wire JSON into invalid shapes on purpose */
import pino from 'pino';
import { request } from 'undici';
import type { OrderItem, OrderSnapshot } from '../domain/order';
import { cloudCorrectionExternalId, cloudSellExternalId, correctionActNumber, orderIdOfCloudSellExternalId } from '../domain/fiscal';
import { fiscalSummary } from '../domain/terminal-payload';
import { buildAtolCorrectionReceipt, buildAtolSellReceipt, type AtolCorrectionReceiptInput } from '../activities/atol/receipt';
import { atolCorrectionRequestSchema } from '../activities/atol/wire';
import { buildFermaIncomeCorrection, buildFermaIncomeReceipt } from '../activities/ferma/receipt';
import { fermaReceiptRequestSchema } from '../activities/ferma/wire';
import { startAtolSimulator, type AtolSimulator } from '../simulators/atol/simulator';
import { startFermaSimulator, type FermaSimulator } from '../simulators/ferma';

// Correction receipts (54-FZ: a settlement whose receipt was not issued at the time): the ATOL v5
// `sell_correction` and Ferma `IncomeCorrection` bodies we build, and the registers' simulators, which check
// the correction's basis the way the services do.

function item(overrides: Partial<OrderItem> = {}): OrderItem {
  return { basketId: '255', productId: '10', name: 'Товар', price: 10000, quantity: 1, vatRate: 0.22, vatIncluded: true, measureCode: '796', reservations: [], ...overrides };
}

function order(): OrderSnapshot {
  const items = [
    item({ basketId: '255', name: 'Кофе в зёрнах Арабика 1 кг', price: 129900, quantity: 2, vatRate: 0.22 }),
    item({ basketId: '257', name: 'Пакет-майка', price: 500, quantity: 1, vatRate: null }),
  ];
  return {
    id: '236', accountNumber: '392', currency: 'RUB', total: 260300, statusId: 'N', paid: false, canceled: false,
    deducted: false, items, payments: [], shipments: [], buyer: { email: 'buyer@example.ru' },
  };
}

const COMPANY = { email: 'shop@example.ru', sno: 'osn' as const, inn: '7701234567', paymentAddress: 'https://shop.example.ru' };

function input(overrides: Partial<AtolCorrectionReceiptInput> = {}): AtolCorrectionReceiptInput {
  return {
    order: order(),
    externalId: cloudCorrectionExternalId('236', 1),
    receiptTime: new Date('2026-03-16T07:00:00Z'),
    timeZone: 'Europe/Moscow',
    company: COMPANY,
    kind: 'full_payment',
    settlementTime: new Date('2026-03-15T09:30:00Z'),
    // 22:30 UTC is already the next day in Moscow: the act is dated by the store's calendar.
    actTime: new Date('2026-03-15T22:30:00Z'),
    actNumber: correctionActNumber('236'),
    ...overrides,
  };
}

describe('correction receipt ids and the act', () => {
  it('a correction has its own register id per order and attempt, and the callback door still finds the order', () => {
    expect(cloudCorrectionExternalId('236', 1)).toBe('pos-236-correction');
    expect(cloudCorrectionExternalId('236', 2)).toBe('pos-236-correction-2');
    expect(cloudCorrectionExternalId('236', 1)).not.toBe(cloudSellExternalId('236', 1));
    expect(orderIdOfCloudSellExternalId('pos-236-correction')).toBe('236');
    expect(orderIdOfCloudSellExternalId('pos-236-correction-3')).toBe('236');
    expect(orderIdOfCloudSellExternalId('pos-0236-correction')).toBeUndefined();
    expect(correctionActNumber('236')).toBe('POS-236');
    expect(correctionActNumber('9'.repeat(18)).length).toBeLessThanOrEqual(32);
  });

  it('the fiscal summary says it is a correction receipt with its act', () => {
    const base = { fnNumber: '1', fiscalDocumentNumber: '2', fiscalSign: '3', receiptDateTime: '2026-03-16T07:00:05.000Z' };
    expect(fiscalSummary(base)).toBe('ФН 1 · ФД 2 · ФП 3 · 2026-03-16T07:00:05.000Z');
    expect(fiscalSummary({ ...base, correction: { actDate: '16.03.2026', actNumber: 'POS-236' } })).toBe(
      'correction receipt (self-initiated, act POS-236 of 16.03.2026) · ФН 1 · ФД 2 · ФП 3 · 2026-03-16T07:00:05.000Z',
    );
  });
});

describe('buildAtolCorrectionReceipt (v5 sell_correction, FFD 1.2)', () => {
  it('carries the sale receipt blocks under `correction` with the basis self, the act date in the store zone and number', () => {
    const body = buildAtolCorrectionReceipt(input());
    const sell = buildAtolSellReceipt({ ...input(), receiptTime: new Date('2026-03-15T09:30:00Z') });
    expect(body).not.toHaveProperty('receipt');
    expect(body.external_id).toBe('pos-236-correction');
    expect(body.timestamp).toBe('16.03.2026 10:00:00');
    expect(body.correction.correction_info).toEqual({ type: 'self', base_date: '16.03.2026', base_number: 'POS-236' });
    const { correction_info: _info, ...blocks } = body.correction;
    expect(blocks).toEqual(sell.receipt);
    expect(body.correction.total).toBe(2603);
    expect(body.correction.payments).toEqual([{ type: 1, sum: 2603 }]);
    expect(atolCorrectionRequestSchema.safeParse(body).success).toBe(true);
  });

  it('takes the VAT rate of the settlement day, not of the day the correction is sent', () => {
    const old = { ...order(), items: [item({ basketId: '1', price: 260300, vatRate: 0.2 })] };
    const body = buildAtolCorrectionReceipt(input({ order: old, settlementTime: new Date('2025-12-31T10:00:00Z'), receiptTime: new Date('2026-01-02T10:00:00Z'), actTime: new Date('2026-01-02T09:00:00Z') }));
    expect(body.correction.items[0].vat.type).toBe('vat20');
    // The same 20% line as a sale receipt sent today would be refused: 22% since 2026-01-01.
    expect(() => buildAtolSellReceipt({ ...input({ order: old }), receiptTime: new Date('2026-01-02T10:00:00Z') })).toThrow(/VAT/);
    expect(body.correction.correction_info.base_date).toBe('02.01.2026');
  });

  it('refuses an act number the register would not take', () => {
    expect(() => buildAtolCorrectionReceipt(input({ actNumber: 'x'.repeat(33) }))).toThrow(/actNumber/);
  });
});

describe('buildFermaIncomeCorrection (IncomeCorrection)', () => {
  it('is the Income receipt with Type IncomeCorrection and CorrectionInfo SELF, ReceiptDate dd.MM.yyyy, ReceiptId = the act', () => {
    const common = { order: order(), invoiceId: 'pos-236-correction', receiptTime: new Date('2026-03-16T07:00:00Z'), timeZone: 'Europe/Moscow', company: COMPANY, kind: 'full_payment' as const };
    const body = buildFermaIncomeCorrection({ ...common, settlementTime: new Date('2026-03-15T09:30:00Z'), actTime: new Date('2026-03-15T22:30:00Z'), actNumber: 'POS-236' });
    const income = buildFermaIncomeReceipt(common);
    expect(body.Request.Type).toBe('IncomeCorrection');
    expect(body.Request.InvoiceId).toBe('pos-236-correction');
    expect(body.Request.CustomerReceipt.CorrectionInfo).toMatchObject({ Type: 'SELF', ReceiptDate: '16.03.2026', ReceiptId: 'POS-236' });
    expect(body.Request.CustomerReceipt.Items).toEqual(income.Request.CustomerReceipt.Items);
    expect(body.Request.CustomerReceipt.PaymentItems).toEqual(income.Request.CustomerReceipt.PaymentItems);
    expect(income.Request.CustomerReceipt.CorrectionInfo).toBeUndefined();
    expect(fermaReceiptRequestSchema.safeParse(body).success).toBe(true);
  });
});

describe('the ATOL simulator validates sell_correction as ATOL does (code 32 naming the field)', () => {
  let sim: AtolSimulator;
  beforeAll(async () => {
    sim = await startAtolSimulator({ login: 'l', password: 'p', groupCode: 'g', processingDelayMs: 20, rateLimitPerSec: 0, logger: pino({ level: 'silent' }) });
  });
  afterAll(() => sim?.close());

  const post = async (operation: string, body: unknown) => {
    const t = await request(`${sim.url}/getToken`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'l', pass: 'p' }) });
    const { token } = (await t.body.json()) as { token: string };
    const res = await request(`${sim.url}/g/${operation}`, { method: 'POST', headers: { 'content-type': 'application/json', token }, body: JSON.stringify(body) });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };
  const valid = (externalId = `c-${Math.random().toString(36).slice(2)}`): any => ({ ...buildAtolCorrectionReceipt(input()), external_id: externalId });

  it('takes a valid correction, processes it to done with fiscal data, and answers a resend with code 33 and the same uuid', async () => {
    const body = valid();
    const first = await post('sell_correction', body);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ status: 'wait', error: null });
    const again = await post('sell_correction', body);
    expect([again.status, again.json.error.code, again.json.uuid]).toEqual([400, 33, first.json.uuid]);
    sim.completePending();
    const state = sim.state;
    expect(state.receipts.sell_correction.map((r) => [r.external_id, r.status])).toEqual([[body.external_id, 'done']]);
    expect(state.receipts.sell).toEqual([]);
  });

  type Mutation = [string, string, (b: any) => void];
  const cases: Mutation[] = [
    ['no correction_info (no basis)', 'correction.correction_info', (b) => { delete b.correction.correction_info; }],
    ['basis type unknown', 'correction.correction_info.type', (b) => { b.correction.correction_info.type = 'own'; }],
    ['base_date missing', 'correction.correction_info.base_date', (b) => { delete b.correction.correction_info.base_date; }],
    ['base_date in ISO form', 'correction.correction_info.base_date', (b) => { b.correction.correction_info.base_date = '2026-03-16'; }],
    ['base_date not a real day', 'correction.correction_info.base_date', (b) => { b.correction.correction_info.base_date = '31.02.2026'; }],
    ['base_date after the timestamp', 'correction.correction_info.base_date', (b) => { b.correction.correction_info.base_date = '17.03.2026'; }],
    ['instruction without base_number', 'correction.correction_info.base_number', (b) => { b.correction.correction_info = { type: 'instruction', base_date: '16.03.2026' }; }],
    ['base_number over 32', 'correction.correction_info.base_number', (b) => { b.correction.correction_info.base_number = 'N'.repeat(33); }],
    ['the data under receipt, not correction', 'receipt', (b) => { b.receipt = b.correction; delete b.correction; }],
    ['no correction at all', 'correction', (b) => { delete b.correction; }],
    ['company inn malformed', 'correction.company.inn', (b) => { b.correction.company.inn = '123'; }],
    ['no items', 'correction.items', (b) => { b.correction.items = []; }],
    ['total ≠ items', 'correction.total', (b) => { b.correction.total = 1; }],
  ];
  it.each(cases)('%s → 400 code 32 naming %s', async (_what, field, mutate) => {
    const body = valid();
    mutate(body);
    const res = await post('sell_correction', body);
    expect([res.status, res.json.error.code, res.json.status]).toEqual([400, 32, 'fail']);
    expect(res.json.error.text).toContain(field);
  });

  it('a correction body sent as a sell is refused, and a sell body sent as a correction too', async () => {
    const asSell = await post('sell', valid());
    expect([asSell.status, asSell.json.error.code]).toEqual([400, 32]);
    const { correction, ...rest } = valid();
    const { correction_info: _info, ...receipt } = correction;
    const asCorrection = await post('sell_correction', { ...rest, receipt });
    expect([asCorrection.status, asCorrection.json.error.code]).toEqual([400, 32]);
  });
});

describe('the Ferma simulator validates IncomeCorrection (code 1004 naming the field)', () => {
  let sim: FermaSimulator;
  beforeAll(async () => {
    sim = await startFermaSimulator({ login: 'l', password: 'p', inns: [COMPANY.inn], processingDelayMs: 10, confirmationDelayMs: 10, rateLimitPerSec: 0, logger: pino({ level: 'silent' }) });
  });
  afterAll(() => sim?.close());

  const post = async (body: unknown) => {
    const auth = await request(`${sim.url}/Authorization/CreateAuthToken`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Login: 'l', Password: 'p' }) });
    const token = ((await auth.body.json()) as any).Data.AuthToken as string;
    const res = await request(`${sim.url}/kkt/cloud/receipt?AuthToken=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };
  const valid = (): any => {
    const common = { order: order(), invoiceId: `c-${Math.random().toString(36).slice(2)}`, receiptTime: new Date('2026-03-16T07:00:00Z'), timeZone: 'Europe/Moscow', company: COMPANY, kind: 'full_payment' as const };
    return buildFermaIncomeCorrection({ ...common, settlementTime: new Date('2026-03-15T09:30:00Z'), actTime: new Date('2026-03-15T22:30:00Z'), actNumber: 'POS-236' });
  };

  it('takes a valid IncomeCorrection and keeps it apart from Income receipts', async () => {
    const body = valid();
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(res.json.Data.ReceiptId).toEqual(expect.any(String));
    const again = await post(body);
    expect(again.json.Error.Code).toBe(1019);
    expect(sim.state.receipts.IncomeCorrection.map((r) => r.invoiceId)).toEqual([body.Request.InvoiceId]);
    expect(sim.state.receipts.Income).toEqual([]);
  });

  type Mutation = [string, string, (b: any) => void];
  const ci = (b: any) => b.Request.CustomerReceipt.CorrectionInfo;
  const cases: Mutation[] = [
    ['no CorrectionInfo (no basis)', 'Request.CustomerReceipt.CorrectionInfo', (b) => { delete b.Request.CustomerReceipt.CorrectionInfo; }],
    ['Type unknown', 'Request.CustomerReceipt.CorrectionInfo.Type', (b) => { ci(b).Type = 'self'; }],
    ['ReceiptDate in ISO form', 'Request.CustomerReceipt.CorrectionInfo.ReceiptDate', (b) => { ci(b).ReceiptDate = '2026-03-16'; }],
    ['ReceiptDate not a real day', 'Request.CustomerReceipt.CorrectionInfo.ReceiptDate', (b) => { ci(b).ReceiptDate = '30.02.2026'; }],
    ['INSTRUCTION without ReceiptId', 'Request.CustomerReceipt.CorrectionInfo.ReceiptId', (b) => { ci(b).Type = 'INSTRUCTION'; delete ci(b).ReceiptId; }],
    ['CorrectionInfo on an Income receipt', 'Request.CustomerReceipt.CorrectionInfo', (b) => { b.Request.Type = 'Income'; }],
  ];
  it.each(cases)('%s → 400 code 1004 naming %s', async (_what, field, mutate) => {
    const body = valid();
    mutate(body);
    const res = await post(body);
    expect([res.status, res.json.Error.Code]).toEqual([400, 1004]);
    expect(res.json.Error.Message).toContain(field);
  });
});
