import type { ReconciliationReport } from '../domain/reconciliation';
import { reconciliationWorkflow } from '../workflows/reconciliation';
import { eventually, MSK_DEVICE, startTestStack, TEST_POS_CONFIG, type TestStack } from './support/stack';
import { TASK_QUEUES } from '../domain/workflow-ids';

// A run too big for one workflow history: every Evotor page is its own activity call, the cursor and the partial
// report travel through continue-as-new, and the result is the same as in one go. (bench/reconciliation.ts
// does this at 50,000 documents.)
const CONFIG = `${TEST_POS_CONFIG}
reconciliation:
  settle: 1s
`;
const PRODUCTS = [
  { productId: '101', name: 'Кофемолка ручная', price: '2490.00', vatRate: 0.22 },
  { productId: '102', name: 'Кофе в зёрнах 1 кг', price: '1590.50', vatRate: 0.22 },
  { productId: '103', name: 'Книга «Кофе»', price: '799.00', vatRate: 0.1 },
];

describe('reconciliation of a window larger than one history', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: CONFIG });
    for (const id of ['reconciliation-frequent', 'reconciliation-nightly']) await stack.client.schedule.getHandle(id).pause('test');
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const stock = (productId: number) => stack.bitrix.snapshot().stock.find((s) => s.storeId === 1 && s.productId === productId)?.amount ?? 0;
  const run = async (workflowId: string, window: { from: string; to: string }): Promise<ReconciliationReport> =>
    stack.client.workflow.execute(reconciliationWorkflow, {
      workflowId,
      taskQueue: TASK_QUEUES.workflows,
      args: [{ kind: 'manual', ...window, tuning: { callsPerRun: 2, terminalPagesPerCall: 1 } }],
    });

  it('pages through 130 documents in 3 pages, continues as new with its partial report, and heals each sale once', async () => {
    const sales = 130;
    const before = PRODUCTS.map((p) => stock(Number(p.productId)));
    stack.evotor.configureWebhook({ url: 'http://127.0.0.1:1/unreachable', maxAttempts: 1 });
    const rung = Array.from({ length: sales }, (_, i) =>
      stack.evotor.sell(MSK_DEVICE, { items: [{ ...PRODUCTS[i % 3], quantity: 1 }], paymentSource: 'PAY_CASH', at: Date.now() - (sales - i) * 10_000 }),
    );
    await stack.evotor.flush();
    stack.evotor.configureWebhook({ url: `${stack.apiUrl}/webhooks/evotor/receipts`, maxAttempts: 5 });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const window = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() };

    const first = await run('reconciliation-chunked-1', window);
    expect(first.problems).toEqual([]);
    expect(first.counts['walk-in-not-recorded']).toEqual({ healed: sales, reported: 0 });
    expect(first.items.map((i) => i.receiptId).sort()).toEqual(rung.map((r) => r.id).sort());
    expect(first.totals.terminalDocuments).toBe(sales);
    // 50 documents a page: 3 pages at msk-1, one (empty) page at each of the two other stores.
    expect(first.requests.evotor).toBe(5);
    expect(first.continuedAsNew).toBeGreaterThanOrEqual(2);
    const runs: string[] = [];
    for await (const wf of stack.client.workflow.list({ query: 'WorkflowId = "reconciliation-chunked-1"' })) runs.push(wf.status.name);
    expect(runs.filter((s) => s === 'CONTINUED_AS_NEW')).toHaveLength(first.continuedAsNew);
    expect(runs.filter((s) => s === 'COMPLETED')).toHaveLength(1);

    // Every sale written off its warehouse exactly once.
    await eventually(
      () => (PRODUCTS.every((p, i) => stock(Number(p.productId)) === before[i] - Math.ceil((sales - i) / 3)) ? true : undefined),
      'the healed sales written off',
      90_000,
    );

    const second = await run('reconciliation-chunked-2', window);
    expect(second.counts['walk-in-not-recorded']).toEqual({ healed: 0, reported: 0 });
    expect(second.items).toEqual([]);
    expect(second.totals.terminalDocuments).toBe(sales);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(PRODUCTS.map((p, i) => before[i] - stock(Number(p.productId)))).toEqual([44, 43, 43]);
  }, 180_000);
});
