import { WorkflowIdReusePolicy } from '@temporalio/client';
import { loadEnv, parsePosConfig } from '../lib/config';
import { buildLogger } from '../lib/logger';
import { startStack } from '../app/stack';
import { startLocalTemporal } from '../lib/temporal-env';
import { mapLimit } from '../intake/walk-ins';
import { totalFound } from '../domain/reconciliation';
import { reconciliationWorkflow } from '../workflows/reconciliation';
import { TASK_QUEUES, posPaymentWorkflowId, terminalReceiptWorkflowId } from '../domain/workflow-ids';

// npm run bench:reconciliation — a day of a large chain against the simulators: BENCH_DOCUMENTS Evotor
// documents (50,000) over BENCH_STORES stores (10) in the last 24 h, and BENCH_ORDERS Bitrix orders
// (2,000) awaiting payment at the pickup points. All of them are already known to our workflows except
// BENCH_MISSING of the documents (0.2 %) and BENCH_MISSED_EVENTS orders (20), which a run must heal. The
// "known" records are workflows started on a task queue no worker polls: reconciliation only needs to find
// them, and running 50,000 receipt workflows first would measure the receipts, not the reconciliation.
// Times one run over the day (Bitrix at the cloud's 2 req/s, Evotor pages of 50), then a second run that
// must heal nothing. Prints figures, then one JSON line.

const DOCUMENTS = Number(process.env.BENCH_DOCUMENTS ?? 50_000);
const STORES = Number(process.env.BENCH_STORES ?? 10);
const MISSING = Number(process.env.BENCH_MISSING ?? 0.002);
const ORDERS = Number(process.env.BENCH_ORDERS ?? 2_000);
const MISSED_EVENTS = Number(process.env.BENCH_MISSED_EVENTS ?? 20);
const SEED_CONCURRENCY = Number(process.env.BENCH_SEED_CONCURRENCY ?? 32);
const UNPOLLED = 'bench-known-records';
const HOUR = 3_600_000;

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

function posConfig(): string {
  const stores = Array.from({ length: STORES }, (_, i) => {
    const n = String(i + 1).padStart(2, '0');
    return `  - { id: store-${n}, name: Store ${n}, bitrixStoreId: "${i + 1}", evotorStoreId: "20260000-0000-4000-8000-0000000000${n}", evotorDeviceIds: ["20260000-0000-4000-8000-00000000d0${n}"] }`;
  });
  return ['bitrix: { posPaySystemIds: ["10"], statuses: { awaitingPayment: WP, paid: P, canceled: CN } }', 'reconciliation: { settle: 1s }', 'stores:', ...stores, ''].join('\n');
}

async function main(): Promise<void> {
  say(`reconciliation benchmark: ${DOCUMENTS} terminal documents over ${STORES} stores in 24 h, ${ORDERS} Bitrix orders awaiting payment; ${Math.round(DOCUMENTS * MISSING)} documents and ${MISSED_EVENTS} orders unknown to the workflows`);
  const temporal = await startLocalTemporal({});
  const logger = buildLogger({ level: process.env.LOG_LEVEL ?? 'error' });
  const config = parsePosConfig(posConfig(), 'yaml', 'bench config');
  const stack = await startStack({ env: loadEnv({ API_PORT: '0' }), config, logger, temporalAddress: temporal.address, namespace: 'default', ports: { api: 0 } });
  const { client } = stack;
  const bitrix = stack.bitrix!;
  const evotor = stack.evotor!;
  try {
    for (const id of ['reconciliation-frequent', 'reconciliation-nightly']) await client.schedule.getHandle(id).pause('benchmark');
    // The day happened before: no webhook, no Bitrix event reaches us while it is seeded.
    evotor.configureWebhook({ url: null as unknown as string });
    bitrix.state.removeEventHandler('ONSALEORDERSAVED');

    const t0 = Date.now();
    const now = Date.now();
    const docs: { storeId: string; terminalStoreId: string; deviceId: string; id: string }[] = [];
    for (let i = 0; i < DOCUMENTS; i++) {
      const store = config.stores[i % STORES];
      const deviceId = store.evotorDeviceIds[0];
      const sale = evotor.sell(deviceId, {
        items: [{ productId: String(101 + (i % 3)), name: `Товар ${i % 3}`, price: '100.00', quantity: 1 + (i % 2), vatRate: 0.22 }],
        paymentSource: i % 2 ? 'PAY_CARD' : 'PAY_CASH',
        at: now - 24 * HOUR + Math.floor(((i + 0.5) / DOCUMENTS) * 24 * HOUR) - 60_000,
      });
      docs.push({ storeId: store.id, terminalStoreId: store.evotorStoreId!, deviceId, id: sale.id });
    }
    const missing = new Set(docs.filter((_, i) => i % Math.max(1, Math.round(1 / MISSING)) === 7).map((d) => d.id));
    const orders = Array.from({ length: ORDERS }, (_, i) => {
      const store = Number(config.stores[i % STORES].bitrixStoreId);
      return bitrix.createOrder({
        statusId: 'N',
        basket: [{ productId: 101, name: 'Кофемолка ручная', price: '2490.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: store, quantity: 1 }] }],
        payments: [{ paySystemId: 10 }],
      });
    });
    const missed = new Set(orders.filter((_, i) => i % Math.max(1, Math.floor(ORDERS / Math.max(1, MISSED_EVENTS))) === 3).slice(0, MISSED_EVENTS).map((o) => String(o.id)));
    say(`  seeded ${docs.length} documents and ${orders.length} orders in the simulators in ${round((Date.now() - t0) / 1000, 1)} s`);

    // What the workflows already know: one record per document and per order, on a queue no worker polls.
    const t1 = Date.now();
    const known = [
      ...docs.filter((d) => !missing.has(d.id)).map((d) => terminalReceiptWorkflowId(d.terminalStoreId, d.id)),
      ...orders.filter((o) => !missed.has(String(o.id))).map((o) => posPaymentWorkflowId(String(o.id))),
    ];
    await mapLimit(known, SEED_CONCURRENCY, (workflowId) =>
      client.workflow.start(workflowId.startsWith('pos-payment:') ? 'posPaymentWorkflow' : 'terminalReceiptWorkflow', {
        workflowId,
        taskQueue: UNPOLLED,
        args: [{ seededByBenchmark: true }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      }),
    );
    await waitFor('the records in visibility', async () => (await client.workflow.count(`TaskQueue = "${UNPOLLED}"`)).count >= known.length, 600_000);
    say(`  recorded ${known.length} known workflows in ${round((Date.now() - t1) / 1000, 1)} s`);

    // The whole day and everything seeded, once it is older than `settle` (1 s).
    await new Promise((r) => setTimeout(r, 1_500));
    const window = { from: new Date(now - 25 * HOUR).toISOString(), to: new Date().toISOString() };
    const bitrixBefore = bitrix.requestCounts();
    const t2 = Date.now();
    const first = await client.workflow.execute(reconciliationWorkflow, { workflowId: 'bench-reconciliation-1', taskQueue: TASK_QUEUES.workflows, args: [{ kind: 'manual', ...window }] });
    const seconds = (Date.now() - t2) / 1000;
    const bitrixAfter = bitrix.requestCounts();
    const history = await historyOf('bench-reconciliation-1');
    const t3 = Date.now();
    const second = await client.workflow.execute(reconciliationWorkflow, { workflowId: 'bench-reconciliation-2', taskQueue: TASK_QUEUES.workflows, args: [{ kind: 'manual', ...window }] });
    const secondSeconds = (Date.now() - t3) / 1000;

    const found = totalFound(first.counts);
    const outside = first.requests.evotor + (bitrixAfter.total - bitrixBefore.total);
    const result = {
      documents: first.totals.terminalDocuments,
      stores: STORES,
      bitrix_payments: first.totals.bitrixPayments,
      seconds: round(seconds),
      documents_per_s: round(first.totals.terminalDocuments / seconds),
      evotor_requests: first.requests.evotor,
      bitrix_requests: bitrixAfter.total - bitrixBefore.total,
      bitrix_rate_limit_rejections: bitrixAfter.rateLimited - bitrixBefore.rateLimited,
      requests_per_document: round(outside / first.totals.terminalDocuments, 4),
      temporal_calls: first.requests.temporal,
      activity_calls: first.pages,
      history_events: history.events,
      largest_run_history_events: history.largest,
      continue_as_new: first.continuedAsNew,
      healed: found.healed,
      healed_expected: missing.size + missed.size,
      reported: found.reported,
      second_run_seconds: round(secondSeconds),
      second_run_healed: totalFound(second.counts).healed,
      problems: [...first.problems, ...second.problems],
    };
    say('');
    say(`  documents               ${result.documents} (${STORES} stores), Bitrix POS payments ${result.bitrix_payments}`);
    say(`  seconds                 ${result.seconds} (${result.documents_per_s} documents/s)`);
    say(`  outside requests        Evotor ${result.evotor_requests}, Bitrix ${result.bitrix_requests} (${result.bitrix_rate_limit_rejections} rate-limit answers): ${result.requests_per_document} per document`);
    say(`  Temporal                ${result.temporal_calls} calls from activities, ${result.activity_calls} activity calls`);
    say(`  history events          ${result.history_events} in all, ${result.largest_run_history_events} in the largest run; continue-as-new ${result.continue_as_new}×`);
    say(`  healed / expected       ${result.healed} / ${result.healed_expected}; reported ${result.reported}`);
    say(`  second run              ${result.second_run_seconds} s, healed ${result.second_run_healed}`);
    say(JSON.stringify(result));
    if (result.healed !== result.healed_expected || result.second_run_healed !== 0 || result.problems.length) {
      say(`  unexpected: ${JSON.stringify(first.items.map((i) => `${i.class}:${i.key}:${i.action}`))}`);
      process.exitCode = 1;
    }

    async function historyOf(workflowId: string): Promise<{ events: number; largest: number }> {
      let events = 0;
      let largest = 0;
      for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
        events += wf.historyLength;
        largest = Math.max(largest, wf.historyLength);
      }
      return { events, largest };
    }
  } finally {
    await stack.stop();
    await temporal.teardown();
  }
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
