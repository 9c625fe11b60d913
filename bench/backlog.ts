import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { BitrixClient } from '../activities/bitrix/client';
import { sign } from '../api/signature';
import type { MiddlewareReceipt } from '../api/routes/middleware';
import { ELEMENTS_PER_DOCUMENT } from '../domain/walk-in';
import { freePort } from '../lib/ports';
import { prepareNamespace } from '../lib/namespace-admin';
import { startNodeProcess, waitForPollers } from '../lib/processes';
import { startCluster, stopCluster } from '../lib/temporal-cluster';
import { startLocalTemporal } from '../lib/temporal-env';
import { startBitrixSimulator } from '../simulators/bitrix';
import { startEvotorSimulator } from '../simulators/evotor/simulator';
import { seededRandom } from '../lib/random';

// npm run bench:backlog — an offline backlog of walk-in receipts (1–6 lines, ~3 on average, a share
// delivered twice) through the real API and worker processes into the Bitrix simulator enforcing its rate
// limit, side by side with a naive client making one request per Bitrix call per receipt. Prints figures,
// then one JSON line. Environment: BENCH_RECEIPTS (10000), BENCH_SCALE (rate-limit scale, 1 = cloud's
// 2 req/s, burst 50), BENCH_DUPLICATES (0.1), BENCH_NAIVE_RECEIPTS (receipts for the naive run), BENCH_PRODUCTS (200),
// BENCH_DOOR (middleware | evotor), BENCH_TEMPORAL (dev: the embedded dev server | cluster: npm run cluster's
// Temporal on PostgreSQL, a fresh namespace per run).

const RECEIPTS = Number(process.env.BENCH_RECEIPTS ?? 10_000);
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const DUPLICATES = Number(process.env.BENCH_DUPLICATES ?? 0.1);
const NAIVE_RECEIPTS = Number(process.env.BENCH_NAIVE_RECEIPTS ?? Math.max(50, Math.round(60 * SCALE)));
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 200);
/** middleware: batches of 500 through the signed door; evotor: an offline Evotor terminal comes back online (one webhook per receipt). */
const DOOR = process.env.BENCH_DOOR === 'evotor' ? 'evotor' : 'middleware';
const EVOTOR_STORE = 'bench-evotor-1';
const EVOTOR_DEVICE = 'bench-device-1';
const RPS = 2 * SCALE;
const BURST = 50 * SCALE;
const POST_BATCH = 500;
const ROOT = resolve(__dirname, '..');
const TEMPORAL = process.env.BENCH_TEMPORAL === 'cluster' ? 'cluster' : 'dev';

interface BenchTemporal {
  address: string;
  namespace: string;
  client: Client;
  teardown(): Promise<void>;
}

/** The embedded dev server, or the cluster of `npm run cluster` (started when it is not running) with a namespace of the run's own. */
async function startTemporal(): Promise<BenchTemporal> {
  if (TEMPORAL === 'dev') {
    const env = await startLocalTemporal({});
    return { address: env.address, namespace: 'default', client: env.client, teardown: () => env.teardown() };
  }
  const cluster = await startCluster((line) => say(`  cluster: ${line}`));
  const namespace = `bench-${Date.now().toString(36)}`;
  const connection = await Connection.connect({ address: cluster.info.temporalAddress });
  await prepareNamespace(connection, namespace, 86_400);
  return {
    address: cluster.info.temporalAddress,
    namespace,
    client: new Client({ connection, namespace }),
    teardown: async () => {
      await connection.workflowService.describeNamespace({ namespace }).then(() => connection.operatorService.deleteNamespace({ namespace })).catch(() => undefined);
      await connection.close();
      if (cluster.started.length) await stopCluster();
    },
  };
}


function makeBacklog(count: number, storeId: string, seed: number): MiddlewareReceipt[] {
  const rnd = seededRandom(seed);
  const lineCounts = [1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6]; // ~3.25 lines on average
  const start = Date.parse('2026-11-29T06:00:00Z');
  return Array.from({ length: count }, (_, i) => {
    const n = lineCounts[Math.floor(rnd() * lineCounts.length)];
    const products = new Set<number>();
    while (products.size < n) products.add(1 + Math.floor(rnd() * PRODUCTS));
    const lines = [...products].map((p) => ({ productId: String(1000 + p), name: `Товар ${p}`, quantity: 1 + Math.floor(rnd() * 3), price: 10_000 + p * 100 }));
    return {
      receiptId: `${storeId}-offline-${seed}-${i}`,
      storeId,
      deviceId: 'terminal-1',
      type: 'SELL' as const,
      dateTime: new Date(start + i * 2_000).toISOString(),
      total: lines.reduce((s, l) => s + l.price * l.quantity, 0),
      currency: 'RUB',
      paymentType: 'card' as const,
      lines,
    };
  });
}

function expectedDeductions(receipts: MiddlewareReceipt[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of receipts) for (const l of r.lines) m.set(l.productId, (m.get(l.productId) ?? 0) + l.quantity);
  return m;
}

function peakRssMb(child: ChildProcess): number {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return NaN;
  }
}

function startProcess(script: string, env: Record<string, string>): ChildProcess {
  return startNodeProcess(script, env);
}

async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The baseline: one request per Bitrix call, per receipt, paced to the rate limit like a careful client. */
async function runNaive(restUrl: string, receipts: MiddlewareReceipt[], warehouse: string) {
  const client = new BitrixClient({ restUrl, maxAttempts: 20, retryBaseDelayMs: 250 });
  const interval = 1000 / RPS;
  let next = Date.now();
  let requests = 0;
  const paced = async <T>(fn: () => Promise<T>) => {
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    next = Math.max(next, Date.now()) + interval;
    requests++;
    return fn();
  };
  const t0 = Date.now();
  for (const r of receipts) {
    const id = await paced(() => client.addDocument({ docType: 'D', currency: 'RUB', responsibleId: '1', title: `naive ${r.receiptId}` }));
    for (const l of r.lines) await paced(() => client.addDocumentElement({ docId: id, elementId: l.productId, storeFrom: warehouse, amount: l.quantity }));
    await paced(() => client.conductDocument(id));
  }
  return { seconds: (Date.now() - t0) / 1000, requests };
}

async function main(): Promise<void> {
  const dir = join(ROOT, '.data', 'bench');
  mkdirSync(dir, { recursive: true });
  say(`backlog benchmark (${DOOR} door, Temporal ${TEMPORAL === 'cluster' ? 'cluster' : 'dev server'}): ${RECEIPTS} receipts (+${Math.round(DUPLICATES * 100)}% delivered twice), ${PRODUCTS} products; Bitrix limit ${RPS} req/s, burst ${BURST} (scale ${SCALE}× the cloud's 2/s, 50)`);

  const temporal = await startTemporal();
  const bitrix = await startBitrixSimulator({ port: 0, rateLimit: { rps: RPS, burst: BURST } });
  const evotorToken = randomBytes(16).toString('hex');
  // The terminal's catalog as a catalog sync leaves it: each product's code is its Bitrix id.
  const evotor = await startEvotorSimulator({
    port: 0,
    token: evotorToken,
    rateLimit: false,
    stores: [{ id: EVOTOR_STORE, name: 'Bench', products: Array.from({ length: PRODUCTS }, (_, i) => ({ name: `Товар ${i + 1}`, code: String(1001 + i), price: '100.00' })) }],
    devices: [{ id: EVOTOR_DEVICE, storeId: EVOTOR_STORE }],
  });
  const hookToken = randomBytes(16).toString('hex');
  bitrix.addStore({ id: 1, title: 'Pickup (pipeline)' });
  bitrix.addStore({ id: 2, title: 'Pickup (naive)' });
  for (let p = 1; p <= PRODUCTS; p++) {
    bitrix.setStock({ productId: 1000 + p, storeId: 1, amount: 1_000_000 });
    bitrix.setStock({ productId: 1000 + p, storeId: 2, amount: 1_000_000 });
  }
  const configPath = join(dir, 'pos.yaml');
  writeFileSync(
    configPath,
    [
      'bitrix: { posPaySystemIds: ["10"], statuses: { awaitingPayment: WP, paid: P } }',
      'stores:',
      '  - { id: bench-1, name: Bench pickup, bitrixStoreId: "1", evotorStoreId: bench-evotor-1 }',
      '',
    ].join('\n'),
  );
  const keys = `bench:${randomBytes(24).toString('hex')}`;
  const apiPort = await freePort();
  const env = {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    BITRIX_REST_URL: bitrix.url,
    BITRIX_RATE_LIMIT_RPS: String(RPS),
    BITRIX_RATE_LIMIT_BURST: String(BURST),
    EVOTOR_API_URL: evotor.url,
    EVOTOR_TOKEN: evotorToken,
    POS_CONFIG: configPath,
    MIDDLEWARE_KEYS: keys,
    EVOTOR_WEBHOOK_TOKEN: hookToken,
    API_PORT: String(apiPort),
  };
  // Worker processes as in production: receipt/order workflows, the per-store deductions workflows (a burst of
  // receipt workflows must never starve them), and outside-system activities.
  const worker = startProcess('workers/main.ts', { ...env, WORKER_TASK_QUEUES: 'pos-workflows' });
  const deductionsWorker = startProcess('workers/main.ts', { ...env, WORKER_TASK_QUEUES: 'pos-deductions' });
  const activityWorker = startProcess('workers/main.ts', { ...env, WORKER_TASK_QUEUES: 'bitrix,evotor,fiscal' });
  const api = startProcess('api/main.ts', env);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const cleanup = async () => {
    for (const p of [worker, deductionsWorker, activityWorker, api]) p.kill('SIGTERM');
    await bitrix.close();
    await evotor.close();
    await temporal.teardown();
  };
  try {
    await waitFor('the API', async () => {
      try {
        return (await request(`${apiUrl}/readyz`)).statusCode === 200;
      } catch {
        return false;
      }
    }, 60_000);

    // The worker bundles the workflow code at start: wait until it polls every task queue.
    await waitForPollers(temporal.client, temporal.namespace, [{ name: 'pos-workflows' }, { name: 'pos-deductions' }, { name: 'bitrix', activities: true }]);

    const backlog = makeBacklog(RECEIPTS, 'bench-1', 1);
    const rnd = seededRandom(7);
    const deliveries = [...backlog, ...backlog.filter(() => rnd() < DUPLICATES)];
    const lines = backlog.reduce((s, r) => s + r.lines.length, 0);
    const expected = expectedDeductions(backlog);
    const before = bitrix.requestCounts();

    const [keyId, secret] = [keys.slice(0, keys.indexOf(':')), keys.slice(keys.indexOf(':') + 1)];
    const answers = { accepted: 0, duplicate: 0, rejected: 0 };
    let t0 = Date.now();
    if (DOOR === 'evotor') {
      // Rung while offline (not timed), then the terminal comes online: one upload, one webhook per receipt,
      // each delivered twice with BENCH_DUPLICATES' probability.
      evotor.configureWebhook({ url: `${apiUrl}/webhooks/evotor/receipts`, token: hookToken, duplicateRate: DUPLICATES });
      evotor.setOffline(EVOTOR_DEVICE);
      for (const r of backlog)
        evotor.sell(EVOTOR_DEVICE, {
          items: r.lines.map((l) => ({ productId: l.productId, name: l.name, price: (l.price! / 100).toFixed(2), quantity: l.quantity })),
          paymentSource: 'PAY_CARD',
          at: Date.parse(r.dateTime),
        });
      t0 = Date.now();
      evotor.setOnline(EVOTOR_DEVICE);
      void evotor.flush().then(() => {
        const d = evotor.state.deliveries;
        say(`  Evotor delivered ${d.length} receipts in ${d.reduce((n, x) => n + x.attempts.length, 0)} webhook calls, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      });
    } else {
      for (let i = 0; i < deliveries.length; i += POST_BATCH) {
        const body = JSON.stringify({ receipts: deliveries.slice(i, i + POST_BATCH) });
        const ts = Math.floor(Date.now() / 1000);
        const res = await request(`${apiUrl}/middleware/v1/receipts/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-pos-key-id': keyId, 'x-pos-timestamp': String(ts), 'x-pos-signature': `v1=${sign(secret, ts, body)}` },
          body,
        });
        const json = (await res.body.json()) as { results: { status: keyof typeof answers }[] };
        for (const r of json.results) answers[r.status]++;
      }
    }
    const acceptedAt = (Date.now() - t0) / 1000;
    if (DOOR === 'middleware')
      say(`  delivered ${deliveries.length} receipts in ${acceptedAt.toFixed(1)} s: ${answers.accepted} accepted, ${answers.duplicate} duplicate, ${answers.rejected} rejected`);

    const deducted = () => {
      let total = 0;
      for (const s of bitrix.snapshot().stock) if (s.storeId === 1) total += 1_000_000 - s.amount;
      return total;
    };
    const want = [...expected.values()].reduce((a, b) => a + b, 0);
    let lastReport = Date.now();
    const progressEvery = Number(process.env.BENCH_PROGRESS_S ?? 15) * 1000;
    await waitFor('the backlog in Bitrix', async () => {
      if (Date.now() - lastReport > progressEvery) {
        lastReport = Date.now();
        const q = await temporal.client.workflow
          .getHandle('walk-in-deductions:bench-1')
          .query<{ queued: number; inFlight: number; batches: number }>('status')
          .catch(() => undefined);
        say(`  … ${deducted()} of ${want} units written off after ${((Date.now() - t0) / 1000).toFixed(0)} s; Bitrix requests ${bitrix.requestCounts().total - before.total}; deductions queue ${q ? `${q.queued} queued, ${q.inFlight} in flight, ${q.batches} batches` : 'n/a'}`);
      }
      return deducted() >= want;
    }, 3 * 3_600_000);
    const seconds = (Date.now() - t0) / 1000;
    // How the deductions workflow fared: a task that timed out or failed means it was starved.
    const history = await temporal.client.workflow.getHandle('walk-in-deductions:bench-1').fetchHistory();
    const kinds = new Map<string, number>();
    for (const e of history.events ?? []) {
      const kind = Object.keys(e).find((k) => k.endsWith('EventAttributes'))?.replace('EventAttributes', '') ?? 'other';
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    const pick = (k: string) => kinds.get(k) ?? 0;
    const firstAt = (k: string) => {
      const e = (history.events ?? []).find((ev) => Object.keys(ev).includes(`${k}EventAttributes`));
      const t = e?.eventTime;
      return t ? `${((Number(t.seconds) * 1000 + Math.round((t.nanos ?? 0) / 1e6) - t0) / 1000).toFixed(1)} s` : '-';
    };
    say(`  first signal/update ${firstAt('workflowExecutionSignaled')}/${firstAt('workflowExecutionUpdateAccepted')}, first batch scheduled ${firstAt('activityTaskScheduled')}, started ${firstAt('activityTaskStarted')}, completed ${firstAt('activityTaskCompleted')}`);
    say(`  deductions workflow (current run): ${history.events?.length ?? 0} events — ${pick('workflowExecutionSignaled')} signals, ${pick('workflowExecutionUpdateAccepted')} updates, ${pick('workflowTaskCompleted')} tasks completed, ${pick('workflowTaskTimedOut')} timed out, ${pick('workflowTaskFailed')} failed`);
    await new Promise((r) => setTimeout(r, 2_000)); // anything written late would be a double deduction
    const after = bitrix.requestCounts();
    const stock = bitrix.snapshot().stock.filter((s) => s.storeId === 1);
    const stockCorrect = stock.every((s) => 1_000_000 - s.amount === (expected.get(String(s.productId)) ?? 0));
    const requests = after.total - before.total;
    const rejections = after.rateLimited - before.rateLimited;
    const workerRss = peakRssMb(worker);
    const activityWorkerRss = peakRssMb(activityWorker);
    const deductionsWorkerRss = peakRssMb(deductionsWorker);
    const apiRss = peakRssMb(api);

    say(`  naive baseline: ${NAIVE_RECEIPTS} receipts, one request per call…`);
    const naiveBacklog = makeBacklog(NAIVE_RECEIPTS, 'naive', 2);
    const naiveBefore = bitrix.requestCounts();
    const naive = await runNaive(bitrix.url, naiveBacklog, '2');
    const naiveAfter = bitrix.requestCounts();
    const naiveLines = naiveBacklog.reduce((s, r) => s + r.lines.length, 0);
    const naiveExpected = expectedDeductions(naiveBacklog);
    const naiveCorrect = bitrix.snapshot().stock.filter((s) => s.storeId === 2).every((s) => 1_000_000 - s.amount === (naiveExpected.get(String(s.productId)) ?? 0));

    const best = RPS * ELEMENTS_PER_DOCUMENT;
    const result = {
      door: DOOR,
      temporal: TEMPORAL,
      scale: SCALE,
      allowed_rps: RPS,
      lines_per_request_at_best: ELEMENTS_PER_DOCUMENT,
      receipts: RECEIPTS,
      deliveries: DOOR === 'evotor' ? evotor.state.deliveries.reduce((n, x) => n + x.attempts.length, 0) : deliveries.length,
      lines,
      seconds: round(seconds),
      receipts_per_s: round(RECEIPTS / seconds),
      lines_per_s: round(lines / seconds),
      bitrix_requests: requests,
      lines_per_request: round(lines / requests),
      rate_limit_rejections: rejections,
      worker_peak_rss_mb: workerRss,
      activity_worker_peak_rss_mb: activityWorkerRss,
      deductions_worker_peak_rss_mb: deductionsWorkerRss,
      api_peak_rss_mb: apiRss,
      utilization: round(lines / seconds / best, 3),
      stock_correct: stockCorrect,
      naive_receipts: NAIVE_RECEIPTS,
      naive_lines_per_s: round(naiveLines / naive.seconds),
      naive_bitrix_requests: naive.requests,
      naive_rate_limit_rejections: naiveAfter.rateLimited - naiveBefore.rateLimited,
      naive_utilization: round(naiveLines / naive.seconds / best, 4),
      naive_stock_correct: naiveCorrect,
      speedup: round(lines / seconds / (naiveLines / naive.seconds), 1),
    };
    say('');
    say(`                    pipeline        naive`);
    say(`  receipts/s        ${pad(result.receipts_per_s)}${pad(round(NAIVE_RECEIPTS / naive.seconds))}`);
    say(`  lines/s           ${pad(result.lines_per_s)}${pad(result.naive_lines_per_s)}`);
    say(`  Bitrix requests   ${pad(requests)}${pad(naive.requests)}   (naive for ${NAIVE_RECEIPTS} receipts only)`);
    say(`  lines/request     ${pad(result.lines_per_request)}${pad(round(naiveLines / naive.requests))}`);
    say(`  429/503 answers   ${pad(rejections)}${pad(result.naive_rate_limit_rejections)}`);
    say(`  utilization       ${pad(result.utilization)}${pad(result.naive_utilization)}   (lines/s ÷ ${RPS} req/s × ${ELEMENTS_PER_DOCUMENT} lines)`);
    say(`  stock correct     ${pad(String(stockCorrect))}${pad(String(naiveCorrect))}`);
    say(`  peak RSS          workflow worker ${workerRss} MB, deductions worker ${deductionsWorkerRss} MB, activity worker ${activityWorkerRss} MB, API ${apiRss} MB`);
    say(JSON.stringify(result));
    if (!stockCorrect) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const pad = (v: unknown) => String(v).padEnd(16);
function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
