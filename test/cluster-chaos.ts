import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { request } from 'undici';
import type { MiddlewareReceipt } from '../api/routes/middleware';
import { loadEnv, parsePosConfig } from '../lib/config';
import { buildLogger } from '../lib/logger';
import { prepareNamespace } from '../lib/namespace-admin';
import { freePort } from '../lib/ports';
import { exited, startNodeProcess, waitForPollers } from '../lib/processes';
import { startStack, type Stack } from '../app/stack';
import { restartTemporalServer, startCluster, stopCluster } from '../lib/temporal-cluster';
import { postSignedBatch } from './support/middleware';
import { pollUntil } from '../lib/poll';
import { seededRandom } from '../lib/random';

// npm run test:cluster — the chaos run against `npm run cluster`: the API and two worker processes split by
// WORKER_TASK_QUEUES, the simulators with faults, a burst of order payments (Evotor webhooks with bitrixOrderId
// extras, middleware receipts) and walk-in sales with duplicates, late duplicates and out-of-order deliveries,
// while a worker is killed (-9) and restarted and the Temporal server restarts. Then the simulators' state must
// show every order paid once, every ATOL receipt registered once, every stock line written off once, and nothing
// left running. Prints one JSON line; exits non-zero on anything lost, doubled or stuck.
// Environment: CHAOS_ORDERS (48), CHAOS_WALKINS (160), CHAOS_DEADLINE_S (300).

const ORDERS = Number(process.env.CHAOS_ORDERS ?? 48);
const WALKINS = Number(process.env.CHAOS_WALKINS ?? 160);
const DEADLINE_MS = Number(process.env.CHAOS_DEADLINE_S ?? 300) * 1000;
const ROOT = resolve(__dirname, '..');
const DIR = join(ROOT, '.data', 'chaos');
const EVOTOR_STORE = '20240101-0000-4000-8000-0000000000a1';
const EVOTOR_DEVICE = '20240101-0000-4000-8000-0000000000b1';
const INITIAL_STOCK = 1_000_000;
const BITRIX_RPS = 20;
const PRODUCTS = [
  { productId: 101, name: 'Кофемолка ручная', price: 249_000 },
  { productId: 102, name: 'Кофе в зёрнах 1 кг', price: 159_050 },
  { productId: 103, name: 'Книга «Кофе»', price: 79_900 },
];

const POS_CONFIG = `
bitrix: { posPaySystemIds: ["10"], statuses: { awaitingPayment: WP, paid: P, canceled: CN } }
payment: { deadline: 3d, fiscalDeadline: 30m }
stores:
  - id: msk-1
    name: Pickup Evotor
    bitrixStoreId: "1"
    terminalKind: evotor
    evotorStoreId: "${EVOTOR_STORE}"
    evotorDeviceIds: ["${EVOTOR_DEVICE}"]
    fiscalMode: atol
    company: { inn: "7701234567", email: shop@example.ru, sno: osn, paymentAddress: "https://shop.example.ru" }
  - id: mw-2
    name: Pickup middleware
    bitrixStoreId: "2"
    terminalKind: middleware
    fiscalMode: atol
    company: { inn: "7701234567", email: shop@example.ru, sno: osn, paymentAddress: "https://shop.example.ru" }
`;

const say = (line: string) => process.stdout.write(`${line}\n`);
// Ctrl-C ends the run at its next wait, so that the worker processes and the cluster it started are stopped.
let interrupted = false;
process.once('SIGINT', () => (interrupted = true));
async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  if (interrupted) throw new Error('interrupted');
}
const rub = (kopecks: number) => (kopecks / 100).toFixed(2);

const rnd = seededRandom(13);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

interface Line {
  productId: number;
  quantity: number;
}
interface PlannedOrder {
  id: number;
  store: 'evotor' | 'middleware';
  lines: Line[];
  total: number;
  receiptId?: string;
}
interface PlannedWalkIn {
  key: string;
  store: 'evotor' | 'middleware';
  bitrixStoreId: number;
  lines: Line[];
  total: number;
}

const priceOf = (productId: number) => PRODUCTS.find((p) => p.productId === productId)!.price;
const totalOf = (lines: Line[]) => lines.reduce((s, l) => s + priceOf(l.productId) * l.quantity, 0);

/**
 * Between the Evotor cloud and our API: forwards each webhook and keeps its body, so that the run can deliver
 * it again long after it was processed (a late duplicate, as Evotor does after an outage of its own).
 */
async function startWebhookRecorder(target: () => string): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      request(target(), { method: 'POST', headers: { 'content-type': 'application/json', authorization: String(req.headers.authorization ?? '') }, body })
        .then(async (r) => {
          const text = await r.body.text();
          if (r.statusCode === 200) bodies.push(body);
          res.writeHead(r.statusCode, { 'content-type': 'application/json' }).end(text);
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/evotor/receipts`,
    bodies,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The middleware's side: a batch is sent again until the door answers it (as the contract asks of it). */
async function postUntilAnswered(apiUrl: string, keys: string, receipts: MiddlewareReceipt[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await postSignedBatch(apiUrl, keys, receipts, { idempotencyKey: `chaos-${randomBytes(6).toString('hex')}` });
      if (res.status === 200) {
        const rejected = res.body.results!.filter((r) => r.status === 'rejected');
        if (rejected.length) throw new Error(`middleware receipts rejected: ${JSON.stringify(rejected.slice(0, 3))}`);
        return;
      }
    } catch (e) {
      if ((e as Error).message.startsWith('middleware receipts rejected')) throw e;
    }
    await sleep(Math.min(5_000, 300 * attempt));
  }
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const t0 = Date.now();
  const cluster = await startCluster(say);
  try {
    await run(cluster.info.temporalAddress, t0);
  } finally {
    // Leaves a cluster that was running before as it was.
    if (cluster.started.length) await stopCluster();
  }
}

async function run(temporalAddress: string, t0: number): Promise<void> {
  // A namespace of its own: every run starts from empty order and receipt ids.
  const namespace = `chaos-${Date.now().toString(36)}`;
  const admin = await Connection.connect({ address: temporalAddress });
  await prepareNamespace(admin, namespace, 86_400);

  const configPath = join(DIR, 'pos.yaml');
  writeFileSync(configPath, POS_CONFIG);
  const secrets = {
    EVOTOR_TOKEN: randomBytes(16).toString('hex'),
    EVOTOR_APP_ID: 'chaos-terminal-app',
    ATOL_LOGIN: 'chaos-login',
    ATOL_PASSWORD: randomBytes(12).toString('hex'),
    ATOL_GROUP_CODE: 'chaos-group',
    FERMA_LOGIN: 'chaos-login',
    FERMA_PASSWORD: randomBytes(12).toString('hex'),
    MIDDLEWARE_KEYS: `chaos:${randomBytes(24).toString('hex')}`,
    EVOTOR_WEBHOOK_TOKEN: randomBytes(16).toString('hex'),
  };
  const apiPort = await freePort();
  const logger = buildLogger({ level: 'error' });
  // The API and the simulators in this process (lib/stack), no workers: those are separate processes below.
  const stack: Stack = await startStack({
    env: loadEnv({ ...secrets, API_PORT: String(apiPort), BITRIX_RATE_LIMIT_RPS: String(BITRIX_RPS), BITRIX_RATE_LIMIT_BURST: '100' }),
    config: parsePosConfig(POS_CONFIG, 'yaml', 'chaos config'),
    logger,
    temporalAddress,
    namespace,
    workerTaskQueues: [],
    ports: { api: apiPort },
    fiscalProcessingDelayMs: 300,
  });
  const bitrix = stack.bitrix!;
  const evotor = stack.evotor!;
  const atol = stack.atol!;
  for (const storeId of [1, 2]) for (const p of PRODUCTS) bitrix.setStock({ productId: p.productId, storeId, amount: INITIAL_STOCK });
  const recorder = await startWebhookRecorder(() => `${stack.apiUrl}/webhooks/evotor/receipts`);
  // Evotor resends what was not answered 200 for a long time; the door is down while Temporal restarts.
  evotor.configureWebhook({ url: recorder.url, token: secrets.EVOTOR_WEBHOOK_TOKEN, duplicateRate: 0.25, maxAttempts: 60, retryDelayMs: 1_000 });

  const workerEnv = {
    ...secrets,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    BITRIX_REST_URL: bitrix.url,
    BITRIX_RATE_LIMIT_RPS: String(BITRIX_RPS),
    EVOTOR_API_URL: evotor.url,
    ATOL_API_URL: atol.url,
    FERMA_API_URL: stack.ferma!.url,
    POS_CONFIG: configPath,
    PUBLIC_BASE_URL: stack.apiUrl,
  };
  const roles = {
    workflows: { queues: 'pos-workflows,pos-deductions', log: join(DIR, 'worker-workflows.log') },
    activities: { queues: 'bitrix,evotor,fiscal', log: join(DIR, 'worker-activities.log') },
  } as const;
  const workers: Record<keyof typeof roles, ChildProcess> = {
    workflows: startNodeProcess('workers/main.ts', { ...workerEnv, WORKER_TASK_QUEUES: roles.workflows.queues }, roles.workflows.log),
    activities: startNodeProcess('workers/main.ts', { ...workerEnv, WORKER_TASK_QUEUES: roles.activities.queues }, roles.activities.log),
  };
  const client = stack.client;
  let kills = 0;
  let restarts = 0;
  const cleanup = async () => {
    for (const w of Object.values(workers)) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await Promise.all(Object.values(workers).map(exited));
    await recorder.close();
    await stack.stop();
    await admin.close();
  };

  try {
    await waitForPollers(client, namespace, [
      { name: 'pos-workflows' },
      { name: 'pos-deductions' },
      { name: 'bitrix', activities: true },
      { name: 'evotor', activities: true },
      { name: 'fiscal', activities: true },
    ]);
    say(`chaos run: cluster ${temporalAddress}, namespace ${namespace}; 2 worker processes (${roles.workflows.queues} | ${roles.activities.queues}); ${ORDERS} orders, ${WALKINS} walk-in sales`);

    // Outside systems misbehave from the start: Bitrix refuses some calls and applies others but loses the answer.
    bitrix.setFaults({ errorRate: 0.08, applyThenLoseRate: 0.05 });
    atol.setFaults({ applyThenLoseRate: 0.1, operation: 'sell' });

    // Orders placed before the burst: each reaches AWAITING_PAYMENT (the rest race their payment: out of order).
    const orders: PlannedOrder[] = [];
    const placeOrder = (i: number): PlannedOrder => {
      const store = i % 2 === 0 ? 'evotor' : 'middleware';
      const quantity = 1 + (i % 3);
      const lines = [{ productId: 101, quantity }];
      const o = bitrix.createOrder({
        basket: lines.map((l) => ({ productId: l.productId, name: PRODUCTS[0].name, price: rub(priceOf(l.productId)), quantity: l.quantity, vatRate: 0.22, reservations: [{ storeId: store === 'evotor' ? 1 : 2, quantity: l.quantity }] })),
        payments: [{ paySystemId: 10 }],
        propertyValues: [{ code: 'EMAIL', value: `buyer${i}@example.ru` }],
      });
      const planned: PlannedOrder = { id: o.id, store, lines, total: totalOf(lines) };
      orders.push(planned);
      return planned;
    };
    const early = Math.round(ORDERS * 0.75);
    for (let i = 0; i < early; i++) placeOrder(i);
    await until('the early orders awaiting payment', async () => {
      const waiting = await Promise.all(
        orders.map((o) => client.workflow.getHandle(`pos-payment:${o.id}`).query<{ stage: string }>('status').then((s) => s.stage !== 'LOADING').catch(() => false)),
      );
      return waiting.every(Boolean) ? true : undefined;
    }, 120_000);
    say(`  ${early} orders awaiting payment after ${s(t0)}`);

    // Walk-in sales: amounts that no order awaits (an equal amount would be matched to the order, by design).
    const orderTotals = new Set([1, 2, 3].map((q) => q * PRODUCTS[0].price));
    const walkIns: PlannedWalkIn[] = [];
    for (let i = 0; walkIns.length < WALKINS; i++) {
      const store = i % 2 === 0 ? 'evotor' : 'middleware';
      const lines: Line[] = pick([[102], [103], [102, 103]] as const).map((productId) => ({ productId, quantity: 1 + Math.floor(rnd() * 3) }));
      const total = totalOf(lines);
      if (orderTotals.has(total)) continue;
      walkIns.push({ key: '', store, bitrixStoreId: store === 'evotor' ? 1 : 2, lines, total });
    }

    // The burst, in parallel with the chaos below.
    const evotorLine = (l: Line) => ({ productId: String(l.productId), name: PRODUCTS.find((p) => p.productId === l.productId)!.name, price: rub(priceOf(l.productId)), quantity: l.quantity, vatRate: 0.22 });
    const mwReceipt = (receiptId: string, total: number, lines: Line[], orderId?: string): MiddlewareReceipt => ({
      receiptId,
      storeId: 'mw-2',
      deviceId: 'ingenico-1',
      type: 'SELL',
      dateTime: new Date().toISOString(),
      orderId,
      total,
      currency: 'RUB',
      paymentType: 'card',
      lines: lines.map((l) => ({ productId: String(l.productId), name: `Product ${l.productId}`, quantity: l.quantity, price: priceOf(l.productId) })),
    });
    const middlewareSent: MiddlewareReceipt[] = [];
    const burst = async () => {
      const mwQueue: MiddlewareReceipt[] = [];
      const pay = (o: PlannedOrder) => {
        if (o.store === 'evotor') {
          const r = evotor.sell(EVOTOR_DEVICE, { items: o.lines.map(evotorLine), paymentSource: 'PAY_CARD', extras: { bitrixOrderId: String(o.id) } });
          o.receiptId = r.id;
        } else {
          o.receiptId = `mw-order-${o.id}`;
          mwQueue.push(mwReceipt(o.receiptId, o.total, o.lines, String(o.id)));
        }
      };
      for (const o of orders) pay(o);
      for (let i = 0; i < walkIns.length; i++) {
        const w = walkIns[i];
        if (w.store === 'evotor') {
          const r = evotor.sell(EVOTOR_DEVICE, { items: w.lines.map(evotorLine), paymentSource: 'PAY_CARD' });
          w.key = `${EVOTOR_STORE}:${r.id}`;
        } else {
          const receiptId = `mw-walkin-${i}`;
          w.key = `mw-2:${receiptId}`;
          mwQueue.push(mwReceipt(receiptId, w.total, w.lines));
        }
        // Orders placed now race their own payment: the receipt may come before the order's event does.
        if (i % Math.ceil(walkIns.length / (ORDERS - early)) === 0 && orders.length < ORDERS) pay(placeOrder(orders.length));
        if (i % 20 === 19) await sleep(250);
      }
      while (orders.length < ORDERS) pay(placeOrder(orders.length));
      // Middleware: shuffled batches of 10-40, a fifth of the receipts sent twice (in another batch).
      const deliveries = shuffle([...mwQueue, ...mwQueue.filter(() => rnd() < 0.2)]);
      middlewareSent.push(...mwQueue);
      const posts: Promise<void>[] = [];
      for (let i = 0; i < deliveries.length; ) {
        const size = 10 + Math.floor(rnd() * 30);
        posts.push(postUntilAnswered(stack.apiUrl, secrets.MIDDLEWARE_KEYS, deliveries.slice(i, i + size)));
        i += size;
        await sleep(200);
      }
      await Promise.all(posts);
    };

    const chaos = async () => {
      const killAndRestart = async (role: keyof typeof roles) => {
        workers[role].kill('SIGKILL');
        await exited(workers[role]);
        kills++;
        say(`  kill -9 worker (${roles[role].queues}) at ${s(t0)}`);
        await sleep(1_500);
        workers[role] = startNodeProcess('workers/main.ts', { ...workerEnv, WORKER_TASK_QUEUES: roles[role].queues }, roles[role].log);
      };
      await sleep(2_000);
      await killAndRestart('activities');
      await sleep(6_000);
      say(`  restarting the Temporal server at ${s(t0)}`);
      await restartTemporalServer(() => undefined);
      restarts++;
      say(`  Temporal server back at ${s(t0)}`);
      await sleep(4_000);
      await killAndRestart('workflows');
    };

    await Promise.all([burst(), chaos()]);
    say(`  burst delivered and chaos done at ${s(t0)}`);

    // Done when Bitrix shows every order paid and deducted and every walk-in in a conducted document.
    const evaluate = () => {
      const snap = bitrix.snapshot();
      const docsByKey = new Map<string, number>();
      for (const d of snap.documents) {
        if (d?.docType !== 'D' || d.status !== 'Y') continue;
        for (const key of (d.commentary ?? '').replace(/^POS receipts: /, '').split(', ')) docsByKey.set(key, (docsByKey.get(key) ?? 0) + 1);
      }
      let lost = 0;
      let doubled = 0;
      const problems: string[] = [];
      for (const o of orders) {
        const order = snap.orders.find((x) => x.id === o.id)!;
        const paid = order.payments.filter((p) => p.paid);
        const sells = atol.state.receipts.sell.filter((r) => r.external_id.startsWith(`pos-${o.id}-sell`));
        if (paid.length !== 1 || paid[0].psInvoiceId !== o.receiptId || order.statusId !== 'P' || !order.shipments.filter((sh) => !sh.system).every((sh) => sh.deducted) || sells.length === 0) {
          lost++;
          problems.push(`order ${o.id}: paid ${paid.length} (${paid[0]?.psInvoiceId ?? '-'} vs ${o.receiptId}), status ${order.statusId}, ATOL sells ${sells.length}`);
        }
        if (paid.length > 1 || sells.length > 1) doubled++;
      }
      for (const w of walkIns) {
        const n = docsByKey.get(w.key) ?? 0;
        if (n === 0) lost++;
        if (n > 1) {
          doubled++;
          problems.push(`walk-in ${w.key} in ${n} documents`);
        }
      }
      // The stock is the ledger that cannot lie: each store's products left exactly as many times as sold.
      for (const storeId of [1, 2]) {
        for (const p of PRODUCTS) {
          const want =
            orders.filter((o) => (o.store === 'evotor' ? 1 : 2) === storeId).reduce((n, o) => n + o.lines.filter((l) => l.productId === p.productId).reduce((a, l) => a + l.quantity, 0), 0) +
            walkIns.filter((w) => w.bitrixStoreId === storeId).reduce((n, w) => n + w.lines.filter((l) => l.productId === p.productId).reduce((a, l) => a + l.quantity, 0), 0);
          const got = INITIAL_STOCK - (snap.stock.find((x) => x.storeId === storeId && x.productId === p.productId)?.amount ?? INITIAL_STOCK);
          if (got > want) {
            doubled++;
            problems.push(`store ${storeId} product ${p.productId}: ${got} units written off, ${want} sold`);
          } else if (got < want) problems.push(`store ${storeId} product ${p.productId}: ${got} of ${want} units written off so far`);
        }
      }
      return { lost, doubled, problems };
    };
    let verdict = evaluate();
    let lastReport = Date.now();
    while ((verdict.lost > 0 || verdict.doubled > 0) && Date.now() - t0 < DEADLINE_MS) {
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        say(`  … ${s(t0)}: ${verdict.lost} orders/receipts not through yet`);
      }
      await sleep(1_000);
      verdict = evaluate();
    }
    say(`  all through at ${s(t0)}; sending late duplicates`);

    // Late duplicates: Evotor webhooks and middleware receipts again, long after they were processed.
    const late = recorder.bodies.filter((_, i) => i % 4 === 0);
    for (const body of late) {
      const res = await request(`${stack.apiUrl}/webhooks/evotor/receipts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${secrets.EVOTOR_WEBHOOK_TOKEN}` }, body });
      const answer = (await res.body.json()) as { status?: string };
      if (res.statusCode !== 200 || answer.status !== 'duplicate') verdict.problems.push(`late Evotor duplicate answered ${res.statusCode} ${answer.status}`);
    }
    const lateMw = middlewareSent.filter((_, i) => i % 4 === 1);
    for (let i = 0; i < lateMw.length; i += 25) await postUntilAnswered(stack.apiUrl, secrets.MIDDLEWARE_KEYS, lateMw.slice(i, i + 25));
    await evotor.flush();
    await sleep(8_000); // anything a late duplicate set off would show by now
    verdict = evaluate();

    // Nothing left running but the long-lived ones by design — the per-store deductions workflows (their queues
    // empty), each paid order's refund ledger (idle: it keeps the sale for refunds after retention) and the
    // middleware walk-ins' sales books (open for the return period, for the same reason).
    bitrix.setFaults({});
    atol.setFaults({ applyThenLoseRate: 0 });
    let stuck = await until('the workflows settled', async () => {
      const running: string[] = [];
      for await (const wf of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) if (!['walk-in-deductions:', 'refund-ledger:', 'walk-in-sales:'].some((p) => wf.workflowId.startsWith(p))) running.push(wf.workflowId);
      return running.length === 0 || Date.now() - t0 > DEADLINE_MS ? running : undefined;
    }, DEADLINE_MS);
    for (const store of ['msk-1', 'mw-2']) {
      const q = await client.workflow.getHandle(`walk-in-deductions:${store}`).query<{ queued: number; inFlight: number }>('status');
      if (q.queued + q.inFlight > 0) stuck = [...stuck, `walk-in-deductions:${store} (${q.queued} queued, ${q.inFlight} in flight)`];
    }
    for (const p of verdict.problems.slice(0, 20)) say(`  ! ${p}`);
    for (const w of stuck.slice(0, 20)) say(`  ! still running: ${w}`);

    const receipts = orders.length + walkIns.length;
    const lines = orders.reduce((n, o) => n + o.lines.length, 0) + walkIns.reduce((n, w) => n + w.lines.length, 0);
    const result = {
      orders: orders.length,
      receipts,
      lines,
      kills,
      restarts,
      lost: verdict.lost,
      doubled: verdict.doubled,
      stuck: stuck.length,
      late_duplicates: late.length + lateMw.length,
      bitrix_requests: bitrix.requestCounts().total,
      bitrix_faults: bitrix.requestCounts().faults,
      atol_lost_answers: atol.state.counters.lostAnswers,
      seconds: Math.round((Date.now() - t0) / 1000),
    };
    say(JSON.stringify(result));
    if (result.lost || result.doubled || result.stuck) {
      process.exitCode = 1;
      for (const role of Object.keys(roles) as (keyof typeof roles)[]) {
        const tail = readFileSync(roles[role].log, 'utf8').split('\n').slice(-15).join('\n');
        say(`--- ${roles[role].log} (last lines)\n${tail}`);
      }
    } else {
      await admin.operatorService.deleteNamespace({ namespace }).catch(() => undefined);
    }
  } finally {
    await cleanup();
  }
}

const s = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

/** Polls every 500 ms until `probe` has an answer (lib/poll.ts). */
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => pollUntil(probe, what, timeoutMs, 500);

main().catch((e) => {
  process.stderr.write(`chaos run failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});

