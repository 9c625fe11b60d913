import type { ReconciliationReport, ReportItem } from '../domain/reconciliation';
import type { PosPaymentStatus } from '../domain/payment';
import { getJson, postJson, startRecordingRelay } from './support/http';
import { EKB_DEVICE, eventually, MSK_DEVICE, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';

// 54-FZ correction receipts, end to end: a sale paid at the terminal whose webhook never came (and whose Bitrix
// event was lost too; a manager marked the payment paid by hand) has no receipt at the time. Reconciliation finds
// it and the order's workflow issues exactly one correction receipt at the store's cloud register — ATOL
// `sell_correction` or Ferma `IncomeCorrection`, never a sale receipt — even when the register's answer is lost;
// a second run issues nothing. At a store whose terminal fiscalizes, the report says the correction must be
// made at the terminal, and nothing is issued anywhere.
const FERMA_DEVICE = '20240101-0000-4000-8000-0000000000d4';
const CONFIG = `${TEST_POS_CONFIG}  - id: kzn-4
    name: Pickup Kazan 4
    bitrixStoreId: "4"
    evotorStoreId: "20240101-0000-4000-8000-000000000004"
    evotorDeviceIds: ["${FERMA_DEVICE}"]
    fiscalMode: ferma
    company: { inn: "7701234567", email: shop@example.ru, sno: osn, paymentAddress: "https://shop.example.ru" }
reconciliation:
  frequent: { every: 24h, window: 2h }
  nightly: { at: "02:00", timeZone: Europe/Moscow }
  settle: 1s
`;

const GRINDER = { productId: '101', name: 'Кофемолка ручная', price: '2490.00', quantity: 1, vatRate: 0.22 };

describe('reconciliation issues a correction receipt for a sale found without its receipt', () => {
  let stack: TestStack;
  /** Records the webhooks Evotor sends while they are lost (they reach a path of ours that does not exist). */
  let relay: Awaited<ReturnType<typeof startRecordingRelay>>;
  const auth = () => ({ authorization: `Bearer ${stack.adminApiKey}` });

  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: CONFIG });
    relay = await startRecordingRelay(stack.apiUrl);
    for (const id of ['reconciliation-frequent', 'reconciliation-nightly']) await stack.client.schedule.getHandle(id).pause('test');
  }, 120_000);
  afterAll(async () => {
    await relay?.close();
    await stack?.stop();
  });

  const order = (bitrixStoreId: number) =>
    stack.bitrix.createOrder({
      statusId: 'N',
      basket: [{ ...GRINDER, productId: Number(GRINDER.productId), reservations: [{ storeId: bitrixStoreId, quantity: 1 }] }],
      payments: [{ paySystemId: 10 }],
      propertyValues: [{ code: 'EMAIL', value: 'buyer@example.ru' }],
    });
  const paymentStatus = async (orderId: number): Promise<PosPaymentStatus | undefined> => {
    try {
      return (await getJson<{ status: PosPaymentStatus }>(`${stack.apiUrl}/api/orders/${orderId}`, auth())).body.status;
    } catch {
      return undefined;
    }
  };
  const completed = (orderId: number) =>
    eventually(async () => {
      const s = await paymentStatus(orderId);
      return s?.stage === 'COMPLETED' ? s : undefined;
    }, `order ${orderId} completed`, 60_000);
  /**
   * The cashier is paid for the order at the terminal, but neither the receipt webhook nor the order's Bitrix
   * event ever reaches us; a manager marks the payment paid in Bitrix by hand.
   */
  const paidUnseen = async (bitrixStoreId: number, device: string) => {
    stack.evotor.configureWebhook({ url: `${relay.url}/lost`, maxAttempts: 1 });
    expect(stack.bitrix.state.removeEventHandler('ONSALEORDERSAVED')).toBe(1);
    const o = order(bitrixStoreId);
    const receipt = stack.evotor.sell(device, { items: [GRINDER], paymentSource: 'PAY_CARD', extras: { bitrixOrderId: String(o.id), accountNumber: o.accountNumber } });
    const payment = stack.bitrix.state.getOrder(o.id).payments[0];
    stack.bitrix.state.updatePayment(payment.id, { paySystemId: 10, paid: 'Y', datePaid: new Date().toISOString() });
    await stack.bitrix.flushEvents();
    await stack.evotor.flush();
    stack.bitrix.addEventHandler({ event: 'ONSALEORDERSAVED', handler: `${stack.apiUrl}/webhooks/bitrix` });
    stack.evotor.configureWebhook({ url: `${stack.apiUrl}/webhooks/evotor/receipts`, maxAttempts: 5 });
    expect(await paymentStatus(o.id)).toBeUndefined();
    return { order: o, receipt };
  };
  const run = async (): Promise<ReconciliationReport> => {
    // Whatever is younger than `settle` (1 s) is left to its webhook.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const res = await postJson<ReconciliationReport>(`${stack.apiUrl}/api/reconciliation/runs?wait=1`, { windowMinutes: 120 }, auth());
    expect(res.status).toBe(200);
    expect(res.body.problems).toEqual([]);
    return res.body;
  };
  const find = (report: ReconciliationReport, cls: ReportItem['class'], key: string) => report.items.find((i) => i.class === cls && i.key === key);
  const atolOf = (orderId: number) => {
    const { sell, sell_correction: corrections } = stack.atol!.state.receipts;
    return { sells: sell.filter((r) => r.external_id.startsWith(`pos-${orderId}-`)), corrections: corrections.filter((r) => r.external_id.startsWith(`pos-${orderId}-`)) };
  };
  const today = (timeZone: string) => {
    const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date()).map((x) => [x.type, x.value]));
    return `${p.day}.${p.month}.${p.year}`;
  };

  it('ATOL store: one sell_correction (no sell) with the basis "self", shown in the order and the report; a second run issues nothing', async () => {
    const { order: c, receipt } = await paidUnseen(3, EKB_DEVICE);
    const first = await run();
    const item = find(first, 'payment-without-fiscal-receipt', receipt.id);
    expect(item).toMatchObject({ action: 'healed', orderId: String(c.id), storeId: 'ekb-3', workflowId: `pos-payment:${c.id}`, correction: 'issued' });
    expect(item?.done).toContain(`sell_correction pos-${c.id}-correction`);
    expect(item?.done).toContain(`act POS-${c.id}`);

    const done = await completed(c.id);
    const { sells, corrections } = atolOf(c.id);
    expect(sells).toEqual([]);
    expect(corrections.map((r) => [r.external_id, r.status])).toEqual([[`pos-${c.id}-correction`, 'done']]);
    const body = corrections[0].body as { correction: { correction_info: unknown; total: number; items: { vat: { type: string } }[] } };
    expect(body.correction.correction_info).toEqual({ type: 'self', base_date: today('Asia/Yekaterinburg'), base_number: `POS-${c.id}` });
    expect(body.correction.total).toBe(2490);
    expect(body.correction.items.map((i) => i.vat.type)).toEqual(['vat22']);
    // The order's details: the fiscal receipt is the correction, with its fiscal attributes and basis.
    expect(done).toMatchObject({
      alreadyPaidInBitrix: true,
      payments: [{ receiptId: receipt.id }],
      fiscal: { source: 'atol', fnNumber: expect.any(String), fiscalSign: expect.any(String), correction: { type: 'self', actNumber: `POS-${c.id}`, actDate: today('Asia/Yekaterinburg') } },
    });
    const metadata = await stack.client.workflow.getHandle(`pos-payment:${c.id}`).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain(`Fiscal receipt: correction receipt (self-initiated, act POS-${c.id} of ${today('Asia/Yekaterinburg')})`);
    expect(metadata.currentDetails).toContain('A payment was found by reconciliation');
    // Bitrix already showed the payment paid (a manager did it): it is recorded, never written twice.
    expect(stack.bitrix.state.getOrder(c.id).payments[0].psStatusMessage ?? null).toBeNull();

    const second = await run();
    expect(second.items.filter((i) => i.action === 'healed')).toEqual([]);
    expect(atolOf(c.id).corrections).toHaveLength(1);

    // The lost webhook turns up after all: the same receipt, answered as a duplicate; still one receipt in ATOL.
    const lost = relay.requests.find((r) => r.path === '/lost' && r.body.includes(receipt.id))!;
    expect(lost.status).toBe(404);
    const late = await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, JSON.parse(lost.body), { authorization: String(lost.headers.authorization) });
    expect(late).toEqual({ status: 200, body: { status: 'duplicate', workflowId: `pos-payment:${c.id}` } });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(atolOf(c.id)).toMatchObject({ sells: [], corrections: [{ external_id: `pos-${c.id}-correction` }] });

    // The accountant's CSV says how the correction was made.
    const csv = await fetch(`${stack.apiUrl}/api/reconciliation/reports/${first.startedAt.slice(0, 10)}?format=csv`, { headers: auth() });
    const row = (await csv.text()).split('\r\n').find((l) => l.startsWith('payment-without-fiscal-receipt,healed') && l.includes(receipt.id));
    expect(row?.endsWith(',issued')).toBe(true);
  }, 180_000);

  it('ATOL store, the answer to sell_correction lost: still exactly one correction receipt', async () => {
    const { order: d, receipt } = await paidUnseen(3, EKB_DEVICE);
    const lostBefore = stack.atol!.state.counters.lostAnswers;
    stack.atol!.setFaults({ applyThenLoseNext: 1, operation: 'sell_correction' });
    const report = await run();
    expect(find(report, 'payment-without-fiscal-receipt', receipt.id)).toMatchObject({ action: 'healed', correction: 'issued' });
    const done = await completed(d.id);
    stack.atol!.setFaults({ applyThenLoseNext: 0, operation: null });
    expect(stack.atol!.state.counters.lostAnswers).toBe(lostBefore + 1);
    const { sells, corrections } = atolOf(d.id);
    expect(sells).toEqual([]);
    expect(corrections.map((r) => r.external_id)).toEqual([`pos-${d.id}-correction`]);
    expect(done.fiscal).toMatchObject({ source: 'atol', correction: { actNumber: `POS-${d.id}` } });
  }, 180_000);

  it('ATOL store, a sale without our order id that pays an awaiting order: the order gets the correction receipt', async () => {
    const m = order(3);
    await eventually(async () => ((await paymentStatus(m.id))?.stage === 'AWAITING_PAYMENT' ? true : undefined), `order ${m.id} awaiting payment`);
    // The cashier rings the amount by hand (no order id in the receipt); its webhook is lost.
    stack.evotor.configureWebhook({ url: `${relay.url}/lost`, maxAttempts: 1 });
    const receipt = stack.evotor.sell(EKB_DEVICE, { items: [GRINDER], paymentSource: 'PAY_CARD' });
    await stack.evotor.flush();
    stack.evotor.configureWebhook({ url: `${stack.apiUrl}/webhooks/evotor/receipts`, maxAttempts: 5 });
    const report = await run();
    expect(find(report, 'walk-in-not-recorded', receipt.id)?.done).toMatch(/which then gets a correction receipt/);
    const done = await completed(m.id);
    expect(done).toMatchObject({ payments: [{ receiptId: receipt.id }], fiscal: { source: 'atol', correction: { actNumber: `POS-${m.id}` } } });
    expect(atolOf(m.id)).toMatchObject({ sells: [], corrections: [{ external_id: `pos-${m.id}-correction` }] });
  }, 180_000);

  it('Ferma store: one IncomeCorrection (no Income), also when its answer is lost', async () => {
    const ferma = stack.ferma!;
    const { order: f, receipt } = await paidUnseen(4, FERMA_DEVICE);
    const lostBefore = ferma.state.counters.lostAnswers;
    ferma.setFaults({ applyThenLoseNext: 1, operation: 'receipt' });
    const report = await run();
    expect(find(report, 'payment-without-fiscal-receipt', receipt.id)).toMatchObject({ action: 'healed', storeId: 'kzn-4', correction: 'issued' });
    expect(find(report, 'payment-without-fiscal-receipt', receipt.id)?.done).toContain(`IncomeCorrection pos-${f.id}-correction`);
    const done = await completed(f.id);
    ferma.setFaults({ applyThenLoseNext: 0, operation: null });
    expect(ferma.state.counters.lostAnswers).toBe(lostBefore + 1);
    const ofOrder = (list: { invoiceId: string }[]) => list.filter((r) => r.invoiceId.startsWith(`pos-${f.id}-`)).map((r) => r.invoiceId);
    expect(ofOrder(ferma.state.receipts.Income)).toEqual([]);
    expect(ofOrder(ferma.state.receipts.IncomeCorrection)).toEqual([`pos-${f.id}-correction`]);
    const [correction] = ferma.state.receipts.IncomeCorrection.filter((r) => r.invoiceId === `pos-${f.id}-correction`);
    const info = (correction.body as { Request: { CustomerReceipt: { CorrectionInfo: unknown } } }).Request.CustomerReceipt.CorrectionInfo;
    expect(info).toMatchObject({ Type: 'SELF', ReceiptDate: today('Europe/Moscow'), ReceiptId: `POS-${f.id}` });
    expect(done.fiscal).toMatchObject({ source: 'ferma', correction: { type: 'self', actNumber: `POS-${f.id}` } });

    const again = await run();
    expect(again.items.filter((i) => i.action === 'healed')).toEqual([]);
    expect(ofOrder(ferma.state.receipts.IncomeCorrection)).toHaveLength(1);
  }, 180_000);

  it('terminal-fiscalized store: the report says the correction must be made at the terminal; nothing is issued', async () => {
    const atolBefore = JSON.stringify(stack.atol!.state.receipts);
    const fermaBefore = JSON.stringify(stack.ferma!.state.receipts);
    // A walk-in sale the terminal's fiscal drive did not print (its webhook arrives as usual).
    const w = stack.evotor.sell(MSK_DEVICE, { items: [GRINDER], paymentSource: 'PAY_CASH', unprinted: true });
    await stack.evotor.flush();
    const report = await run();
    const item = find(report, 'payment-without-fiscal-receipt', w.id);
    expect(item).toMatchObject({ action: 'reported', storeId: 'msk-1', correction: 'at-terminal' });
    expect(item?.done).toMatch(/must be made at the terminal/);
    expect(item?.done).toMatch(/^Nothing was issued here/);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(JSON.stringify(stack.atol!.state.receipts)).toBe(atolBefore);
    expect(JSON.stringify(stack.ferma!.state.receipts)).toBe(fermaBefore);
  }, 120_000);
});
