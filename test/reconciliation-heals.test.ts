import { previousDayWindow, type ReconciliationReport, type ReportItem } from '../domain/reconciliation';
import type { PosPaymentStatus } from '../domain/payment';
import { ensureReconciliationSchedules } from '../cross-system/reconciliation/schedules';
import { statusQuery } from '../workflows/pos-payment';
import { getJson, postJson } from './support/http';
import { EKB_DEVICE, eventually, MSK_DEVICE, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';

// Reconciliation, end to end: each divergence is produced in the simulators the way it happens in a shop
// (a Bitrix event lost, a receipt webhook never delivered, a manager marking a payment paid by hand, a terminal
// offline past the window), then healed or reported by runs through the admin API; a run after the heals
// finds nothing new, and what was healed shows in Bitrix, the stock and ATOL.
const CONFIG = `${TEST_POS_CONFIG}
reconciliation:
  frequent: { every: 24h, window: 2h }
  nightly: { at: "02:00", timeZone: Europe/Moscow }
  settle: 1s
  stageLimits: { NEEDS_ATTENTION: 1s }
`;

const HOUR = 3_600_000;
const GRINDER = { productId: '101', name: 'Кофемолка ручная', price: '2490.00', quantity: 1, vatRate: 0.22 };
const BEANS = { productId: '102', name: 'Кофе в зёрнах 1 кг', price: '1590.50', quantity: 2, vatRate: 0.22 };

describe('reconciliation heals and reports every divergence', () => {
  let stack: TestStack;
  const auth = () => ({ authorization: `Bearer ${stack.adminApiKey}` });

  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: CONFIG });
    // The schedules exist from the worker's start; paused here so that only the runs of this test happen.
    for (const id of ['reconciliation-frequent', 'reconciliation-nightly']) await stack.client.schedule.getHandle(id).pause('test');
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const order = (bitrixStoreId: number, basket = [GRINDER, BEANS]) =>
    stack.bitrix.createOrder({
      statusId: 'N',
      basket: basket.map((b) => ({ ...b, productId: Number(b.productId), reservations: [{ storeId: bitrixStoreId, quantity: b.quantity }] })),
      payments: [{ paySystemId: 10 }],
      propertyValues: [{ code: 'EMAIL', value: 'buyer@example.ru' }],
    });
  const paymentStatus = async (orderId: number): Promise<PosPaymentStatus | undefined> => {
    try {
      return await stack.client.workflow.getHandle(`pos-payment:${orderId}`).query(statusQuery);
    } catch {
      return undefined;
    }
  };
  const stage = (orderId: number, want: string) =>
    eventually(async () => ((await paymentStatus(orderId))?.stage === want ? true : undefined), `order ${orderId} in ${want}`, 60_000);
  const pushFor = (orderId: number) =>
    eventually(() => stack.evotor.state.pushes.find((p) => (p.payload as { orderId?: string }).orderId === String(orderId)), `a push of order ${orderId}`);
  /** A manager marks the order's POS payment paid in Bitrix by hand. */
  const markPaidByHand = (orderId: number) => {
    const payment = stack.bitrix.state.getOrder(orderId).payments[0];
    stack.bitrix.state.updatePayment(payment.id, { paySystemId: 10, paid: 'Y', datePaid: new Date().toISOString() });
  };
  const webhookLost = async () => {
    stack.evotor.configureWebhook({ url: 'http://127.0.0.1:1/unreachable', maxAttempts: 1 });
  };
  const webhookBack = () => stack.evotor.configureWebhook({ url: `${stack.apiUrl}/webhooks/evotor/receipts`, maxAttempts: 5 });
  const stock = (storeId: number, productId: number) => stack.bitrix.snapshot().stock.find((s) => s.storeId === storeId && s.productId === productId)?.amount ?? 0;
  const run = async (body: Record<string, unknown>): Promise<ReconciliationReport> => {
    const res = await postJson<ReconciliationReport>(`${stack.apiUrl}/api/reconciliation/runs?wait=1`, body, auth());
    expect(res.status).toBe(200);
    return res.body;
  };
  const find = (report: ReconciliationReport, cls: ReportItem['class'], key: string) => report.items.find((i) => i.class === cls && i.key === key);
  const healedKeys = (report: ReconciliationReport) => report.items.filter((i) => i.action === 'healed').map((i) => `${i.class}:${i.key}`).sort();
  // A refund workflow the run started may wait for a person by its own rules: that is the refund's story, not this test's.
  const reportedKeys = (report: ReconciliationReport) =>
    report.items
      .filter((i) => i.action === 'reported' && !(i.class === 'stuck-workflow' && !i.key.startsWith('pos-payment:')))
      .map((i) => `${i.class}:${i.key}`)
      .sort();

  it('creates its schedules idempotently from POS_CONFIG', async () => {
    const frequent = await stack.client.schedule.getHandle('reconciliation-frequent').describe();
    expect(frequent.spec.intervals).toMatchObject([{ every: 24 * HOUR }]);
    expect(frequent.action).toMatchObject({ workflowType: 'reconciliationWorkflow', args: [{ kind: 'frequent', windowMs: 2 * HOUR, every: '24h' }] });
    const nightly = await stack.client.schedule.getHandle('reconciliation-nightly').describe();
    expect(nightly.spec.timezone).toBe('Europe/Moscow');
    expect(nightly.action).toMatchObject({ args: [{ kind: 'nightly', timeZone: 'Europe/Moscow', at: '02:00' }] });
    expect(nightly.policies.overlap).toBe('SKIP');

    // A worker starting again with the same POS_CONFIG changes nothing; with another one, it updates them.
    const config = stack.config.reconciliation!;
    expect(await ensureReconciliationSchedules(stack.client, stack.config)).toEqual({ 'reconciliation-frequent': 'unchanged', 'reconciliation-nightly': 'unchanged' });
    const changed = { ...stack.config, reconciliation: { ...config, frequent: { every: '30m', window: '3h' }, nightly: { at: '03:30', timeZone: 'Asia/Yekaterinburg' } } };
    expect(await ensureReconciliationSchedules(stack.client, changed)).toEqual({ 'reconciliation-frequent': 'updated', 'reconciliation-nightly': 'updated' });
    const updated = await stack.client.schedule.getHandle('reconciliation-nightly').describe();
    expect(updated.spec.timezone).toBe('Asia/Yekaterinburg');
    expect(updated.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3 }], minute: [{ start: 30 }] });
    expect(updated.state.paused).toBe(true);
    expect((await stack.client.schedule.getHandle('reconciliation-frequent').describe()).action).toMatchObject({ args: [{ windowMs: 3 * HOUR, every: '30m' }] });
    expect(await ensureReconciliationSchedules(stack.client, changed)).toEqual({ 'reconciliation-frequent': 'unchanged', 'reconciliation-nightly': 'unchanged' });
    await ensureReconciliationSchedules(stack.client, stack.config);
  });

  it('heals lost events and webhooks, reports what needs a person, and a second run finds nothing new', async () => {
    // E: paid 5000.00 of 5671.00 at the terminal, then marked paid in Bitrix by hand: the amounts differ.
    const e = order(1);
    await stage(e.id, 'AWAITING_PAYMENT');
    stack.evotor.payPush(MSK_DEVICE, { pushId: (await pushFor(e.id)).id, amountOverride: '5000.00' });
    await stack.evotor.flush();
    await eventually(async () => ((await paymentStatus(e.id))?.payments.length === 1 ? true : undefined), 'the partial payment of E');
    markPaidByHand(e.id);
    await stage(e.id, 'NEEDS_ATTENTION');

    // D: marked paid in Bitrix by hand while waiting; no terminal receipt ever comes.
    const d = order(2);
    await stage(d.id, 'AWAITING_PAYMENT');
    markPaidByHand(d.id);
    await stage(d.id, 'COMPLETED');

    // B: the order's workflow waits; the cashier is paid, but the receipt webhook never arrives.
    const b = order(1);
    await stage(b.id, 'AWAITING_PAYMENT');
    const bPush = await pushFor(b.id);
    await webhookLost();
    const bReceipt = stack.evotor.payPush(MSK_DEVICE, { pushId: bPush.id });

    // W: a walk-in sale whose webhook never arrives. R: a refund of an earlier walk-in sale, webhook lost too.
    const w = stack.evotor.sell(MSK_DEVICE, { items: [{ ...GRINDER, quantity: 2 }], paymentSource: 'PAY_CASH' });
    const refunded = stack.evotor.sell(MSK_DEVICE, { items: [BEANS], paymentSource: 'PAY_CASH', at: Date.now() - 30 * 60_000 });
    const r = stack.evotor.payback(MSK_DEVICE, { baseDocumentId: refunded.id });

    // O: a terminal offline for hours uploads a sale closed 3 h ago: outside the frequent 2-hour window.
    stack.evotor.setOffline(MSK_DEVICE);
    const o = stack.evotor.sell(MSK_DEVICE, { items: [BEANS], paymentSource: 'PAY_CARD', at: Date.now() - 3 * HOUR });
    stack.evotor.setOnline(MSK_DEVICE);

    // A and C: Bitrix events lost. A is never paid; C (ATOL store) is paid at the terminal with our order id,
    // its webhook lost too, and a manager marks it paid by hand: no fiscal receipt exists for it anywhere.
    expect(stack.bitrix.state.removeEventHandler('ONSALEORDERSAVED')).toBe(1);
    const a = order(2);
    const c = order(3, [GRINDER]);
    const cReceipt = stack.evotor.sell(EKB_DEVICE, { items: [GRINDER], extras: { bitrixOrderId: String(c.id), accountNumber: c.accountNumber } });
    markPaidByHand(c.id);
    await stack.bitrix.flushEvents();
    stack.bitrix.addEventHandler({ event: 'ONSALEORDERSAVED', handler: `${stack.apiUrl}/webhooks/bitrix` });
    await stack.evotor.flush();
    webhookBack();
    expect(stack.evotor.state.deliveries.filter((x) => [bReceipt.id, w.id, r.id, o.id, cReceipt.id].includes(x.receiptId)).map((x) => x.state)).toEqual([
      'failed',
      'failed',
      'failed',
      'failed',
      'failed',
    ]);
    for (const id of [a.id, c.id]) expect(await paymentStatus(id)).toBeUndefined();
    const msk = stack.config.stores[0].evotorStoreId!;
    const grindersBefore = stock(1, 101);
    const atolSellsBefore = stack.atol!.state.receipts.sell.length;

    // The frequent window (2 h) heals everything in it; the sale closed 3 h ago is not in it. (Whatever is
    // younger than `settle`, 1 s here, is left to its webhook: wait that out.)
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const first = await run({ windowMinutes: 120 });
    expect(first.problems).toEqual([]);
    expect(first.kind).toBe('manual');
    expect(healedKeys(first)).toEqual(
      [
        `missed-bitrix-event:${a.id}`,
        `terminal-payment-not-recorded:${bReceipt.id}`,
        `walk-in-not-recorded:${w.id}`,
        `walk-in-not-recorded:${refunded.id}`,
        `refund-not-reflected:${r.id}`,
        `payment-without-fiscal-receipt:${cReceipt.id}`,
      ].sort(),
    );
    expect(find(first, 'walk-in-not-recorded', o.id)).toBeUndefined();
    expect(find(first, 'terminal-payment-not-recorded', bReceipt.id)).toMatchObject({
      orderId: String(b.id),
      terminalStoreId: msk,
      storeId: 'msk-1',
      terminalAmount: 567100,
      bitrixAmount: 567100,
      workflowId: `pos-payment:${b.id}`,
    });
    expect(find(first, 'payment-without-fiscal-receipt', cReceipt.id)?.found).toMatch(/paid by someone else/);
    // B's terminal printed its receipt at the time: nothing to correct.
    expect(find(first, 'terminal-payment-not-recorded', bReceipt.id)?.correction).toBeUndefined();
    expect(find(first, 'walk-in-not-recorded', w.id)?.workflowId).toBe(`terminal-receipt:${msk}:${w.id}`);
    expect(find(first, 'refund-not-reflected', r.id)?.workflowId).toBe(`refund:${msk}:${r.id}`);
    expect(find(first, 'missed-bitrix-event', String(a.id))?.workflowId).toBe(`bitrix-order-events:${a.id}`);
    // Reported for a person: D paid in Bitrix without a receipt; E's amounts, and E waiting in NEEDS_ATTENTION too long.
    expect(reportedKeys(first)).toEqual([`amount-mismatch:${e.id}`, `bitrix-paid-without-terminal-receipt:${d.id}`, `stuck-workflow:pos-payment:${e.id}@NEEDS_ATTENTION`].sort());
    expect(find(first, 'amount-mismatch', String(e.id))).toMatchObject({ terminalAmount: 500000, bitrixAmount: 567100 });
    expect(first.counts['walk-in-not-recorded']).toEqual({ healed: 2, reported: 0 });
    expect(first.totals.terminalDocuments).toBe(6); // E, B, W, the refunded sale and R at msk-1; C at ekb-3
    expect(first.requests.evotor).toBeGreaterThanOrEqual(3);

    // What the heals did, in the outside systems.
    await stage(b.id, 'COMPLETED');
    const bPaid = stack.bitrix.state.getOrder(b.id);
    expect(bPaid.payments[0]).toMatchObject({ paid: true, psInvoiceId: bReceipt.id });
    expect(bPaid.statusId).toBe('P');
    await stage(a.id, 'AWAITING_PAYMENT');
    expect(stack.bitrix.state.getOrder(a.id).statusId).toBe('WP');
    await stage(c.id, 'COMPLETED');
    const cDone = (await paymentStatus(c.id))!;
    // Its receipt was not issued at the time: a correction receipt, not a sale receipt (test/reconciliation-correction-receipts.test.ts).
    expect(cDone).toMatchObject({ alreadyPaidInBitrix: true, fiscal: { source: 'atol', correction: { type: 'self', actNumber: `POS-${c.id}` } }, payments: [{ receiptId: cReceipt.id }] });
    expect(stack.atol!.state.receipts.sell.slice(atolSellsBefore).map((x) => x.external_id)).toEqual([]);
    expect(stack.atol!.state.receipts.sell_correction.map((x) => x.external_id)).toEqual([`pos-${c.id}-correction`]);
    expect(find(first, 'payment-without-fiscal-receipt', cReceipt.id)?.correction).toBe('issued');
    expect(stack.bitrix.state.getOrder(c.id).shipments.filter((s) => !s.system).every((s) => s.deducted)).toBe(true);
    await eventually(() => (stock(1, 101) === grindersBefore - 2 - 1 ? true : undefined), 'the walk-in sale W (2 grinders) and order B (1) written off');

    // A window over the terminal's offline hours heals the late upload, and only that.
    const wide = { from: new Date(Date.now() - 4 * HOUR).toISOString(), to: new Date().toISOString() };
    const second = await run(wide);
    expect(healedKeys(second)).toEqual([`walk-in-not-recorded:${o.id}`]);
    expect(reportedKeys(second)).toEqual(reportedKeys(first));
    await eventually(
      async () => ((await stack.client.workflow.getHandle(`terminal-receipt:${msk}:${o.id}`).describe()).status.name === 'COMPLETED' ? true : undefined),
      'the late upload recorded',
    );

    // Once more over the same window: nothing is healed again, the same things are reported, nothing changes.
    const requestsBefore = stack.bitrix.requestCounts().byMethod;
    const atolBefore = stack.atol!.state.receipts.sell.length;
    const third = await run(wide);
    expect(healedKeys(third)).toEqual([]);
    expect(reportedKeys(third)).toEqual(reportedKeys(first));
    expect(third.totals.terminalDocuments).toBe(second.totals.terminalDocuments);
    const requestsAfter = stack.bitrix.requestCounts().byMethod;
    for (const write of ['sale.payment.update', 'sale.order.update', 'sale.shipment.update', 'catalog.document.add']) {
      expect(requestsAfter[write] ?? 0).toBe(requestsBefore[write] ?? 0);
    }
    expect(stack.atol!.state.receipts.sell.length).toBe(atolBefore);
    expect(stack.atol!.state.receipts.sell_correction).toHaveLength(1);
  }, 240_000);

  it('serves the reports: latest and by date, JSON and CSV, behind the admin key', async () => {
    expect((await getJson(`${stack.apiUrl}/api/reconciliation/reports/latest`)).status).toBe(401);
    const latest = await getJson<ReconciliationReport>(`${stack.apiUrl}/api/reconciliation/reports/latest`, auth());
    expect(latest.status).toBe(200);
    expect(healedKeys(latest.body)).toEqual([]);
    expect(latest.body.runId).toMatch(/^reconciliation-manual-/);

    const csv = await fetch(`${stack.apiUrl}/api/reconciliation/reports/latest?format=csv`, { headers: auth() });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('class,action,order_id,receipt_id,terminal_store_id,store_id,terminal_amount_rub,bitrix_amount_rub,at,workflow_id,found,done,run_id,correction');
    const rows = lines.slice(1).filter((l) => !l.includes(',refund:'));
    expect(rows.map((l) => l.split(',').slice(0, 2).join(',')).sort()).toEqual(['amount-mismatch,reported', 'bitrix-paid-without-terminal-receipt,reported', 'stuck-workflow,reported']);
    expect(lines.find((l) => l.startsWith('amount-mismatch'))).toContain(',5000.00,5671.00,');

    const today = new Date().toISOString().slice(0, 10);
    const day = await getJson<{ date: string; runs: unknown[]; items: (ReportItem & { runs: number })[] }>(`${stack.apiUrl}/api/reconciliation/reports/${today}`, auth());
    expect(day.status).toBe(200);
    expect(day.body.runs).toHaveLength(3);
    // Each divergence once, however many runs saw it; healed wins.
    expect(day.body.items.filter((i) => i.action === 'healed')).toHaveLength(7);
    expect(day.body.items.find((i) => i.class === 'amount-mismatch')?.runs).toBe(3);
    const dayCsv = await fetch(`${stack.apiUrl}/api/reconciliation/reports/${today}`, { headers: { ...auth(), accept: 'text/csv' } });
    expect((await dayCsv.text()).trim().split('\r\n')).toHaveLength(1 + day.body.items.length);

    expect((await getJson(`${stack.apiUrl}/api/reconciliation/reports/2001-01-01`, auth())).status).toBe(404);
    expect((await getJson(`${stack.apiUrl}/api/reconciliation/reports/yesterday`, auth())).body).toEqual({ error: 'date: a date YYYY-MM-DD' });
    const bad = await postJson(`${stack.apiUrl}/api/reconciliation/runs`, { from: '2026-11-29T10:00:00Z' }, auth());
    expect(bad).toEqual({ status: 400, body: { error: 'to: from and to go together' } });
  });

  it('runs by hand through the API and through the schedule, with the summary in the Web UI details', async () => {
    const started = await postJson<{ workflowId: string }>(`${stack.apiUrl}/api/reconciliation/runs`, {}, { ...auth(), 'idempotency-key': 'support-42' });
    expect(started).toMatchObject({ status: 202, body: { workflowId: 'reconciliation-manual-support-42' } });
    const again = await postJson<{ workflowId: string }>(`${stack.apiUrl}/api/reconciliation/runs`, {}, { ...auth(), 'idempotency-key': 'support-42' });
    expect(again.body.workflowId).toBe('reconciliation-manual-support-42');
    const handle = stack.client.workflow.getHandle('reconciliation-manual-support-42');
    await handle.result();
    const status = await getJson<{ execution: string; report: ReconciliationReport }>(`${stack.apiUrl}/api/reconciliation/runs/reconciliation-manual-support-42`, auth());
    expect(status.body.execution).toBe('COMPLETED');
    expect(await (await handle.describe()).staticSummary()).toBe('Reconciliation by hand');
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toMatch(/\*\*Reconciliation \(manual\)\*\*/);
    expect(metadata.currentDetails).toMatch(/\*\*0 healed, \d+ reported for a person\*\*/);
    expect(metadata.currentDetails).toContain('| amount-mismatch | 0 | 1 |');

    // `temporal schedule trigger` does the same as this: one run of the schedule, now.
    await stack.client.schedule.getHandle('reconciliation-frequent').trigger();
    const scheduled = await eventually(async () => {
      for await (const wf of stack.client.workflow.list({ query: 'WorkflowType = "reconciliationWorkflow" AND WorkflowId STARTS_WITH "reconciliation-frequent-"' })) return wf;
      return undefined;
    }, 'the triggered scheduled run');
    const report: ReconciliationReport = await stack.client.workflow.getHandle(scheduled.workflowId).result();
    expect(report).toMatchObject({ kind: 'frequent', runId: scheduled.workflowId });
    expect(Date.parse(report.to) - Date.parse(report.from)).toBe(2 * HOUR);

    // The nightly schedule's run covers the previous day in its time zone.
    await stack.client.schedule.getHandle('reconciliation-nightly').trigger();
    const nightlyRun = await eventually(async () => {
      for await (const wf of stack.client.workflow.list({ query: 'WorkflowType = "reconciliationWorkflow" AND WorkflowId STARTS_WITH "reconciliation-nightly-"' })) return wf;
      return undefined;
    }, 'the triggered nightly run');
    const nightly: ReconciliationReport = await stack.client.workflow.getHandle(nightlyRun.workflowId).result();
    const { from, to } = previousDayWindow(Date.parse(nightly.startedAt), 'Europe/Moscow');
    expect(nightly).toMatchObject({ kind: 'nightly', from, to, problems: [] });
    expect(from).toMatch(/T21:00:00.000Z$/);
  }, 120_000);
});
