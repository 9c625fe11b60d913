import { Writable } from 'node:stream';
import { AtolClient } from '../activities/atol/client';
import { buildLogger } from '../lib/logger';
import { EvotorCloudClient } from '../activities/evotor/client';
import type { ReconciliationReport } from '../domain/reconciliation';
import type { ReceiptResult } from '../simulators/evotor/simulator';
import { terminalReceiptQuery } from '../workflows/terminal-receipt';
import { postJson } from './support/http';
import { BEANS, BOOK, GRINDER, refundPosConfig, stockOf, waitForOrderStage } from './support/refunds';
import { refundStatusQuery } from '../workflows/refund';
import { eventually, startTestStack, type TestStack } from './support/stack';

// Several legal entities in one deployment. Besides the default company (the global ATOL_* and EVOTOR_TOKEN:
// stores msk-1, spb-2, ekb-3 of the shared test config), "north" prints through its own ATOL Online group and
// "south" through its own Ferma account, each with its own Evotor account. Orders, refunds and a walk-in sale at
// stores of every company: each receipt lands in its own company's group/account with its own INN, each
// account's token is fetched once and cached, and nothing crosses.
const NORTH = { id: 'north-4', warehouse: 4, terminalStore: '20240101-0000-4000-8000-000000000004', device: '20240101-0000-4000-8000-0000000000d4', inn: '7701000001' };
const SOUTH = { id: 'south-5', warehouse: 5, terminalStore: '20240101-0000-4000-8000-000000000005', device: '20240101-0000-4000-8000-0000000000d5', inn: '7802000002' };
const DEFAULT_INN = '6601234567';

const CONFIG = `${refundPosConfig()}
  - id: ${NORTH.id}
    name: Pickup North 4
    bitrixStoreId: "${NORTH.warehouse}"
    evotorStoreId: "${NORTH.terminalStore}"
    evotorDeviceIds: ["${NORTH.device}"]
    fiscalMode: atol
    companyId: north
  - id: ${SOUTH.id}
    name: Pickup South 5
    bitrixStoreId: "${SOUTH.warehouse}"
    evotorStoreId: "${SOUTH.terminalStore}"
    evotorDeviceIds: ["${SOUTH.device}"]
    fiscalMode: ferma
    companyId: south
companies:
  - id: north
    company: { inn: "${NORTH.inn}", email: north@example.ru, sno: osn, paymentAddress: "https://north.example.ru" }
    atol: { loginEnv: NORTH_ATOL_LOGIN, passwordEnv: NORTH_ATOL_PASSWORD, groupCodeEnv: NORTH_ATOL_GROUP }
    evotor: { tokenEnv: NORTH_EVOTOR_TOKEN }
  - id: south
    company: { inn: "${SOUTH.inn}", email: south@example.ru, sno: usn_income, paymentAddress: "https://south.example.ru" }
    ferma: { loginEnv: SOUTH_FERMA_LOGIN, passwordEnv: SOUTH_FERMA_PASSWORD }
    evotor: { tokenEnv: SOUTH_EVOTOR_TOKEN }
reconciliation:
  settle: 1s
`;

const SECRETS = {
  NORTH_ATOL_LOGIN: 'north-login',
  NORTH_ATOL_PASSWORD: 'north-atol-password-secret',
  NORTH_ATOL_GROUP: 'north-group',
  NORTH_EVOTOR_TOKEN: 'north-evotor-token-secret',
  SOUTH_FERMA_LOGIN: 'south-login',
  SOUTH_FERMA_PASSWORD: 'south-ferma-password-secret',
  SOUTH_EVOTOR_TOKEN: 'south-evotor-token-secret',
};

type Store = { id: string; warehouse: number; terminalStore: string; device: string };
const EKB: Store = { id: 'ekb-3', warehouse: 3, terminalStore: '20240101-0000-4000-8000-000000000003', device: '20240101-0000-4000-8000-0000000000d3' };

describe('several companies in one deployment', () => {
  let stack: TestStack;
  /** Everything the application logged (info and up), to look for secrets in. */
  let logged = '';
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged += String(chunk);
        done();
      },
    });
    stack = await startTestStack({ posConfigYaml: CONFIG, companyEnv: SECRETS, logger: buildLogger({ level: 'info' }, sink) });
    // Only the run of this test: the schedules exist from the worker's start.
    for (const id of ['reconciliation-frequent', 'reconciliation-nightly']) await stack.client.schedule.getHandle(id).pause('test');
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  /** An order at the store, paid at its terminal on the pushed order; waits until it is COMPLETED. */
  async function payOrder(store: Store, lines: { product: typeof GRINDER; quantity: number }[]) {
    const order = stack.bitrix.createOrder({
      statusId: 'N',
      basket: lines.map(({ product, quantity }) => ({ ...product, quantity, reservations: [{ storeId: store.warehouse, quantity }] })),
      payments: [{ paySystemId: 10 }],
      propertyValues: [{ code: 'EMAIL', value: 'buyer@example.ru' }],
    });
    await waitForOrderStage(stack, order.id, 'AWAITING_PAYMENT');
    // The push reached the store's terminal: sent with the token of the account that holds it.
    const push = await eventually(() => stack.evotor.state.pushes.find((p) => (p.payload as { orderId?: string }).orderId === String(order.id)), `order ${order.id} pushed`);
    const sale = stack.evotor.payPush(store.device, { pushId: push.id, paymentSource: 'PAY_CARD' });
    await stack.evotor.flush();
    const done = await waitForOrderStage(stack, order.id, 'COMPLETED', 60_000);
    return { order, sale, done };
  }

  const waitRefund = (store: Store, refund: ReceiptResult) =>
    eventually(async () => {
      const s = await stack.client.workflow.getHandle(`refund:${store.terminalStore}:${refund.id}`).query(refundStatusQuery);
      return s.stage === 'COMPLETED' ? s : undefined;
    }, `refund ${refund.id} completed`, 60_000);

  it('prints each company\'s receipts in its own group or account with its own INN, refunds included; each token fetched once', async () => {
    const atol = stack.atol!;
    const ferma = stack.ferma!;
    const [north, ekb, south] = [
      await payOrder(NORTH, [{ product: GRINDER, quantity: 1 }]),
      await payOrder(EKB, [{ product: BEANS, quantity: 1 }]),
      await payOrder(SOUTH, [{ product: BOOK, quantity: 2 }]),
    ];
    expect([north.done.fiscal?.source, ekb.done.fiscal?.source, south.done.fiscal?.source]).toEqual(['atol', 'atol', 'ferma']);

    const sellOf = (orderId: number) => atol.state.receipts.sell.filter((r) => r.external_id.startsWith(`pos-${orderId}-`));
    const innOf = (body: Record<string, unknown>) => (body.receipt as { company: { inn: string } }).company.inn;
    expect(sellOf(north.order.id).map((r) => [r.group_code, innOf(r.body), r.status])).toEqual([['north-group', NORTH.inn, 'done']]);
    expect(sellOf(ekb.order.id).map((r) => [r.group_code, innOf(r.body), r.status])).toEqual([['sandbox-group', DEFAULT_INN, 'done']]);
    const incomes = ferma.state.receipts.Income.filter((r) => r.invoiceId.startsWith(`pos-${south.order.id}-`));
    expect(incomes.map((r) => [r.account, r.inn, r.stage])).toEqual([['south-login', SOUTH.inn, 'CONFIRMED']]);
    // No receipt of north or the default company went to Ferma, none of south to ATOL.
    expect(ferma.state.receipts.Income.filter((r) => r.account !== 'south-login')).toEqual([]);
    expect(sellOf(south.order.id)).toEqual([]);

    // Refunds at the terminal go back to the register that printed the sale, of the same company.
    const northRefund = stack.evotor.payback(NORTH.device, { baseDocumentId: north.sale.id });
    const southRefund = stack.evotor.payback(SOUTH.device, { baseDocumentId: south.sale.id, items: [{ ...BOOK, productId: '103', quantity: 1 }] });
    await stack.evotor.flush();
    await waitRefund(NORTH, northRefund);
    await waitRefund(SOUTH, southRefund);
    const northBack = atol.state.receipts.sell_refund.filter((r) => r.external_id.startsWith(`pos-refund-${northRefund.id}`));
    expect(northBack.map((r) => [r.group_code, innOf(r.body), r.status])).toEqual([['north-group', NORTH.inn, 'done']]);
    const southBack = ferma.state.receipts.IncomeReturn.filter((r) => r.invoiceId.startsWith(`pos-refund-${southRefund.id}`));
    expect(southBack.map((r) => [r.account, r.inn, r.stage])).toEqual([['south-login', SOUTH.inn, 'CONFIRMED']]);

    // Every account's token was fetched once and reused for all its receipts and reports.
    expect(atol.state.tokens.issuedByAccount).toEqual({ 'sandbox-login': 1, 'north-login': 1 });
    expect(ferma.state.tokens.issuedByAccount).toEqual({ 'south-login': 1 });
    // Both companies' Evotor accounts were used for their own stores (another token would get 404 there).
    expect(stack.evotor.requestsByAccount).toMatchObject({ north: expect.any(Number), south: expect.any(Number) });
  }, 240_000);

  it('writes a walk-in sale off at its own warehouse, its catalog read with its company\'s Evotor token', async () => {
    const before = { south: stockOf(stack, SOUTH.warehouse, 102).amount, msk: stockOf(stack, 1, 102).amount };
    const southCalls = stack.evotor.requestsByAccount.south ?? 0;
    const sale = stack.evotor.sell(SOUTH.device, { items: [{ ...BEANS, productId: '102', quantity: 3 }] });
    await stack.evotor.flush();
    await eventually(async () => {
      const receipt = await stack.client.workflow.getHandle(`terminal-receipt:${SOUTH.terminalStore}:${sale.id}`).query(terminalReceiptQuery);
      return receipt.stage === 'QUEUED_FOR_DEDUCTION' && stockOf(stack, SOUTH.warehouse, 102).amount === before.south - 3 ? true : undefined;
    }, 'the walk-in sale written off', 60_000);
    expect(stockOf(stack, 1, 102).amount).toBe(before.msk);
    expect(stack.evotor.requestsByAccount.south).toBeGreaterThan(southCalls);
  }, 120_000);

  it('reconciliation reads each company\'s Evotor documents with its own token and finds them all', async () => {
    await new Promise((r) => setTimeout(r, 1500)); // past `settle`
    const calls = stack.evotor.requestsByAccount;
    const res = await postJson<ReconciliationReport>(`${stack.apiUrl}/api/reconciliation/runs?wait=1`, { windowMinutes: 120 }, { authorization: `Bearer ${stack.adminApiKey}` });
    expect(res.status).toBe(200);
    const report = res.body;
    expect(report.problems).toEqual([]);
    // Every receipt document of every store (3 sales, 2 refunds, the walk-in) was read, whoever's account holds it.
    const receipts = stack.evotor.state.documents.filter((d) => d.type === 'SELL' || d.type === 'PAYBACK');
    expect(receipts).toHaveLength(6);
    expect(report.totals.terminalDocuments).toBe(receipts.length);
    const after = stack.evotor.requestsByAccount;
    for (const account of ['default', 'north', 'south']) expect(after[account]).toBeGreaterThan(calls[account] ?? 0);
  }, 120_000);

  it('a token of one company is refused for another\'s group or stores', async () => {
    const atolNorthOnDefaultGroup = new AtolClient({
      apiUrl: stack.atol!.url, login: SECRETS.NORTH_ATOL_LOGIN, password: SECRETS.NORTH_ATOL_PASSWORD, groupCode: 'sandbox-group',
    });
    const [anyDefaultReceipt] = stack.atol!.state.receipts.sell.filter((r) => r.group_code === 'sandbox-group');
    await expect(atolNorthOnDefaultGroup.getReport(anyDefaultReceipt.uuid)).rejects.toMatchObject({ code: '20', retryable: false });

    const evotorNorth = new EvotorCloudClient({ apiUrl: stack.evotor.url, token: SECRETS.NORTH_EVOTOR_TOKEN });
    expect((await evotorNorth.listStores()).map((s) => s.id)).toEqual([NORTH.terminalStore]);
    await expect(evotorNorth.listDocumentsPage(SOUTH.terminalStore, {})).rejects.toMatchObject({ httpStatus: 404 });
  });

  it('no company secret is in the logs or in any workflow history (inputs, results, search attributes)', async () => {
    expect(logged).toContain('atol'); // the sink did receive the application's logs
    const histories: string[] = [];
    for await (const wf of stack.client.workflow.list()) {
      const history = await stack.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      // Payload data (inputs, results, signals, search attributes) decoded, so a secret inside one would show.
      const decode = (k: string, v: unknown) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v;
      histories.push(JSON.stringify(history, decode));
    }
    expect(histories.length).toBeGreaterThan(5);
    const all = histories.join('\n');
    expect(all).toContain(`\\"storeId\\":\\"${NORTH.id}\\"`); // the payloads were decoded (JSON inside JSON)
    for (const name of ['NORTH_ATOL_PASSWORD', 'NORTH_EVOTOR_TOKEN', 'SOUTH_FERMA_PASSWORD', 'SOUTH_EVOTOR_TOKEN'] as const) {
      expect(logged).not.toContain(SECRETS[name]);
      expect(all).not.toContain(SECRETS[name]);
    }
  }, 60_000);
});
