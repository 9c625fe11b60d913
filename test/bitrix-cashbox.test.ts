import { ensureBitrixCashboxes, CHECK_PATH, PRINT_PATH } from '../cross-system/bitrix-cashbox';
import { BitrixClient } from '../activities/bitrix/client';
import { cashboxNumberOfStore } from '../domain/bitrix-cashbox';
import { bitrixCashboxCheckWorkflowId } from '../domain/workflow-ids';
import { checkUrlKey, storeCashboxToken } from '../lib/bitrix-cashbox-secret';
import { buildPhpQuery } from '../simulators/bitrix/php-query';
import { cashboxCheckStatusQuery } from '../workflows/bitrix-cashbox-check';
import { postForm, postJson } from './support/http';
import { BEANS, GRINDER, STORES, payOrderAtTerminal, refundPosConfig, waitForOrderStage, waitForRefund } from './support/refunds';
import { eventually, startTestStack, type TestStack } from './support/stack';

// Bitrix's REST cashbox end to end: the bridge registers the handler and a cashbox per store, Bitrix makes its
// checks by its cashbox rules and POSTs them to PRINT_URL (form-encoded, at least once), the bridge answers each
// with the fiscal data the sale already has — waiting for it when needed — and the order's "Checks" tab shows it.
const CONFIG = refundPosConfig()
  .replace('    fiscalMode: terminal\n  - id: spb-2', '    fiscalMode: terminal\n    bitrixCashbox: { enabled: true, email: cashbox-msk@example.ru }\n  - id: spb-2')
  .replace('    fiscalMode: terminal\n  - id: ekb-3', '    fiscalMode: terminal\n    bitrixCashbox: { enabled: true, email: cashbox-spb@example.ru }\n  - id: ekb-3');

/** The documented print request (sale.cashbox.handler.add, "PRINT_URL page"), for one of our cashboxes. */
function printRequest(over: Record<string, unknown> & { token: string; store: string }) {
  const { token, store, ...rest } = over;
  return {
    type: 'sell',
    calculated_sign: 'income',
    unique_id: 85,
    items: [{ name: 'Product', base_price: 12000.0, price: 9600.0, sum: 9600.0, quantity: 1, vat: 3, vat_sum: 1600.0, payment_object: 'commodity', payment_method: 'full_payment' }],
    date_create: 1712235417,
    payments: [{ type: 'cash', is_cash: 'Y', sum: 9600, currency: 'RUB' }],
    client_email: 'client@example.com',
    total_sum: 9600.0,
    uuid: 'check|portal.example.ru|85',
    operation: 'income',
    number_kkm: cashboxNumberOfStore(store),
    service_email: 'admin@example.com',
    cashbox_params: { AUTH: { TOKEN: token } },
    ...rest,
  };
}

describe('Bitrix REST cashbox: receipts in the order\'s "Checks" tab', () => {
  let stack: TestStack;
  const token = (store: string) => storeCashboxToken(stack.bitrixCashboxSecret, store);
  const print = (body: Record<string, unknown>) => postForm<{ UUID?: string; error?: string; ERRORS?: string[]; status?: string }>(`${stack.apiUrl}${PRINT_PATH}`, buildPhpQuery(body));
  const checkStage = (uuid: string) => stack.client.workflow.getHandle(bitrixCashboxCheckWorkflowId(uuid)).query(cashboxCheckStatusQuery);

  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: CONFIG });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('registers the handler and one cashbox per enabled store at start, and again without duplicating anything', async () => {
    const { handlers, cashboxes } = stack.bitrix.snapshot().cashboxes;
    expect(handlers).toHaveLength(1);
    expect(handlers[0]!.settings.PRINT_URL).toBe(`${stack.apiUrl}${PRINT_PATH}`);
    expect(handlers[0]!.settings.CHECK_URL).toBe(`${stack.apiUrl}${CHECK_PATH}?key=${checkUrlKey(stack.bitrixCashboxSecret)}`);
    expect(cashboxes.map((c) => [c.numberKkm, c.email, c.active]).sort()).toEqual([
      ['pos-bridge:msk-1', 'cashbox-msk@example.ru', true],
      ['pos-bridge:spb-2', 'cashbox-spb@example.ru', true],
    ]);
    // The cashbox rules, as the administrator sets them (the stack plays that part): each store's cashbox, its warehouse.
    expect(stack.bitrix.snapshot().cashboxes.rules.map((r) => [cashboxes.find((c) => c.id === r.cashboxId)!.numberKkm, r.paySystemIds, r.storeIds]).sort()).toEqual([
      [cashboxNumberOfStore('msk-1'), [10], [STORES.msk.warehouse]],
      [cashboxNumberOfStore('spb-2'), [10], [STORES.spb.warehouse]],
    ]);
    const tokens = cashboxes.map((c) => (c.settings as { AUTH: { TOKEN: string } }).AUTH.TOKEN);
    expect(new Set(tokens).size).toBe(2);

    const bitrix = new BitrixClient({ restUrl: stack.bitrix.url });
    const again = await ensureBitrixCashboxes(bitrix, stack.config, { publicBaseUrl: stack.apiUrl, masterSecret: stack.bitrixCashboxSecret });
    await bitrix.close();
    expect(again).toEqual({ handler: 'updated', cashboxes: { 'msk-1': 'updated', 'spb-2': 'updated' } });
    expect(stack.bitrix.snapshot().cashboxes.handlers).toHaveLength(1);
    expect(stack.bitrix.snapshot().cashboxes.cashboxes).toHaveLength(2);
  });

  it('a check made before the terminal was paid waits for the receipt; sent twice, applied once; the refund gets a sellreturn check', async () => {
    stack.bitrix.cashbox.duplicateNext = 1;
    let waited = 0;
    const { order, sale } = await payOrderAtTerminal(stack, 'msk', [{ product: GRINDER, quantity: 1 }, { product: BEANS, quantity: 2 }], {
      until: 'none',
      // A manager adds the check by hand before the buyer has paid: Bitrix sends it to PRINT_URL at once (twice).
      beforePay: async (o) => {
        stack.bitrix.addCheckByHand({ orderId: o.id, type: 'sell' });
        const check = await eventually(() => stack.bitrix.checksOfOrder(o.id).find((c) => c.status === 'P' && c.printRequests.length >= 2), 'the check sent twice and taken');
        const waiting = await eventually(async () => {
          const s = await checkStage(check.uuid);
          return s.reads >= 2 ? s : undefined;
        }, 'the check re-reading the sale');
        expect(waiting.stage).toBe('FISCALIZING');
        waited = waiting.reads;
      },
    });
    expect(waited).toBeGreaterThanOrEqual(2);
    const done = await waitForOrderStage(stack, order.id, 'COMPLETED').catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(await stack.client.workflow.getHandle(`pos-payment:${order.id}`).query('status'))}`);
    });
    const sell = await eventually(
      async () => {
        const check = stack.bitrix.checksOfOrder(order.id).find((c) => c.type === 'sell');
        if (check?.status === 'Y') return check;
        throw new Error(JSON.stringify({ check, workflow: check && (await checkStage(check.uuid)) }));
      },
      'the sell check applied',
      60_000,
    );
    expect(sell.applyCount).toBe(1);
    expect(sell.externalUuid).toBe(sell.uuid);
    expect(sell.linkParams).toEqual({
      PRINT_END_TIME: String(Math.floor(Date.parse(done.fiscal!.receiptDateTime) / 1000)),
      REG_NUMBER_KKT: done.fiscal!.registrationNumber ?? '',
      FISCAL_DOC_ATTR: done.fiscal!.fiscalSign,
      FISCAL_DOC_NUMBER: done.fiscal!.fiscalDocumentNumber,
      FISCAL_RECEIPT_NUMBER: done.fiscal!.receiptNumber ?? '',
      FN_NUMBER: done.fiscal!.fnNumber,
      SHIFT_NUMBER: done.fiscal!.shiftNumber ?? '',
    });
    expect((await checkStage(sell.uuid)).stage).toBe('COMPLETED');
    // Nothing printed a second receipt anywhere: the terminal's is the only one, no register was asked; the
    // payment marked paid by the bridge got no second check (it has one).
    expect(stack.atol?.state.receipts.sell ?? []).toHaveLength(0);
    expect(stack.bitrix.checksOfOrder(order.id)).toHaveLength(1);
    expect(stack.bitrix.state.getOrder(order.id).payments[0]).toMatchObject({ paid: true, psInvoiceId: sale.id });

    // Bitrix sends the same check again later: a duplicate, nothing applied twice.
    const again = await print({ ...printRequest({ token: token('msk-1'), store: 'msk-1' }), uuid: sell.uuid, total_sum: 5671 });
    expect(again).toMatchObject({ status: 200, body: { UUID: sell.uuid, status: 'duplicate' } });

    // CHECK_URL: Bitrix asks for the check's status by its uuid.
    const status = await postForm<Record<string, unknown>>(`${stack.apiUrl}${CHECK_PATH}?key=${checkUrlKey(stack.bitrixCashboxSecret)}`, buildPhpQuery({ uuid: sell.uuid }));
    expect(status).toMatchObject({ status: 200, body: { STATUS: 'DONE', UUID: sell.uuid, FN_NUMBER: done.fiscal!.fnNumber } });
    const wrongKey = await postForm(`${stack.apiUrl}${CHECK_PATH}?key=nope`, buildPhpQuery({ uuid: sell.uuid }));
    expect(wrongKey.status).toBe(401);

    // The whole sale refunded at the terminal: Bitrix returns the payment and makes a sellreturn check.
    const refund = stack.evotor.payback(STORES.msk.device, { baseDocumentId: sale.id });
    await stack.evotor.flush();
    const refunded = await waitForRefund(stack, 'msk', refund, 'COMPLETED');
    const back = await eventually(() => stack.bitrix.checksOfOrder(order.id).find((c) => c.type === 'sellreturn' && c.status === 'Y'), 'the sellreturn check applied');
    expect(back.applyCount).toBe(1);
    expect(back.sum).toBe(567100);
    expect(back.linkParams).toMatchObject({ FN_NUMBER: refunded.fiscal!.fnNumber, FISCAL_DOC_NUMBER: refunded.fiscal!.fiscalDocumentNumber, FISCAL_DOC_ATTR: refunded.fiscal!.fiscalSign });
    expect(refunded.fiscal!.fiscalDocumentNumber).not.toBe(done.fiscal!.fiscalDocumentNumber);
  }, 180_000);

  it('a check made when the bridge marks the payment paid: applied with the receipt even when Bitrix loses the answer to apply', async () => {
    stack.bitrix.setFaults({ method: 'sale.cashbox.check.apply', applyThenLoseNext: 1 });
    const { order } = await payOrderAtTerminal(stack, 'spb', [{ product: BEANS, quantity: 1 }]);
    const paid = await waitForOrderStage(stack, order.id, 'COMPLETED');
    const check = await eventually(() => stack.bitrix.checksOfOrder(order.id).find((c) => c.status === 'Y'), 'the check applied');
    await eventually(async () => ((await checkStage(check.uuid)).stage === 'COMPLETED' ? true : undefined), 'the check workflow done');
    // The lost answer made the activity apply again: the same values, one check, no second receipt.
    expect(check.applyCount).toBe(2);
    expect(check.linkParams).toMatchObject({ FN_NUMBER: paid.fiscal!.fnNumber, FISCAL_DOC_NUMBER: paid.fiscal!.fiscalDocumentNumber });
    expect(stack.bitrix.checksOfOrder(order.id)).toHaveLength(1);
    stack.bitrix.setFaults({});
  });

  it('never guesses: a check two awaiting orders of the same store and total could be is refused, and Bitrix shows why', async () => {
    const orders = [0, 1].map(() =>
      stack.bitrix.createOrder({ statusId: 'N', basket: [{ ...GRINDER, quantity: 1, reservations: [{ storeId: STORES.spb.warehouse, quantity: 1 }] }], payments: [{ paySystemId: 10 }] }),
    );
    for (const o of orders) await waitForOrderStage(stack, o.id, 'AWAITING_PAYMENT');
    const check = stack.bitrix.addCheckByHand({ orderId: orders[0]!.id, type: 'sell' });
    const refused = await eventually(() => (check.status === 'E' ? check : undefined), 'the check refused');
    expect(refused.errors[0]).toMatch(/2 sales of 2490\.00 RUB at store spb-2 could be this check; none is guessed/);
    expect(refused.printRequests.map((r) => r.status)).toEqual([409]);
    await expect(stack.client.workflow.getHandle(bitrixCashboxCheckWorkflowId(check.uuid)).describe()).rejects.toThrow();
  });

  it('two paid sales of one total, neither with a check: the one Bitrix saw paid when it made the check (date_create) gets it', async () => {
    // The first sale is paid while the store's cashbox rule is off (as before the cashbox was switched on): no check.
    const rules = stack.bitrix.cashbox.rules.splice(0);
    const first = await payOrderAtTerminal(stack, 'spb', [{ product: GRINDER, quantity: 3 }]);
    expect(stack.bitrix.checksOfOrder(first.order.id)).toHaveLength(0);
    stack.bitrix.cashbox.rules.push(...rules);
    // Apart by more than the slack the match allows around a confirmation (date_create has whole seconds).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // The second, same total, is paid with the rule on: Bitrix makes its check as our workflow marks it paid.
    const second = await payOrderAtTerminal(stack, 'spb', [{ product: GRINDER, quantity: 3 }]);
    const paid = await waitForOrderStage(stack, second.order.id, 'COMPLETED');
    const check = await eventually(() => stack.bitrix.checksOfOrder(second.order.id).find((c) => c.status === 'Y' || c.status === 'E'), 'the check answered');
    expect(check.errors).toEqual([]);
    expect(check).toMatchObject({ status: 'Y', linkParams: { FISCAL_DOC_NUMBER: paid.fiscal!.fiscalDocumentNumber } });
    // The first sale's check, added by hand later, is the first sale's: the second is taken.
    const byHand = stack.bitrix.addCheckByHand({ orderId: first.order.id, type: 'sell' });
    const firstPaid = await waitForOrderStage(stack, first.order.id, 'COMPLETED');
    await eventually(() => (byHand.status === 'Y' ? true : undefined), 'the first sale\'s check applied');
    expect(byHand.linkParams).toMatchObject({ FISCAL_DOC_NUMBER: firstPaid.fiscal!.fiscalDocumentNumber });
    // Each check carries its own sale's receipt.
    expect(firstPaid.fiscal!.fiscalDocumentNumber).not.toBe(paid.fiscal!.fiscalDocumentNumber);
  }, 120_000);

  it('a check whose sale is closed by hand without a receipt stops for a person: nothing applied, CHECK_URL says why', async () => {
    const order = stack.bitrix.createOrder({ statusId: 'N', basket: [{ ...BEANS, quantity: 3, reservations: [{ storeId: STORES.msk.warehouse, quantity: 3 }] }], payments: [{ paySystemId: 10 }] });
    await waitForOrderStage(stack, order.id, 'AWAITING_PAYMENT');
    const check = stack.bitrix.addCheckByHand({ orderId: order.id, type: 'sell' });
    await eventually(async () => ((await checkStage(check.uuid).catch(() => undefined))?.stage === 'FISCALIZING' ? true : undefined), 'the check waiting');
    const resolved = await postJson(`${stack.apiUrl}/api/orders/${order.id}/resolve`, { note: 'paid in cash, receipt by hand' }, { authorization: `Bearer ${stack.adminApiKey}` });
    expect(resolved.status).toBe(200);
    const stopped = await eventually(async () => {
      const s = await checkStage(check.uuid);
      return s.stage === 'NEEDS_ATTENTION' ? s : undefined;
    }, 'the check stopped for a person');
    expect(stopped.problem?.message).toMatch(new RegExp(`pos-payment:${order.id} ended \\(COMPLETED\\) without fiscal data`));
    expect(check).toMatchObject({ status: 'P', applyCount: 0, linkParams: null });
    const status = await postForm<Record<string, unknown>>(`${stack.apiUrl}${CHECK_PATH}?key=${checkUrlKey(stack.bitrixCashboxSecret)}`, buildPhpQuery({ uuid: check.uuid }));
    expect(status.body).toMatchObject({ STATUS: 'ERROR', ERROR: expect.stringContaining('without fiscal data') });
  });

  it('refuses a check for a payment it does not know, naming the reason, and starts nothing', async () => {
    const uuid = 'check|portal.example.ru|9001';
    const res = await print(printRequest({ token: token('msk-1'), store: 'msk-1', uuid, total_sum: '12345.67' }));
    expect(res.status).toBe(422);
    expect(res.body.ERRORS?.[0]).toMatch(/no sale of 12345\.67 RUB at store msk-1/);
    await expect(stack.client.workflow.getHandle(bitrixCashboxCheckWorkflowId(uuid)).describe()).rejects.toThrow();
  });

  it('takes the documented print request as JSON too, and refuses wrong secrets, other stores\' secrets and stores without a cashbox', async () => {
    const json = await postJson(`${stack.apiUrl}${PRINT_PATH}`, printRequest({ token: token('msk-1'), store: 'msk-1', uuid: 'check|portal.example.ru|9002' }));
    expect(json.status).toBe(422);
    const wrong = await print(printRequest({ token: 'not-the-token', store: 'msk-1' }));
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatch(/cashbox_params\[AUTH\]\[TOKEN\]/);
    const otherStore = await print(printRequest({ token: token('spb-2'), store: 'msk-1' }));
    expect(otherStore.status).toBe(401);
    const noCashbox = await print(printRequest({ token: token('ekb-3'), store: 'ekb-3' }));
    expect(noCashbox.status).toBe(403);
    expect(noCashbox.body.error).toMatch(/store ekb-3 has no Bitrix cashbox/);
    const badUuid = await print(printRequest({ token: token('msk-1'), store: 'msk-1', uuid: 'check|x|0' }));
    expect(badUuid).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^uuid: /) } });
    const badType = await print(printRequest({ token: token('msk-1'), store: 'msk-1', type: 'advancepayment' }));
    expect(badType).toMatchObject({ status: 422, body: { error: expect.stringMatching(/^type: /) } });
  });
});
