import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { BitrixClient } from '../activities/bitrix/client';
import type { ExternalServiceError } from '../activities/shared/errors';
import { checkApplyFields } from '../domain/bitrix-cashbox';
import { parsePhpQuery } from '../simulators/bitrix/php-query';
import { startBitrixSimulator, type BitrixSimulator } from '../simulators/bitrix';
import { caught } from './support/errors';
import { ScriptedServer } from './support/scripted-server';

/**
 * The REST cashbox on both sides, pinned to Bitrix's documentation (docs/external-apis.md §1a): our client reads the
 * documented answers (and the smallest ones), sends the documented parameters; the simulator answers like Bitrix and
 * sends print requests with the documented fields, form-encoded, repeated when unanswered, not when refused.
 */

const ok = (result: unknown) => ({ status: 200, json: { result, time: { start: 1712132792.91 } } });
const silent = pino({ level: 'silent' });

describe('our client against the documented answers', () => {
  let fake: ScriptedServer;
  let client: BitrixClient;
  beforeEach(async () => {
    fake = new ScriptedServer('/rest/1/secret', (method, r) => r.path === `/${method}.json`);
    await fake.start();
    client = new BitrixClient({ restUrl: fake.url, maxAttempts: 1, logger: silent });
  });
  afterEach(async () => {
    await client.close();
    await fake.stop();
  });

  it('sale.cashbox.handler.list and sale.cashbox.list: the documented rows, and the smallest ones', async () => {
    fake.on('sale.cashbox.handler.list', ok([
      { ID: '1', NAME: 'My REST Cash Register', CODE: 'my_rest_cashbox', SORT: '200', SETTINGS: { PRINT_URL: 'http://example.com/receipt_print.php', CHECK_URL: 'http://example.com/receipt_check.php', CONFIG: {}, SUPPORTS_FFD105: 'N' } },
      { ID: 2, CODE: 'pos_bridge_cashbox' },
    ]));
    await expect(client.listCashboxHandlers()).resolves.toEqual([
      { id: '1', code: 'my_rest_cashbox', printUrl: 'http://example.com/receipt_print.php', checkUrl: 'http://example.com/receipt_check.php' },
      { id: '2', code: 'pos_bridge_cashbox', printUrl: undefined, checkUrl: undefined },
    ]);
    fake.on('sale.cashbox.list', ok([
      { ID: '1', NAME: 'REST Cash Register', OFD: 'bx_firstofd', EMAIL: 'admin@example.com', DATE_CREATE: {}, DATE_LAST_CHECK: null, NUMBER_KKM: '', KKM_ID: null, ACTIVE: 'Y', SORT: '100', USE_OFFLINE: 'N', ENABLED: 'Y' },
      { ID: 7, NUMBER_KKM: 'pos-bridge:msk-1' },
    ]));
    await expect(client.listCashboxes()).resolves.toEqual([
      { id: '1', name: 'REST Cash Register', numberKkm: '', active: 'Y' },
      { id: '7', name: undefined, numberKkm: 'pos-bridge:msk-1', active: undefined },
    ]);
    // What every registration reads is validated: a row without NUMBER_KKM fails, naming it, for good.
    fake.on('sale.cashbox.list', ok([{ ID: '1' }]));
    const e = (await caught(client.listCashboxes())) as ExternalServiceError;
    expect(e).toMatchObject({ code: 'INVALID_RESPONSE', retryable: false });
    expect(e.message).toContain('sale.cashbox.list: unexpected result shape: 0.NUMBER_KKM');
  });

  it('sends the documented parameters: handler.add/update, cashbox.add/update, check.apply', async () => {
    fake.on('sale.cashbox.handler.add', ok(5)).on('sale.cashbox.handler.update', ok(true)).on('sale.cashbox.add', ok(9)).on('sale.cashbox.update', ok(true)).on('sale.cashbox.check.apply', ok(true));
    const settings = { PRINT_URL: 'https://bridge/print', CHECK_URL: 'https://bridge/check?key=k', CONFIG: { AUTH: { LABEL: 'A', ITEMS: { TOKEN: { TYPE: 'STRING', REQUIRED: 'Y', LABEL: 'T' } } } } };
    await expect(client.addCashboxHandler({ code: 'pos_bridge_cashbox', name: 'POS', settings })).resolves.toBe('5');
    await client.updateCashboxHandler('5', { name: 'POS', settings });
    await expect(client.addCashbox({ name: 'POS: msk', handlerCode: 'pos_bridge_cashbox', email: 'k@example.ru', numberKkm: 'pos-bridge:msk-1', settings: { AUTH: { TOKEN: 't' } } })).resolves.toBe('9');
    await client.updateCashbox('9', { settings: { AUTH: { TOKEN: 't2' } } });
    await client.applyCashboxCheck(checkApplyFields('check|example.com|1', { source: 'terminal', fnNumber: '9999078900012345', fiscalDocumentNumber: '12345', fiscalSign: '1234567890', receiptDateTime: '2021-01-01T00:00:00.000Z', receiptNumber: '123', shiftNumber: '1', registrationNumber: '1234567891011121' }));
    expect(fake.calls('sale.cashbox.handler.add')[0]!.body).toEqual({ CODE: 'pos_bridge_cashbox', NAME: 'POS', SORT: 100, SUPPORTS_FFD105: 'Y', SETTINGS: settings });
    expect(fake.calls('sale.cashbox.handler.update')[0]!.body).toEqual({ ID: 5, FIELDS: { NAME: 'POS', SETTINGS: settings } });
    expect(fake.calls('sale.cashbox.add')[0]!.body).toEqual({ NAME: 'POS: msk', REST_CODE: 'pos_bridge_cashbox', EMAIL: 'k@example.ru', NUMBER_KKM: 'pos-bridge:msk-1', ACTIVE: 'Y', USE_OFFLINE: 'N', SETTINGS: { AUTH: { TOKEN: 't' } } });
    expect(fake.calls('sale.cashbox.update')[0]!.body).toEqual({ ID: 9, FIELDS: { SETTINGS: { AUTH: { TOKEN: 't2' } } } });
    // The documentation's own example of sale.cashbox.check.apply, field for field.
    expect(fake.calls('sale.cashbox.check.apply')[0]!.body).toEqual({
      UUID: 'check|example.com|1',
      PRINT_END_TIME: '1609459200',
      REG_NUMBER_KKT: '1234567891011121',
      FISCAL_DOC_ATTR: '1234567890',
      FISCAL_DOC_NUMBER: '12345',
      FISCAL_RECEIPT_NUMBER: '123',
      FN_NUMBER: '9999078900012345',
      SHIFT_NUMBER: '1',
    });
    fake.on('sale.cashbox.check.apply', { status: 400, json: { error: 'ERROR_CHECK_NOT_FOUND', error_description: 'Check not found' } });
    const e = (await caught(client.applyCashboxCheck({ UUID: 'check|x|2' }))) as ExternalServiceError;
    expect(e).toMatchObject({ code: 'ERROR_CHECK_NOT_FOUND', retryable: false });
  });
});

describe('the simulator speaks like Bitrix', () => {
  let sim: BitrixSimulator;
  let client: BitrixClient;
  let printServer: Server;
  let printUrl: string;
  const printed: { contentType: string; body: Record<string, unknown> }[] = [];
  let replies: { status: number; json: unknown }[] = [];

  beforeAll(async () => {
    sim = await startBitrixSimulator({ rateLimit: null, logger: silent });
    client = new BitrixClient({ restUrl: sim.url, maxAttempts: 1, logger: silent });
    printServer = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        printed.push({ contentType: String(req.headers['content-type']), body: parsePhpQuery(raw) as Record<string, unknown> });
        const reply = replies.length > 1 ? replies.shift()! : replies[0]!;
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply.json));
      });
    });
    await new Promise<void>((r) => printServer.listen(0, '127.0.0.1', r));
    printUrl = `http://127.0.0.1:${(printServer.address() as AddressInfo).port}/print`;
    sim.addPaySystem({ id: 10, name: 'Оплата в пункте выдачи' });
  });
  afterAll(async () => {
    await client.close();
    await sim.close();
    printServer.closeAllConnections();
    await new Promise<void>((r) => printServer.close(() => r()));
  });

  it('registers handlers and cashboxes as documented: a second handler with the same code is refused, lists read back', async () => {
    const settings = { PRINT_URL: printUrl, CHECK_URL: `${printUrl}/check`, CONFIG: { AUTH: { LABEL: 'A', ITEMS: { TOKEN: { TYPE: 'STRING', LABEL: 'T' } } } } };
    await client.addCashboxHandler({ code: 'pos_bridge_cashbox', name: 'POS', settings });
    const again = (await caught(client.addCashboxHandler({ code: 'pos_bridge_cashbox', name: 'POS', settings }))) as ExternalServiceError;
    expect(again.code).toBe('ERROR_HANDLER_ALREADY_EXIST');
    const cashboxId = await client.addCashbox({ name: 'POS: msk', handlerCode: 'pos_bridge_cashbox', email: 'k@example.ru', numberKkm: 'pos-bridge:msk-1', settings: { AUTH: { TOKEN: 'tok' } } });
    const noHandler = (await caught(client.addCashbox({ name: 'x', handlerCode: 'nope', email: 'k@example.ru', numberKkm: 'x', settings: {} }))) as ExternalServiceError;
    expect(noHandler.code).toBe('ERROR_CASHBOX_ADD');
    expect(await client.listCashboxHandlers()).toEqual([{ id: '1', code: 'pos_bridge_cashbox', printUrl, checkUrl: `${printUrl}/check` }]);
    expect(await client.listCashboxes()).toEqual([{ id: cashboxId, name: 'POS: msk', numberKkm: 'pos-bridge:msk-1', active: 'Y' }]);
    sim.addCashboxRule({ cashboxId: Number(cashboxId), paySystemIds: [10], storeIds: [1] });
  });

  it('sends a paid payment\'s check to PRINT_URL form-encoded with the documented fields, again after a 5xx, not after a refusal', async () => {
    replies = [{ status: 503, json: {} }, { status: 200, json: { uuid: 'ours-1' } }];
    const order = sim.createOrder({ basket: [{ productId: 1, name: 'Кофемолка', price: '2490.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: 1, quantity: 1 }] }], payments: [{ paySystemId: 10 }] });
    sim.state.updatePayment(order.payments[0]!.id, { paySystemId: 10, paid: 'Y' });
    await sim.flushEvents();
    const [check] = sim.checksOfOrder(order.id);
    expect(check).toMatchObject({ type: 'sell', status: 'P', externalUuid: 'ours-1', sum: 249000 });
    expect(check!.printRequests.map((r) => r.status)).toEqual([503, 200]);
    expect(check!.uuid).toMatch(/^check\|127\.0\.0\.1:\d+\|\d+$/);
    const { contentType, body } = printed.at(-1)!;
    expect(contentType).toBe('application/x-www-form-urlencoded');
    expect(body).toMatchObject({
      type: 'sell',
      operation: 'income',
      unique_id: String(check!.id),
      uuid: check!.uuid,
      total_sum: '2490',
      number_kkm: 'pos-bridge:msk-1',
      service_email: 'k@example.ru',
      cashbox_params: { AUTH: { TOKEN: 'tok' } },
      payments: [{ type: 'cashless', is_cash: 'N', sum: '2490' }],
      items: [{ name: 'Кофемолка', price: '2490', sum: '2490', quantity: '1', payment_object: 'commodity', payment_method: 'full_payment' }],
    });
    expect(Number(body.date_create)).toBeGreaterThan(1_700_000_000);
    // Applied by the UUID our answer gave; a UUID Bitrix never saw is refused as documented.
    const applyUnknown = (await caught(client.applyCashboxCheck({ UUID: check!.uuid }))) as ExternalServiceError;
    expect(applyUnknown.code).toBe('ERROR_CHECK_NOT_FOUND');
    await client.applyCashboxCheck({ UUID: 'ours-1', FN_NUMBER: '9999078900012345', FISCAL_DOC_NUMBER: '7' });
    expect(sim.checksOfOrder(order.id)[0]).toMatchObject({ status: 'Y', applyCount: 1, linkParams: { FN_NUMBER: '9999078900012345', FISCAL_DOC_NUMBER: '7' } });

    // The return: a sellreturn check; refused with a reason, it is marked failed with it and not sent again.
    replies = [{ status: 422, json: { error: 'no sale', ERRORS: ['no sale of 2490.00 RUB'] } }];
    const sent = printed.length;
    sim.state.updatePayment(order.payments[0]!.id, { paySystemId: 10, paid: 'N', isReturn: 'P' });
    await sim.flushEvents();
    const back = sim.checksOfOrder(order.id).find((c) => c.type === 'sellreturn')!;
    expect(back).toMatchObject({ status: 'E', errors: ['no sale of 2490.00 RUB'] });
    expect(printed.length - sent).toBe(1);
    expect(printed.at(-1)!.body).toMatchObject({ type: 'sellreturn', operation: 'consumption' });
  });
});

describe('the cashbox doors where BITRIX_CASHBOX_SECRET is not set', () => {
  it('answer 404 with the reason (not 5xx), and touch nothing', async () => {
    const express = (await import('express')).default;
    const { bitrixCashboxRouter } = await import('../api/routes/bitrix-cashbox');
    const { parsePosConfig } = await import('../lib/config');
    const { TEST_POS_CONFIG } = await import('./support/stack');
    const app = express();
    // No Temporal client is reached on this path: a client that throws if used proves it.
    const client = new Proxy({}, { get: () => { throw new Error('Temporal touched'); } }) as never;
    app.use(bitrixCashboxRouter({ client, config: parsePosConfig(TEST_POS_CONFIG, 'yaml'), logger: silent }));
    const server = await new Promise<Server>((resolve) => { const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s)); });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (const path of ['/webhooks/bitrix/cashbox/print', '/webhooks/bitrix/cashbox/check?key=x']) {
        const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'uuid=check%7Cshop%7C1&number_kkm=pos-bridge%3Amsk-1' });
        expect(res.status).toBe(404);
        expect(((await res.json()) as { error: string }).error).toMatch(/BITRIX_CASHBOX_SECRET is not configured/);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
