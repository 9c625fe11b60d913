import { NO_MATCHING_KEY } from '../api/signature';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { sign } from '../api/signature';
import type { PosPaymentStatus } from '../domain/payment';
import { loadEnv } from '../lib/config';
import type { RefundStatus } from '../domain/refund';
import { statusQuery } from '../workflows/pos-payment';
import { refundStatusQuery } from '../workflows/refund';
import { postSignedBatch, signedRequest } from './support/middleware';
import { eventually, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';

// A pickup point whose terminal has no HTTP API (an Ingenico beside 1C:Retail): terminalKind "middleware",
// fiscalMode "1c". The middleware fetches the waiting orders, reports the payment, confirms the fiscal
// receipt — all through the signed door — and the order ends paid in Bitrix with its stock written off.
const execFileAsync = promisify(execFile);
const STORE_KEY = `store-nsk:${'s'.repeat(20)}1`;
const CENTRAL_KEY = `central:${'c'.repeat(20)}2`;
const CONFIG = `${TEST_POS_CONFIG}
  - id: nsk-4
    name: Pickup Novosibirsk 4
    bitrixStoreId: "4"
    terminalKind: middleware
    middlewareKeyId: store-nsk
    fiscalMode: 1c
`;

const FISCAL = { fnNumber: '7380440800123456', fiscalDocumentNumber: '4711', fiscalSign: '2233445566', receiptDateTime: '2026-11-29T09:15:00+07:00', shiftNumber: '12' };

describe('a middleware terminal with 1C:Retail fiscalization', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: CONFIG, env: loadEnv({ API_PORT: '0', MIDDLEWARE_KEYS: `${STORE_KEY},${CENTRAL_KEY}` }) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const status = (orderId: number): Promise<PosPaymentStatus> => stack.client.workflow.getHandle(`pos-payment:${orderId}`).query(statusQuery);
  const waitStage = (orderId: number, wanted: string) =>
    eventually(async () => ((await status(orderId)).stage === wanted ? status(orderId) : undefined), `order ${orderId} ${wanted}`, 45_000);
  const stockAt4 = (productId: number) => stack.bitrix.snapshot().stock.find((s) => s.storeId === 4 && s.productId === productId)!.amount;
  const orderAtNsk = () =>
    stack.bitrix.createOrder({
      basket: [{ productId: 102, name: 'Кофе в зёрнах 1 кг', price: '1590.50', quantity: 2, vatRate: 0.22, reservations: [{ storeId: 4, quantity: 2 }] }],
      payments: [{ paySystemId: 10 }],
    });

  it('lists the waiting order, takes the payment and the 1C fiscal confirmation, and completes the order once', async () => {
    const stockBefore = stockAt4(102);
    const pushesBefore = stack.evotor.state.pushes.length;
    const order = orderAtNsk();
    await waitStage(order.id, 'AWAITING_PAYMENT');
    // Nothing is pushed to a middleware terminal: it pulls.
    expect(stack.evotor.state.pushes.length).toBe(pushesBefore);

    const waiting = await eventually(async () => {
      const r = await signedRequest(stack.apiUrl, STORE_KEY, 'GET', '/middleware/v1/orders?storeId=nsk-4');
      expect(r.status).toBe(200);
      const orders = r.body.orders as { orderId: string; total: number; accountNumber?: string; payBy?: string }[];
      return orders.find((o) => o.orderId === String(order.id));
    }, 'the order in the waiting list');
    expect(waiting).toMatchObject({ total: 318100, currency: 'RUB', accountNumber: order.accountNumber });
    expect(Date.parse(waiting.payBy!)).toBeGreaterThan(Date.now());

    const payment = {
      receiptId: `ingenico-${order.id}`,
      storeId: 'nsk-4',
      deviceId: 'ingenico-1',
      type: 'SELL',
      dateTime: new Date().toISOString(),
      orderId: String(order.id),
      total: 318100,
      paymentType: 'card',
    };
    const paid = await postSignedBatch(stack.apiUrl, STORE_KEY, [payment]);
    expect(paid.body.results).toEqual([expect.objectContaining({ status: 'accepted', workflowId: `pos-payment:${order.id}` })]);
    const again = await postSignedBatch(stack.apiUrl, STORE_KEY, [payment], { timestamp: Math.floor(Date.now() / 1000) + 1 });
    expect(again.body.results![0].status).toBe('accepted'); // same receipt: the workflow dedupes it by receipt id
    await waitStage(order.id, 'FISCALIZING');

    const confirmation = { orderId: String(order.id), receiptId: payment.receiptId, fiscal: FISCAL };
    const ts = Math.floor(Date.now() / 1000);
    const confirmed = await signedRequest(stack.apiUrl, STORE_KEY, 'POST', '/middleware/v1/fiscal-confirmations', confirmation, { timestamp: ts });
    expect(confirmed).toEqual({ status: 202, body: { status: 'accepted', workflowId: `pos-payment:${order.id}` } });
    // The very same signed request again is a replay.
    const replayed = await signedRequest(stack.apiUrl, STORE_KEY, 'POST', '/middleware/v1/fiscal-confirmations', confirmation, { timestamp: ts });
    expect(replayed.status).toBe(409);

    const done = await waitStage(order.id, 'COMPLETED');
    expect(done.paidAmount).toBe(318100);
    expect(done.payments).toHaveLength(1);
    expect(done.fiscal).toMatchObject({ source: '1c', fnNumber: FISCAL.fnNumber, receiptDateTime: '2026-11-29T02:15:00.000Z' });
    const bitrixPayment = stack.bitrix.state.getOrder(order.id).payments[0];
    expect(bitrixPayment).toMatchObject({ paid: true, psInvoiceId: payment.receiptId });
    expect(bitrixPayment.psStatusMessage).toContain(`ФН ${FISCAL.fnNumber}`);
    expect(stockAt4(102)).toBe(stockBefore - 2);

    // A confirmation sent again (signed anew) is a duplicate and changes nothing.
    const resent = await signedRequest(stack.apiUrl, STORE_KEY, 'POST', '/middleware/v1/fiscal-confirmations', confirmation, { timestamp: ts + 1 });
    expect(resent).toEqual({ status: 200, body: { status: 'duplicate', workflowId: `pos-payment:${order.id}` } });
    // A different receipt for the same order is a conflict, never silently taken or dropped.
    const other = { ...confirmation, fiscal: { ...FISCAL, fiscalDocumentNumber: '99999' } };
    const conflict = await signedRequest(stack.apiUrl, STORE_KEY, 'POST', '/middleware/v1/fiscal-confirmations', other, { timestamp: ts + 2 });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatch(/^fiscal: order \d+ is already confirmed by another receipt/);
    expect((await waitStage(order.id, 'COMPLETED')).fiscal?.fiscalDocumentNumber).toBe(FISCAL.fiscalDocumentNumber);
    const orders = await signedRequest(stack.apiUrl, STORE_KEY, 'GET', '/middleware/v1/orders?storeId=nsk-4');
    expect((orders.body.orders as { orderId: string }[]).some((o) => o.orderId === String(order.id))).toBe(false);

    // The buyer brings one bag back: the middleware reports the PAYBACK naming the sale; reported twice, and
    // the very same signed request replayed.
    const refund = { ...payment, receiptId: `ingenico-${order.id}-r1`, type: 'PAYBACK', baseReceiptId: payment.receiptId, dateTime: new Date().toISOString(), total: 159050, lines: [{ productId: '102', name: 'Кофе в зёрнах 1 кг', quantity: 1, price: 159050 }] };
    const refundTs = Math.floor(Date.now() / 1000) + 2;
    const refunded = await postSignedBatch(stack.apiUrl, STORE_KEY, [refund], { timestamp: refundTs });
    expect(refunded.body.results![0]).toMatchObject({ status: 'accepted', workflowId: `refund:nsk-4:${refund.receiptId}` });
    expect((await postSignedBatch(stack.apiUrl, STORE_KEY, [refund], { timestamp: refundTs })).status).toBe(409);
    expect((await postSignedBatch(stack.apiUrl, STORE_KEY, [refund], { timestamp: refundTs + 1 })).body.results![0].status).toBe('duplicate');
    const reversed = await eventually(async () => {
      const r: RefundStatus = await stack.client.workflow.getHandle(`refund:nsk-4:${refund.receiptId}`).query(refundStatusQuery);
      return r.stage === 'COMPLETED' ? r : undefined;
    }, 'the middleware refund reversed', 60_000);
    expect(reversed).toMatchObject({ saleReceiptId: payment.receiptId, lines: [{ productId: '102', quantity: 1 }] });
    const afterRefund = stack.bitrix.state.getOrder(order.id);
    expect(afterRefund.payments[0]).toMatchObject({ paid: true, payReturnNum: refund.receiptId });
    expect(stockAt4(102)).toBe(stockBefore - 1);
  });

  it('refuses what a key may not say, bad fiscal data and unknown orders, naming the field', async () => {
    // The store is bound to its own key: the central key may not speak for it.
    const foreign = await signedRequest(stack.apiUrl, CENTRAL_KEY, 'GET', '/middleware/v1/orders?storeId=nsk-4');
    expect(foreign).toEqual({ status: 403, body: { error: 'storeId: store "nsk-4" is not served by key "central"' } });
    const foreignReceipt = await postSignedBatch(stack.apiUrl, CENTRAL_KEY, [
      { receiptId: 'x-1', storeId: 'nsk-4', deviceId: 'd', type: 'SELL', dateTime: new Date().toISOString(), orderId: '1', total: 100 },
    ]);
    expect(foreignReceipt.body.results![0]).toMatchObject({ status: 'rejected', reason: 'storeId: store "nsk-4" is not served by key "central"' });
    // An unbound store answers to any key.
    expect((await signedRequest(stack.apiUrl, CENTRAL_KEY, 'GET', '/middleware/v1/orders?storeId=msk-1')).status).toBe(200);
    expect((await signedRequest(stack.apiUrl, CENTRAL_KEY, 'GET', '/middleware/v1/orders?storeId=nowhere')).status).toBe(404);
    expect((await signedRequest(stack.apiUrl, STORE_KEY, 'GET', '/middleware/v1/orders')).body.error).toBe('storeId: required in the query');

    // The GET signature covers the query: a signature made for one store's list does not open another's.
    const ts = Math.floor(Date.now() / 1000);
    const secret = CENTRAL_KEY.slice(CENTRAL_KEY.indexOf(':') + 1);
    const tampered = await request(`${stack.apiUrl}/middleware/v1/orders?storeId=spb-2`, {
      headers: { 'x-pos-key-id': 'central', 'x-pos-timestamp': String(ts), 'x-pos-signature': `v1=${sign(secret, ts, '/middleware/v1/orders?storeId=msk-1')}` },
    });
    expect(tampered.statusCode).toBe(401);
    expect(await tampered.body.json()).toEqual({ error: NO_MATCHING_KEY });

    const bad = await signedRequest(stack.apiUrl, STORE_KEY, 'POST', '/middleware/v1/fiscal-confirmations', {
      orderId: '1',
      fiscal: { ...FISCAL, fnNumber: '12', receiptDateTime: 'yesterday' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/fiscal\.fnNumber: ФН number \(tag 1041\): 16 digits/);
    expect(bad.body.error).toMatch(/fiscal\.receiptDateTime/);
    const unknown = await signedRequest(stack.apiUrl, STORE_KEY, 'POST', '/middleware/v1/fiscal-confirmations', { orderId: '999999', fiscal: FISCAL });
    expect(unknown).toEqual({ status: 404, body: { error: 'orderId: no payment workflow for order 999999' } });
    // An order at a store whose terminal prints the receipt itself takes no confirmation from 1C.
    const elsewhere = stack.bitrix.createOrder({
      basket: [{ productId: 101, name: 'Кофемолка ручная', price: '2490.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: 1, quantity: 1 }] }],
      payments: [{ paySystemId: 10 }],
    });
    await waitStage(elsewhere.id, 'AWAITING_PAYMENT');
    const wrongMode = await signedRequest(stack.apiUrl, CENTRAL_KEY, 'POST', '/middleware/v1/fiscal-confirmations', { orderId: String(elsewhere.id), fiscal: FISCAL });
    expect(wrongMode).toEqual({ status: 409, body: { error: `orderId: order ${elsewhere.id} is fiscalized by "terminal", not by 1C:Retail` } });
    expect((await status(elsewhere.id)).fiscal).toBeUndefined();
  });

  it('the reference client (scripts/middleware-client.ts) lists, pays and confirms an order', async () => {
    const order = orderAtNsk();
    await waitStage(order.id, 'AWAITING_PAYMENT');
    const dir = mkdtempSync(join(tmpdir(), 'mw-client-'));
    const run = async (...args: string[]) => {
      const { stdout } = await execFileAsync(process.execPath, ['--require', 'tsx/cjs', 'scripts/middleware-client.ts', ...args], {
        cwd: resolve(__dirname, '..'),
        env: { ...process.env, MIDDLEWARE_URL: stack.apiUrl, MIDDLEWARE_KEY_ID: 'store-nsk', MIDDLEWARE_SECRET: STORE_KEY.slice(STORE_KEY.indexOf(':') + 1) },
      });
      return stdout;
    };
    await eventually(async () => ((await run('orders', 'nsk-4')).includes(`${order.id}\t`) ? true : undefined), 'the order listed by the client');
    writeFileSync(join(dir, 'receipts.json'), JSON.stringify([{ receiptId: `client-${order.id}`, storeId: 'nsk-4', deviceId: 'verifone-2', type: 'SELL', dateTime: new Date().toISOString(), orderId: String(order.id), total: 318100, paymentType: 'cash' }]));
    expect(await run('receipts', join(dir, 'receipts.json'))).toBe(`client-${order.id}\taccepted\n`);
    await waitStage(order.id, 'FISCALIZING');
    writeFileSync(join(dir, 'confirmation.json'), JSON.stringify({ orderId: String(order.id), fiscal: { ...FISCAL, fiscalDocumentNumber: '4712' } }));
    expect(await run('confirm', join(dir, 'confirmation.json'))).toBe(`accepted\tpos-payment:${order.id}\n`);
    const done = await waitStage(order.id, 'COMPLETED');
    expect(done.fiscal).toMatchObject({ source: '1c', fiscalDocumentNumber: '4712' });
    expect(stack.bitrix.state.getOrder(order.id).payments[0]).toMatchObject({ paid: true, psInvoiceId: `client-${order.id}` });
  }, 90_000);
});
