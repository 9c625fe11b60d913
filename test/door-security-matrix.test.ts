import { request } from 'undici';
import { NO_MATCHING_KEY, sign } from '../api/signature';
import { loadEnv } from '../lib/config';
import { seededRandom } from '../lib/random';
import { checkUrlKey, storeCashboxToken } from '../lib/bitrix-cashbox-secret';
import type { TerminalReceiptState } from '../workflows/terminal-receipt';
import { terminalReceiptQuery } from '../workflows/terminal-receipt';
import { GRINDER, STORES, waitForOrderStage } from './support/refunds';
import { eventually, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';

// Every door × every way a careless or hostile caller can misuse it: the documented status, a reason naming
// the field, and nothing recorded in Temporal, Bitrix or the registers (compared before and after, not assumed).
const MAIN_KEY = 'main:main-secret-0123456789abcdef';
const NSK_KEY = 'nsk:nsk-secret-0123456789abcdef01';
const CONFIG = `${TEST_POS_CONFIG.replace('    fiscalMode: terminal\n  - id: spb-2', '    fiscalMode: terminal\n    bitrixCashbox: { enabled: true, email: kassa@example.ru }\n  - id: spb-2')}
  - id: nsk-4
    name: Pickup Novosibirsk 4
    bitrixStoreId: "4"
    terminalKind: middleware
    middlewareKeyId: nsk
    fiscalMode: 1c
`;

type Answer = { status: number; body: Record<string, unknown> };
interface Case {
  door: string;
  misuse: string;
  send: () => Promise<Answer>;
  status: number;
  /** What the error (or the per-receipt reason) must name. */
  names: string | RegExp;
  /** For answers that are not refusals: what the body says. */
  body?: Record<string, unknown>;
}

describe('door security matrix', () => {
  let stack: TestStack;
  let mskOrder: number;
  let nskOrder: number;
  let before: string;
  const evotorReceiptId = `matrix-${Date.now().toString(36)}`;

  async function raw(method: 'GET' | 'POST', path: string, body: string | undefined, headers: Record<string, string>): Promise<Answer> {
    const res = await request(`${stack.apiUrl}${path}`, { method, headers, body });
    const text = await res.body.text();
    if (!(res.headers['content-type'] ?? '').toString().includes('json')) return { status: res.statusCode, body: { text } };
    return { status: res.statusCode, body: text ? JSON.parse(text) : {} };
  }

  /** A middleware request signed as the contract says (or deliberately not). */
  function signed(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    opts: { key?: string; secret?: string; timestamp?: number; contentType?: string; omit?: boolean; signature?: string } = {},
  ): Promise<Answer> {
    const [keyId, secret] = (opts.key ?? MAIN_KEY).split(':');
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = opts.signature ?? `v1=${sign(opts.secret ?? secret, timestamp, method === 'GET' ? path : (body ?? ''))}`;
    const headers: Record<string, string> = opts.omit ? {} : { 'x-pos-key-id': keyId, 'x-pos-timestamp': String(timestamp), 'x-pos-signature': signature };
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    return raw(method, path, body, headers);
  }

  const batch = (receipt: Record<string, unknown>) => JSON.stringify({ receipts: [receipt] });
  const mwReceipt = (overrides: Record<string, unknown> = {}) => ({
    receiptId: `mw-${Math.random().toString(36).slice(2)}`,
    storeId: 'msk-1',
    deviceId: 'ingenico-1',
    type: 'SELL',
    dateTime: new Date().toISOString(),
    total: 249000,
    lines: [{ productId: '101', name: 'Кофемолка', quantity: 1, price: 249000 }],
    ...overrides,
  });
  const evotorWebhook = (data: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: `evt-${Math.random()}`,
      timestamp: Date.now(),
      type: 'ReceiptCreated',
      version: 2,
      data: {
        id: `evo-${Math.random().toString(36).slice(2)}`,
        deviceId: STORES.msk.device,
        storeId: STORES.msk.terminalStore,
        dateTime: new Date().toISOString(),
        type: 'SELL',
        paymentSource: 'PAY_CARD',
        items: [{ id: '101', name: 'Кофемолка', quantity: 1, price: 2490, sumPrice: 2490 }],
        totalAmount: 2490,
        ...data,
      },
    });
  const evotor = (body: string, headers: Record<string, string> = {}) =>
    raw('POST', '/webhooks/evotor/receipts', body, { 'content-type': 'application/json', authorization: `Bearer ${stack.evotorWebhookToken}`, ...headers });
  const bitrixForm = (fields: Record<string, string> = {}) =>
    new URLSearchParams({
      event: 'ONSALEORDERSAVED',
      'data[FIELDS][ID]': String(mskOrder),
      ts: String(Math.floor(Date.now() / 1000)),
      'auth[application_token]': stack.bitrixAppToken,
      ...fields,
    }).toString();
  const bitrix = (body: string, contentType = 'application/x-www-form-urlencoded') => raw('POST', '/webhooks/bitrix', body, { 'content-type': contentType });
  const confirmation = (overrides: Record<string, unknown> = {}, fiscal: Record<string, unknown> = {}) =>
    JSON.stringify({
      orderId: String(nskOrder),
      fiscal: { fnNumber: '9999078900012345', fiscalDocumentNumber: '123', fiscalSign: '456789', receiptDateTime: new Date().toISOString(), ...fiscal },
      ...overrides,
    });
  const admin = (path: string, auth = `Bearer ${stack.adminApiKey}`) => raw('GET', path, undefined, { authorization: auth });
  /** Bitrix's print request for a REST cashbox (form-encoded, as Bitrix posts it), from the cashbox of `store`. */
  const cashboxForm = (fields: Record<string, string> = {}, store = 'msk-1', token = storeCashboxToken(stack.bitrixCashboxSecret, store)) =>
    new URLSearchParams({
      uuid: 'check|portal.example.ru|77',
      type: 'sell',
      total_sum: '2490.00',
      number_kkm: `pos-bridge:${store}`,
      'cashbox_params[AUTH][TOKEN]': token,
      'items[0][name]': 'Кофемолка',
      'items[0][price]': '2490',
      'items[0][quantity]': '1',
      ...fields,
    }).toString();
  const cashbox = (body: string, contentType = 'application/x-www-form-urlencoded') => raw('POST', '/webhooks/bitrix/cashbox/print', body, { 'content-type': contentType });
  const cashboxCheck = (body: string, key = checkUrlKey(stack.bitrixCashboxSecret)) =>
    raw('POST', `/webhooks/bitrix/cashbox/check?key=${encodeURIComponent(key)}`, body, { 'content-type': 'application/x-www-form-urlencoded' });

  /** Everything a misused door could have changed: workflows, Bitrix orders/stock/documents, the registers' receipts. */
  async function recorded(): Promise<string> {
    const workflows: string[] = [];
    for await (const wf of stack.client.workflow.list()) workflows.push(`${wf.workflowId}/${wf.runId}`);
    const bx = stack.bitrix.snapshot();
    return JSON.stringify({
      workflows: workflows.sort(),
      orders: bx.orders.map((o) => ({ id: o.id, status: o.statusId, payments: o.payments.map((p) => [p.paid, p.psInvoiceId]) })),
      stock: bx.stock,
      documents: bx.documents.length,
      checks: bx.cashboxes.checks.map((c) => [c.uuid, c.status, c.applyCount]),
      atol: stack.atol!.state.receipts.sell.length,
      ferma: stack.ferma!.state.receipts.Income.length,
    });
  }

  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: CONFIG, env: loadEnv({ API_PORT: '0', MIDDLEWARE_KEYS: `${MAIN_KEY},${NSK_KEY}` }) });
    stack.bitrix.addStore({ id: 4, title: 'Novosibirsk' });
    stack.bitrix.setStock({ productId: GRINDER.productId, storeId: '4', amount: 100 });
    const order = (warehouse: number) =>
      stack.bitrix.createOrder({ statusId: 'N', basket: [{ ...GRINDER, quantity: 1, reservations: [{ storeId: warehouse, quantity: 1 }] }], payments: [{ paySystemId: 10 }] }).id;
    mskOrder = order(1);
    nskOrder = order(4);
    // The orders' workflows start from Bitrix's own event and wait for payment.
    for (const id of [mskOrder, nskOrder]) expect((await bitrix(bitrixForm({ 'data[FIELDS][ID]': String(id) }))).status).toBe(200);
    await waitForOrderStage(stack, mskOrder, 'AWAITING_PAYMENT');
    await waitForOrderStage(stack, nskOrder, 'AWAITING_PAYMENT');
    // A receipt accepted once: the "replayed" Evotor case sends it again.
    expect((await evotor(evotorWebhook({ id: evotorReceiptId, items: [{ id: '101', name: 'Кофемолка', quantity: 1, price: 10, sumPrice: 10 }], totalAmount: 10 }))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    before = await recorded();
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const tooLong = 'x'.repeat(2_000);
  const cases: Case[] = [
    // Evotor receipt webhook (Bearer token we issued). Evotor sends no timestamp to judge staleness by: it
    // resends for days, and the receipt id makes any resend a duplicate.
    { door: 'evotor', misuse: 'no credentials', send: () => evotor(evotorWebhook(), { authorization: '' }), status: 401, names: 'Authorization' },
    { door: 'evotor', misuse: 'wrong credentials', send: () => evotor(evotorWebhook(), { authorization: 'Bearer not-the-token' }), status: 401, names: 'Authorization' },
    { door: 'evotor', misuse: 'replayed', send: () => evotor(evotorWebhook({ id: evotorReceiptId, items: [{ id: '101', name: 'Кофемолка', quantity: 1, price: 10 }], totalAmount: 10 })), status: 200, names: /^$/, body: { status: 'duplicate' } },
    { door: 'evotor', misuse: 'malformed', send: () => evotor(JSON.stringify({ data: { type: 'SELL' } })), status: 400, names: 'data.id' },
    { door: 'evotor', misuse: 'wrong content type', send: () => evotor(evotorWebhook(), { 'content-type': 'text/plain' }), status: 415, names: 'Content-Type' },
    { door: 'evotor', misuse: 'oversized', send: () => evotor(evotorWebhook({ paymentSource: 'x'.repeat(1_200_000) })), status: 413, names: 'body' },
    { door: 'evotor', misuse: 'over-long id', send: () => evotor(evotorWebhook({ deviceId: 'd'.repeat(100_000) })), status: 400, names: 'data.deviceId' },
    { door: 'evotor', misuse: 'non-canonical order id', send: () => evotor(evotorWebhook({ extras: { bitrixOrderId: `0${mskOrder}` } })), status: 400, names: 'data.extras.bitrixOrderId' },
    { door: 'evotor', misuse: 'non-canonical store id', send: () => evotor(evotorWebhook({ storeId: `${STORES.msk.terminalStore} ` })), status: 400, names: 'data.storeId' },
    { door: 'evotor', misuse: 'impossible amount', send: () => evotor(evotorWebhook({ totalAmount: 0 })), status: 400, names: 'data.totalAmount' },
    { door: 'evotor', misuse: 'impossible quantity', send: () => evotor(evotorWebhook({ items: [{ id: '101', name: 'Кофемолка', quantity: -5, price: 2490 }] })), status: 400, names: 'data.items.0.quantity' },

    // Middleware receipts batch (HMAC over timestamp + body).
    { door: 'middleware batch', misuse: 'no credentials', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt()), { omit: true }), status: 401, names: 'x-pos-key-id' },
    { door: 'middleware batch', misuse: 'wrong credentials', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt()), { secret: 'not-the-secret-at-all-0000' }), status: 401, names: NO_MATCHING_KEY },
    { door: 'middleware batch', misuse: 'unknown key id', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt()), { key: 'ghost:ghost-secret-0123456789' }), status: 401, names: NO_MATCHING_KEY },
    {
      door: 'middleware batch',
      misuse: 'replayed',
      send: async () => {
        const body = batch(mwReceipt({ total: 0 }));
        const timestamp = Math.floor(Date.now() / 1000);
        await signed('POST', '/middleware/v1/receipts/batch', body, { timestamp });
        return signed('POST', '/middleware/v1/receipts/batch', body, { timestamp });
      },
      status: 409,
      names: 'x-pos-signature',
    },
    { door: 'middleware batch', misuse: 'stale', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt()), { timestamp: Math.floor(Date.now() / 1000) - 3600 }), status: 401, names: 'x-pos-timestamp' },
    { door: 'middleware batch', misuse: 'malformed', send: () => signed('POST', '/middleware/v1/receipts/batch', JSON.stringify({ receipts: 'all of them' })), status: 400, names: 'receipts' },
    { door: 'middleware batch', misuse: 'wrong content type', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt()), { contentType: 'text/plain' }), status: 415, names: 'Content-Type' },
    { door: 'middleware batch', misuse: 'oversized', send: () => signed('POST', '/middleware/v1/receipts/batch', JSON.stringify({ receipts: [mwReceipt({ pad: 'x'.repeat(10_600_000) })] })), status: 413, names: 'body' },
    { door: 'middleware batch', misuse: 'oversized, unsigned (refused unread)', send: () => signed('POST', '/middleware/v1/receipts/batch', 'x'.repeat(10_600_000), { key: 'ghost:ghost-secret-0123456789' }), status: 401, names: NO_MATCHING_KEY },
    { door: 'middleware batch', misuse: 'over-long id', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt({ receiptId: tooLong })), {}), status: 200, names: 'receiptId' },
    { door: 'middleware batch', misuse: 'over-long product id', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt({ lines: [{ productId: '9'.repeat(5000), name: 'x', quantity: 1 }] }))), status: 200, names: 'lines.0.productId' },
    { door: 'middleware batch', misuse: 'non-canonical order id', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt({ orderId: `0${mskOrder}`, lines: [] }))), status: 200, names: 'orderId' },
    { door: 'middleware batch', misuse: "another store's order", send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt({ storeId: 'spb-2', orderId: String(mskOrder), lines: [] }))), status: 200, names: /orderId: order \d+ belongs to store msk-1/ },
    { door: 'middleware batch', misuse: "a key speaking for another store", send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt({ storeId: 'nsk-4' }))), status: 200, names: 'storeId' },
    { door: 'middleware batch', misuse: 'impossible amount', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt({ total: 0 }))), status: 200, names: 'total' },
    { door: 'middleware batch', misuse: 'impossible quantity', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt({ lines: [{ productId: '101', name: 'x', quantity: 1e308 }] }))), status: 200, names: 'lines.0.quantity' },
    { door: 'middleware batch', misuse: 'fractional quantity below a gram', send: () => signed('POST', '/middleware/v1/receipts/batch', batch(mwReceipt({ lines: [{ productId: '101', name: 'x', quantity: 1e-9 }] }))), status: 200, names: 'lines.0.quantity' },

    // Middleware waiting-orders list (signed over the request target; a read may repeat).
    { door: 'middleware orders', misuse: 'no credentials', send: () => signed('GET', '/middleware/v1/orders?storeId=msk-1', undefined, { omit: true }), status: 401, names: 'x-pos-key-id' },
    { door: 'middleware orders', misuse: 'wrong credentials', send: () => signed('GET', '/middleware/v1/orders?storeId=msk-1', undefined, { secret: 'not-the-secret-at-all-0000' }), status: 401, names: NO_MATCHING_KEY },
    { door: 'middleware orders', misuse: 'stale', send: () => signed('GET', '/middleware/v1/orders?storeId=msk-1', undefined, { timestamp: Math.floor(Date.now() / 1000) - 3600 }), status: 401, names: 'x-pos-timestamp' },
    { door: 'middleware orders', misuse: 'malformed', send: () => signed('GET', '/middleware/v1/orders', undefined), status: 400, names: 'storeId' },
    { door: 'middleware orders', misuse: 'over-long id', send: () => signed('GET', `/middleware/v1/orders?storeId=${tooLong}`, undefined), status: 404, names: 'storeId' },
    { door: 'middleware orders', misuse: "another store's orders", send: () => signed('GET', '/middleware/v1/orders?storeId=nsk-4', undefined), status: 403, names: 'storeId' },

    // 1C:Retail fiscal confirmations (signed).
    { door: 'fiscal confirmation', misuse: 'no credentials', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation(), { key: NSK_KEY, omit: true }), status: 401, names: 'x-pos-key-id' },
    { door: 'fiscal confirmation', misuse: 'wrong credentials', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation(), { key: NSK_KEY, secret: 'not-the-secret-at-all-0000' }), status: 401, names: NO_MATCHING_KEY },
    { door: 'fiscal confirmation', misuse: 'stale', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation(), { key: NSK_KEY, timestamp: Math.floor(Date.now() / 1000) - 3600 }), status: 401, names: 'x-pos-timestamp' },
    { door: 'fiscal confirmation', misuse: 'malformed', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation({}, { fnNumber: '12' }), { key: NSK_KEY }), status: 400, names: 'fiscal.fnNumber' },
    { door: 'fiscal confirmation', misuse: 'wrong content type', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation(), { key: NSK_KEY, contentType: 'text/plain' }), status: 415, names: 'Content-Type' },
    { door: 'fiscal confirmation', misuse: 'oversized', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation({ pad: 'x'.repeat(70_000) }), { key: NSK_KEY }), status: 413, names: 'body' },
    { door: 'fiscal confirmation', misuse: 'over-long id', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation({ receiptId: tooLong }), { key: NSK_KEY }), status: 400, names: 'receiptId' },
    { door: 'fiscal confirmation', misuse: 'non-canonical order id', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation({ orderId: `00${nskOrder}` }), { key: NSK_KEY }), status: 400, names: 'orderId' },
    { door: 'fiscal confirmation', misuse: "another store's order", send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation({ orderId: String(nskOrder) }), { key: MAIN_KEY }), status: 403, names: 'storeId' },
    { door: 'fiscal confirmation', misuse: 'out of turn (order awaits payment)', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation(), { key: NSK_KEY }), status: 409, names: 'orderId' },
    { door: 'fiscal confirmation', misuse: 'javascript: URL', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation({}, { ofdUrl: 'javascript:alert(1)' }), { key: NSK_KEY }), status: 400, names: 'fiscal.ofdUrl' },
    { door: 'fiscal confirmation', misuse: 'impossible amount', send: () => signed('POST', '/middleware/v1/fiscal-confirmations', confirmation({}, { total: -100 }), { key: NSK_KEY }), status: 400, names: 'fiscal.total' },

    // Bitrix events (auth[application_token] in the form).
    { door: 'bitrix', misuse: 'no credentials', send: () => bitrix(bitrixForm({ 'auth[application_token]': '' })), status: 401, names: 'auth[application_token]' },
    { door: 'bitrix', misuse: 'wrong credentials', send: () => bitrix(bitrixForm({ 'auth[application_token]': 'not-the-token' })), status: 401, names: 'auth[application_token]' },
    { door: 'bitrix', misuse: 'stale', send: () => bitrix(bitrixForm({ ts: String(Math.floor(Date.now() / 1000) - 30 * 86_400) })), status: 400, names: 'ts' },
    { door: 'bitrix', misuse: 'malformed', send: () => bitrix(bitrixForm({ 'data[FIELDS][ID]': 'abc' })), status: 400, names: 'data[FIELDS][ID]' },
    { door: 'bitrix', misuse: 'wrong content type', send: () => bitrix(JSON.stringify({ event: 'ONSALEORDERSAVED' }), 'application/json'), status: 415, names: 'Content-Type' },
    { door: 'bitrix', misuse: 'oversized', send: () => bitrix(bitrixForm({ pad: 'x'.repeat(70_000) })), status: 413, names: 'body' },
    { door: 'bitrix', misuse: 'over-long id', send: () => bitrix(bitrixForm({ 'data[FIELDS][ID]': '9'.repeat(2000) })), status: 400, names: 'data[FIELDS][ID]' },
    { door: 'bitrix', misuse: 'non-canonical id', send: () => bitrix(bitrixForm({ 'data[FIELDS][ID]': `0${mskOrder}` })), status: 400, names: 'data[FIELDS][ID]' },

    // Bitrix REST cashbox print requests (the store's cashbox token in cashbox_params[AUTH][TOKEN]) and CHECK_URL (key).
    { door: 'bitrix cashbox', misuse: 'no credentials', send: () => cashbox(cashboxForm({ 'cashbox_params[AUTH][TOKEN]': '' })), status: 401, names: 'cashbox_params[AUTH][TOKEN]' },
    { door: 'bitrix cashbox', misuse: 'wrong credentials', send: () => cashbox(cashboxForm({ 'cashbox_params[AUTH][TOKEN]': 'not-the-token' })), status: 401, names: 'cashbox_params[AUTH][TOKEN]' },
    { door: 'bitrix cashbox', misuse: "another store's cashbox token", send: () => cashbox(cashboxForm({}, 'msk-1', storeCashboxToken(stack.bitrixCashboxSecret, 'spb-2'))), status: 401, names: 'cashbox_params[AUTH][TOKEN]' },
    { door: 'bitrix cashbox', misuse: 'a store without a cashbox', send: () => cashbox(cashboxForm({}, 'spb-2')), status: 403, names: 'number_kkm' },
    { door: 'bitrix cashbox', misuse: 'malformed', send: () => cashbox(cashboxForm({ uuid: '' })), status: 400, names: 'uuid' },
    { door: 'bitrix cashbox', misuse: 'wrong content type', send: () => cashbox(cashboxForm(), 'text/plain'), status: 415, names: 'Content-Type' },
    { door: 'bitrix cashbox', misuse: 'oversized', send: () => cashbox(cashboxForm({ pad: 'x'.repeat(300_000) })), status: 413, names: 'body' },
    { door: 'bitrix cashbox', misuse: 'over-long id', send: () => cashbox(cashboxForm({ uuid: `check|${'h'.repeat(2000)}|1` })), status: 400, names: 'uuid' },
    { door: 'bitrix cashbox', misuse: 'impossible amount', send: () => cashbox(cashboxForm({ total_sum: '0' })), status: 400, names: 'total_sum' },
    { door: 'bitrix cashbox', misuse: 'a payment the bridge does not know', send: () => cashbox(cashboxForm({ total_sum: '1.23' })), status: 422, names: 'no sale of 1.23 RUB at store msk-1' },
    { door: 'bitrix cashbox check', misuse: 'no credentials', send: () => raw('POST', '/webhooks/bitrix/cashbox/check', 'uuid=check%7Cp%7C1', { 'content-type': 'application/x-www-form-urlencoded' }), status: 401, names: 'key' },
    { door: 'bitrix cashbox check', misuse: 'wrong credentials', send: () => cashboxCheck('uuid=check%7Cp%7C1', 'not-the-key'), status: 401, names: 'key' },
    { door: 'bitrix cashbox check', misuse: 'malformed', send: () => cashboxCheck('uuid=nope'), status: 400, names: 'uuid' },
    { door: 'bitrix cashbox check', misuse: 'a check the bridge does not know', send: () => cashboxCheck('uuid=check%7Cp%7C1'), status: 200, names: /^$/, body: { STATUS: 'ERROR' } },

    // The registers' callbacks: unauthenticated, so they only hint (test/fiscal-callback-flood.test.ts floods them).
    { door: 'ATOL callback', misuse: 'malformed', send: () => raw('POST', '/webhooks/atol/callback', '{}', { 'content-type': 'application/json' }), status: 400, names: 'external_id' },
    { door: 'ATOL callback', misuse: 'oversized', send: () => raw('POST', '/webhooks/atol/callback', JSON.stringify({ uuid: 'u', external_id: 'x', pad: 'x'.repeat(70_000) }), { 'content-type': 'application/json' }), status: 413, names: 'body' },
    { door: 'ATOL callback', misuse: 'over-long id', send: () => raw('POST', '/webhooks/atol/callback', JSON.stringify({ uuid: 'u', external_id: tooLong }), { 'content-type': 'application/json' }), status: 400, names: 'external_id' },
    { door: 'ATOL callback', misuse: 'non-canonical order id', send: () => raw('POST', '/webhooks/atol/callback', JSON.stringify({ uuid: 'u', external_id: `pos-0${mskOrder}-sell` }), { 'content-type': 'application/json' }), status: 200, names: /^$/, body: { status: 'ignored' } },
    { door: 'ATOL callback', misuse: 'an order not waiting for a report', send: () => raw('POST', '/webhooks/atol/callback', JSON.stringify({ uuid: 'u', external_id: `pos-${mskOrder}-sell` }), { 'content-type': 'application/json' }), status: 200, names: /^$/, body: { status: 'ignored' } },
    { door: 'ATOL callback', misuse: 'non-canonical order id in a correction id', send: () => raw('POST', '/webhooks/atol/callback', JSON.stringify({ uuid: 'u', external_id: `pos-0${mskOrder}-correction` }), { 'content-type': 'application/json' }), status: 200, names: /^$/, body: { status: 'ignored' } },
    { door: 'ATOL callback', misuse: 'non-canonical attempt in a correction id', send: () => raw('POST', '/webhooks/atol/callback', JSON.stringify({ uuid: 'u', external_id: `pos-${mskOrder}-correction-0` }), { 'content-type': 'application/json' }), status: 200, names: /^$/, body: { status: 'ignored' } },
    { door: 'Ferma callback', misuse: 'non-canonical order id in a correction id', send: () => raw('POST', `/webhooks/ferma/callback?invoiceId=pos-0${mskOrder}-correction`, '{}', { 'content-type': 'application/json' }), status: 200, names: /^$/, body: { status: 'ignored' } },
    { door: 'Ferma callback', misuse: 'over-long id', send: () => raw('POST', `/webhooks/ferma/callback?invoiceId=${tooLong}`, '{}', { 'content-type': 'application/json' }), status: 200, names: /^$/, body: { status: 'ignored' } },

    // Admin API (Bearer ADMIN_API_KEY).
    { door: 'admin', misuse: 'no credentials', send: () => admin(`/api/orders/${mskOrder}`, ''), status: 401, names: 'Authorization' },
    { door: 'admin', misuse: 'wrong credentials', send: () => admin(`/api/orders/${mskOrder}`, 'Bearer not-the-admin-key-000'), status: 401, names: 'Authorization' },
    { door: 'admin', misuse: 'non-canonical id', send: () => admin(`/api/orders/0${mskOrder}`), status: 400, names: 'orderId' },
    { door: 'admin', misuse: 'over-long id', send: () => admin(`/api/orders/${'9'.repeat(2000)}`), status: 400, names: 'orderId' },

    // The reconciliation report archive (admin) and the metrics endpoint (read-only, meant for the internal network).
    { door: 'report archive', misuse: 'no credentials', send: () => admin('/api/reconciliation/archive/2026-11-28', ''), status: 401, names: 'Authorization' },
    { door: 'report archive', misuse: 'wrong credentials', send: () => admin('/api/reconciliation/archive/2026-11-28', 'Bearer not-the-admin-key-000'), status: 401, names: 'Authorization' },
    { door: 'report archive', misuse: 'malformed date', send: () => admin('/api/reconciliation/archive/2026-1-1'), status: 400, names: 'date' },
    { door: 'report archive', misuse: 'over-long date', send: () => admin(`/api/reconciliation/archive/${'9'.repeat(2000)}`), status: 400, names: 'date' },
    { door: 'report archive', misuse: 'path traversal', send: () => admin('/api/reconciliation/archive/..%2F..%2Fetc%2Fpasswd'), status: 400, names: 'date' },
    { door: 'metrics', misuse: 'no credentials (read-only: answers, changes nothing)', send: () => raw('GET', '/metrics', undefined, {}), status: 200, names: /^$/ },
  ];

  it.each(cases.map((c) => [`${c.door} × ${c.misuse}`, c] as const))('%s', async (_name, c) => {
    const answer = await c.send();
    expect(answer.status).toBe(c.status);
    const results = answer.body.results as { status: string; reason?: string }[] | undefined;
    const reason = String(answer.body.error ?? results?.[0]?.reason ?? '');
    if (results) expect(results[0].status).toBe('rejected');
    if (c.body) expect(answer.body).toMatchObject(c.body);
    if (typeof c.names === 'string') expect(reason).toContain(c.names);
    else expect(reason).toMatch(c.names);
  });

  it('answers no request of any shape with a 5xx (random bodies, with valid credentials, at every door)', async () => {
    const random = seededRandom(12345);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const strings = ['', ' ', '0', '029078082', '-5', '1e308', 'javascript:alert(1)', "'; DROP", '\u0000', 'я'.repeat(300), 'x'.repeat(3000), '../../etc', 'pos-1-sell', '%00'];
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.3) return pick<unknown>([null, true, 0, -1, 1.5, 1e308, -1e-9, Number.MAX_SAFE_INTEGER + 2, ...strings]);
      if (r < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      const keys = ['id', 'data', 'receipts', 'orderId', 'storeId', 'deviceId', 'total', 'totalAmount', 'items', 'lines', 'quantity', 'type', 'extras', 'fiscal', 'external_id', 'uuid', 'dateTime'];
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 6) }, () => [pick(keys), value(depth + 1)]));
    };
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    /** A random print request with the cashbox's valid credentials: as JSON, or as Bitrix's form with random values. */
    const randomCashboxRequest = (body: string): [string, string] => {
      try {
        const parsed: unknown = JSON.parse(body);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && random() < 0.5) {
          const token = storeCashboxToken(stack.bitrixCashboxSecret, 'msk-1');
          return [JSON.stringify({ ...parsed, number_kkm: 'pos-bridge:msk-1', cashbox_params: { AUTH: { TOKEN: token } } }), 'application/json'];
        }
      } catch {
        // not JSON: the form below
      }
      return [cashboxForm({ uuid: String(pick(strings)), type: String(pick(strings)), total_sum: String(pick(strings)) }), 'application/x-www-form-urlencoded'];
    };
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) {
      const body = i % 50 === 0 ? deep : i % 17 === 0 ? '{"data": {' : JSON.stringify(value(0));
      const door = i % 7;
      const answer =
        door === 0
          ? await evotor(body)
          : door === 1
            ? await signed('POST', '/middleware/v1/receipts/batch', body)
            : door === 2
              ? await signed('POST', '/middleware/v1/fiscal-confirmations', body, { key: NSK_KEY })
              : door === 3
                ? await raw('POST', '/webhooks/atol/callback', body, { 'content-type': 'application/json' })
                : door === 5
                  ? await cashbox(...randomCashboxRequest(body))
                : door === 4
                  ? await bitrix(new URLSearchParams({ 'auth[application_token]': stack.bitrixAppToken, event: String(pick(strings)), 'data[FIELDS][ID]': String(pick(strings)), ts: String(pick(strings)) }).toString())
                  : await signed('GET', `/middleware/v1/orders?storeId=${encodeURIComponent(String(pick(strings)))}`, undefined);
      statuses.push(answer.status);
    }
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect((await raw('GET', '/healthz', undefined, {})).status).toBe(200);
  }, 120_000);

  it('left nothing recorded in Temporal, Bitrix or the registers', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    expect(await recorded()).toBe(before);
  });

  it("holds an Evotor receipt for another store's order for a person, and changes nothing in Bitrix", async () => {
    const receiptId = `foreign-${Date.now().toString(36)}`;
    const answer = await evotor(evotorWebhook({ id: receiptId, storeId: STORES.spb.terminalStore, deviceId: STORES.spb.device, extras: { bitrixOrderId: String(mskOrder) } }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'held', reason: expect.stringContaining(`belongs to store msk-1`) });
    const held = await eventually(async () => {
      const s: TerminalReceiptState = await stack.client.workflow.getHandle(`terminal-receipt:${STORES.spb.terminalStore}:${receiptId}`).query(terminalReceiptQuery);
      return s.stage === 'NEEDS_ATTENTION' ? s : undefined;
    }, 'the receipt held');
    expect(held.reason).toContain('belongs to store msk-1');
    const order = await waitForOrderStage(stack, mskOrder, 'AWAITING_PAYMENT');
    expect(order.paidAmount).toBe(0);
    expect(stack.bitrix.snapshot().orders.find((o) => o.id === mskOrder)!.payments.every((p) => !p.paid)).toBe(true);
    // The comparison above can tell: this held receipt is a new workflow it sees.
    expect(await recorded()).not.toBe(before);
  });
});
