import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import { createLogger, type Logger } from '../../lib/logger';
import { EventSender, type EventDelivery } from './events';
import { CashboxRegistry, type SimCashbox, type SimCashboxHandler, type SimCashboxRule, type SimCheck } from './cashbox';
import { parsePhpQuery } from './php-query';
import { checkScope, methods, renderOrder, timeBlock, type MethodContext } from './rest';
import { BitrixSimState, RestError, type CreateOrderInput, type SimDeal, type SimEventHandler, type SimNotification, type SimTimelineComment, type SimOrder, type SimPaySystem, type SimStatus, type SimStock, type SimStore } from './state';

export interface RateLimit {
  /** Requests drained from the bucket per second (cloud: 2). */
  rps: number;
  /** Requests that may be queued before QUERY_LIMIT_EXCEEDED (cloud: 50). */
  burst: number;
}

export interface BitrixFaults {
  /** Delay before every answer. */
  latencyMs?: number;
  /** Share of requests answered 500 INTERNAL_SERVER_ERROR without being applied. */
  errorRate?: number;
  errorNext?: number;
  /** Share of requests that hang (not applied) until hangMs or the client gives up. */
  timeoutRate?: number;
  timeoutNext?: number;
  hangMs?: number;
  /** Share of requests that are applied and then lose their answer (socket destroyed). */
  applyThenLoseRate?: number;
  applyThenLoseNext?: number;
  /** Limit the faults to one method ("batch" for batches). */
  method?: string;
}

export interface RequestCounts {
  total: number;
  byMethod: Record<string, number>;
  rateLimited: number;
  faults: { error: number; timeout: number; applyThenLose: number };
}

export interface BitrixSimulatorOptions {
  port?: number;
  host?: string;
  webhookUserId?: string;
  webhookCode?: string;
  /** null disables it (on-premise). Default: the cloud's 2 rps, burst 50. */
  rateLimit?: RateLimit | null;
  /** application_token sent with events bound through event.bind. */
  applicationToken?: string;
  memberId?: string;
  eventTimeoutMs?: number;
  /** Scopes granted to the inbound webhook (e.g. ["sale", "catalog", "crm"]); default: every scope. */
  scopes?: string[];
  logger?: Logger;
}

export interface SimSnapshot {
  orders: SimOrder[];
  stores: SimStore[];
  stock: SimStock[];
  documents: ReturnType<BitrixSimState['getDocument']>[];
  statuses: SimStatus[];
  paySystems: SimPaySystem[];
  eventHandlers: SimEventHandler[];
  deals: SimDeal[];
  notifications: SimNotification[];
  notificationLog: SimNotification[];
  timelineComments: SimTimelineComment[];
  inventoryAccounting: boolean;
  eventDeliveries: EventDelivery[];
  /** REST cashboxes: handlers, cashboxes, rules and the checks (each order's "Checks" tab). */
  cashboxes: { handlers: SimCashboxHandler[]; cashboxes: SimCashbox[]; rules: SimCashboxRule[]; checks: SimCheck[] };
}

export interface BitrixSimulator {
  /** Webhook base, e.g. http://127.0.0.1:PORT/rest/1/CODE/ — what BITRIX_REST_URL points to. */
  url: string;
  adminUrl: string;
  port: number;
  applicationToken: string;
  state: BitrixSimState;
  createOrder(input: CreateOrderInput): SimOrder;
  addStore(input: Parameters<BitrixSimState['addStore']>[0]): SimStore;
  setStock(input: Parameters<BitrixSimState['setStock']>[0]): SimStock;
  addStatus(input: Parameters<BitrixSimState['addStatus']>[0]): SimStatus;
  addPaySystem(input: Parameters<BitrixSimState['addPaySystem']>[0]): SimPaySystem;
  addEventHandler(input: { event: string; handler: string; applicationToken?: string }): SimEventHandler;
  addDeal(input: Parameters<BitrixSimState['addDeal']>[0]): SimDeal;
  setFaults(faults: BitrixFaults): void;
  setRateLimit(limit: RateLimit | null): void;
  setInventoryAccounting(on: boolean): void;
  /** The inbound webhook's scopes; null = every scope. */
  setScopes(scopes: string[] | null): void;
  requestCounts(): RequestCounts;
  eventDeliveries(): EventDelivery[];
  /** Waits until every event delivery started so far has an outcome. */
  flushEvents(): Promise<void>;
  /** REST cashboxes: what the bridge registered, the cashbox rules, and the checks Bitrix made and sent to PRINT_URL. */
  cashbox: CashboxRegistry;
  /** A cashbox rule as the shop's administrator sets it in Bitrix. */
  addCashboxRule(rule: SimCashboxRule): void;
  /** The checks of one order, as its "Checks" tab shows them. */
  checksOfOrder(orderId: number): SimCheck[];
  /** A manager adds a check to the order's first payment by hand ("Checks" tab); the cashbox rules pick the cashbox. */
  addCheckByHand(input: { orderId: number; type: SimCheck['type'] }): SimCheck;
  snapshot(): SimSnapshot;
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_RATE_LIMIT: RateLimit = { rps: 2, burst: 50 };

/** Bitrix's leaky bucket: each request adds one, the bucket drains `rps` per second, full means 503. */
class LeakyBucket {
  private level = 0;
  private last = Date.now();

  constructor(readonly limit: RateLimit) {}

  take(): boolean {
    const now = Date.now();
    this.level = Math.max(0, this.level - ((now - this.last) / 1000) * this.limit.rps);
    this.last = now;
    if (this.level + 1 > this.limit.burst) return false;
    this.level += 1;
    return true;
  }
}

export async function startBitrixSimulator(opts: BitrixSimulatorOptions = {}): Promise<BitrixSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const userId = opts.webhookUserId ?? '1';
  const code = opts.webhookCode ?? 'simwebhookcode';
  const applicationToken = opts.applicationToken ?? randomBytes(16).toString('hex');
  const memberId = opts.memberId ?? randomBytes(16).toString('hex');
  const log = opts.logger ?? createLogger('bitrix-sim');
  const initialRateLimit = opts.rateLimit === undefined ? DEFAULT_RATE_LIMIT : opts.rateLimit;

  let port = 0;
  let bucket = initialRateLimit ? new LeakyBucket(initialRateLimit) : null;
  let faults: BitrixFaults = {};
  let counts = emptyCounts();
  const hanging = new Set<Response>();

  const events = new EventSender(
    () => state,
    () => ({ domain: `${host}:${port}`, clientEndpoint: `http://${host}:${port}/rest/`, memberId }),
    log,
    opts.eventTimeoutMs ?? 5_000,
  );
  const state = new BitrixSimState((event, fields) => events.emit(event, fields));
  const cashbox = new CashboxRegistry({ host: () => `${host}:${port}`, log, timeoutMs: opts.eventTimeoutMs ?? 5_000 });
  state.onPaymentUpdated = (order, payment, before) => cashbox.onPaymentUpdated(order, payment, before);

  const ctx: MethodContext = {
    state,
    applicationToken,
    count: (name) => (counts.byMethod[name] = (counts.byMethod[name] ?? 0) + 1),
    userId: Number(userId),
    scopes: opts.scopes ? new Set(opts.scopes) : undefined,
  };

  const pickFault = (method: string): 'error' | 'timeout' | 'applyThenLose' | null => {
    if (faults.method && faults.method.toLowerCase() !== method) return null;
    const hit = (next: 'errorNext' | 'timeoutNext' | 'applyThenLoseNext', rate: number | undefined): boolean => {
      if ((faults[next] ?? 0) > 0) {
        faults[next]! -= 1;
        return true;
      }
      return rate !== undefined && rate > 0 && Math.random() < rate;
    };
    if (hit('timeoutNext', faults.timeoutRate)) return 'timeout';
    if (hit('errorNext', faults.errorRate)) return 'error';
    if (hit('applyThenLoseNext', faults.applyThenLoseRate)) return 'applyThenLose';
    return null;
  };

  const app = express();
  app.disable('x-powered-by');

  app.all('/rest/:userId/:code/:method', express.raw({ type: () => true, limit: '20mb' }), async (req: Request, res: Response) => {
    const started = Date.now();
    if (req.params.userId !== userId || req.params.code !== code) {
      return sendError(res, 401, 'NO_AUTH_FOUND', 'Wrong authorization data');
    }
    const method = String(req.params.method).replace(/\.json$/i, '').toLowerCase();
    counts.total++;
    ctx.count(method);
    if (bucket && !bucket.take()) {
      counts.rateLimited++;
      return sendError(res, 503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
    }
    const handler = methods[method] ?? cashbox.methods[method];
    if (!handler) return sendError(res, 404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
    let params: Record<string, unknown>;
    try {
      params = readParams(req);
    } catch {
      return sendError(res, 400, 'ERROR_ARGUMENT', 'Request body is not valid JSON');
    }
    try {
      checkScope(ctx, method);
    } catch (e) {
      if (e instanceof RestError) return sendError(res, e.status, e.code, e.description);
      throw e;
    }
    const fault = pickFault(method);
    if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));
    if (fault === 'timeout') {
      counts.faults.timeout++;
      hanging.add(res);
      const timer = setTimeout(() => res.socket?.destroy(), faults.hangMs ?? 120_000);
      res.on('close', () => {
        clearTimeout(timer);
        hanging.delete(res);
      });
      return;
    }
    if (fault === 'error') {
      counts.faults.error++;
      return sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
    }
    let out;
    try {
      out = handler(ctx, params);
    } catch (e) {
      if (e instanceof RestError) return sendError(res, e.status, e.code, e.description);
      log.error({ err: e, method }, 'simulator method failed');
      return sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
    }
    if (fault === 'applyThenLose') {
      counts.faults.applyThenLose++;
      log.debug({ method }, 'applied, now losing the answer');
      req.socket.destroy();
      return;
    }
    res.json({
      result: out.result,
      ...(out.total !== undefined ? { total: out.total } : {}),
      ...(out.next !== undefined ? { next: out.next } : {}),
      time: timeBlock(started),
    });
  });

  const admin = express.Router();
  admin.use((req, res, next) => {
    const ip = req.socket.remoteAddress ?? '';
    if (ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.')) return next();
    res.status(403).json({ error: 'admin API is loopback only' });
  });
  admin.use(express.json({ limit: '20mb' }));
  // Admin input is trusted test data: the state's own checks reject what Bitrix would.
  const adminRoute = <B>(path: string, f: (body: B) => unknown) =>
    admin.post(path, (req, res) => {
      try {
        res.status(200).json(f((req.body ?? {}) as B) ?? { ok: true });
      } catch (e) {
        res.status(400).json({ error: e instanceof RestError ? e.description : e instanceof Error ? e.message : String(e) });
      }
    });

  const sim: BitrixSimulator = {
    url: '',
    adminUrl: '',
    port: 0,
    applicationToken,
    state,
    createOrder: (input) => state.createOrder(input),
    addStore: (input) => state.addStore(input),
    setStock: (input) => state.setStock(input),
    addStatus: (input) => state.addStatus(input),
    addPaySystem: (input) => state.addPaySystem(input),
    addEventHandler: (input) => state.addEventHandler({ ...input, applicationToken: input.applicationToken ?? applicationToken }),
    addDeal: (input) => state.addDeal(input),
    setFaults: (f) => {
      faults = { ...f };
    },
    setRateLimit: (limit) => {
      bucket = limit ? new LeakyBucket(limit) : null;
    },
    setInventoryAccounting: (on) => {
      state.inventoryAccounting = on;
    },
    setScopes: (scopes) => {
      ctx.scopes = scopes ? new Set(scopes) : undefined;
    },
    requestCounts: () => structuredClone(counts),
    eventDeliveries: () => events.deliveries.map((d) => ({ ...d })),
    flushEvents: () => Promise.all([events.flush(), cashbox.flush()]).then(() => undefined),
    cashbox,
    addCashboxRule: (rule) => {
      if (!cashbox.cashboxes.has(rule.cashboxId)) throw new RestError(400, 'ERROR_CASHBOX_NOT_FOUND', `cashbox ${rule.cashboxId} not found`);
      cashbox.rules.push({ cashboxId: Number(rule.cashboxId), paySystemIds: rule.paySystemIds.map(Number), storeIds: (rule.storeIds ?? []).map(Number) });
    },
    checksOfOrder: (orderId) => [...cashbox.checks.values()].filter((c) => c.orderId === orderId),
    addCheckByHand: ({ orderId, type }) => {
      const order = state.getOrder(orderId);
      const check = order.payments[0] && cashbox.addCheck(order, order.payments[0], type);
      if (!check) throw new RestError(400, 'ERROR_CHECK_ADD', 'no cashbox serves this payment (cashbox rules)');
      return check;
    },
    snapshot: () => ({
      orders: [...state.orders.values()],
      stores: [...state.stores.values()],
      stock: [...state.stock.values()],
      documents: [...state.documents.values()],
      statuses: [...state.statuses.values()],
      paySystems: [...state.paySystems.values()],
      eventHandlers: [...state.eventHandlers.values()],
      deals: [...state.deals.values()],
      notifications: [...state.notifications.values()],
      notificationLog: [...state.notificationLog],
      timelineComments: [...state.timelineComments.values()],
      inventoryAccounting: state.inventoryAccounting,
      eventDeliveries: events.deliveries,
      cashboxes: {
        handlers: [...cashbox.handlers.values()],
        cashboxes: [...cashbox.cashboxes.values()],
        rules: cashbox.rules,
        checks: [...cashbox.checks.values()],
      },
    }),
    reset: () => {
      state.reset();
      events.clear();
      cashbox.reset();
      counts = emptyCounts();
      faults = {};
      bucket = initialRateLimit ? new LeakyBucket(initialRateLimit) : null;
      ctx.scopes = opts.scopes ? new Set(opts.scopes) : undefined;
    },
    close: async () => {
      for (const res of hanging) res.socket?.destroy();
      await events.flush();
      await cashbox.flush();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };

  adminRoute('/orders', (b: CreateOrderInput) => ({ order: renderOrder(state, sim.createOrder(b)) }));
  adminRoute('/stores', (b: Parameters<BitrixSimulator['addStore']>[0]) => ({ store: sim.addStore(b) }));
  adminRoute('/stock', (b: Parameters<BitrixSimulator['setStock']>[0] | Parameters<BitrixSimulator['setStock']>[0][]) => ({ stock: (Array.isArray(b) ? b : [b]).map((row) => sim.setStock(row)) }));
  adminRoute('/statuses', (b: Parameters<BitrixSimulator['addStatus']>[0]) => ({ status: sim.addStatus(b) }));
  adminRoute('/paysystems', (b: Parameters<BitrixSimulator['addPaySystem']>[0]) => ({ paySystem: sim.addPaySystem(b) }));
  adminRoute('/event-handlers', (b: Parameters<BitrixSimulator['addEventHandler']>[0]) => ({ handler: sim.addEventHandler(b) }));
  adminRoute('/deals', (b: Parameters<BitrixSimulator['addDeal']>[0]) => ({ deal: sim.addDeal(b) }));
  adminRoute('/faults', (b: BitrixFaults) => {
    sim.setFaults(b);
    return { faults };
  });
  adminRoute('/settings', (b: { rateLimit?: RateLimit | null; inventoryAccounting?: boolean; scopes?: string[] | null }) => {
    if (b.rateLimit !== undefined) sim.setRateLimit(b.rateLimit);
    if (b.scopes !== undefined) sim.setScopes(b.scopes);
    if (b.inventoryAccounting !== undefined) sim.setInventoryAccounting(b.inventoryAccounting);
    return { rateLimit: bucket?.limit ?? null, inventoryAccounting: state.inventoryAccounting };
  });
  adminRoute('/cashbox-rules', (b: SimCashboxRule) => {
    sim.addCashboxRule(b);
    return { rules: cashbox.rules };
  });
  adminRoute('/checks', (b: { orderId: number; type: SimCheck['type'] }) => ({ check: sim.addCheckByHand(b) }));
  adminRoute('/cashbox-settings', (b: { duplicateRate?: number; duplicateNext?: number }) => {
    if (b.duplicateRate !== undefined) cashbox.duplicateRate = b.duplicateRate;
    if (b.duplicateNext !== undefined) cashbox.duplicateNext = b.duplicateNext;
    return { duplicateRate: cashbox.duplicateRate, duplicateNext: cashbox.duplicateNext };
  });
  adminRoute('/reset', () => sim.reset());
  admin.get('/state', (_req, res) => {
    res.json(sim.snapshot());
  });
  admin.get('/requests', (_req, res) => {
    res.json(sim.requestCounts());
  });
  app.use('/_admin', admin);

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  port = (server.address() as AddressInfo).port;
  sim.port = port;
  sim.url = `http://${host}:${port}/rest/${userId}/${code}/`;
  sim.adminUrl = `http://${host}:${port}/_admin`;
  log.info({ port, rateLimit: bucket?.limit ?? null }, 'bitrix simulator listening');
  return sim;
}

function emptyCounts(): RequestCounts {
  return { total: 0, byMethod: {}, rateLimited: 0, faults: { error: 0, timeout: 0, applyThenLose: 0 } };
}

function sendError(res: Response, status: number, error: string | number, description: string): void {
  res.status(status).json({ error, error_description: description });
}

/** Bitrix reads $_REQUEST: the query string and a JSON or form body, the body winning. */
function readParams(req: Request): Record<string, unknown> {
  const q = req.originalUrl.indexOf('?');
  const query = q >= 0 ? parsePhpQuery(req.originalUrl.slice(q + 1)) : {};
  const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  if (!raw.trim()) return query;
  if (String(req.headers['content-type'] ?? '').includes('application/json')) {
    const body: unknown = JSON.parse(raw);
    return body && typeof body === 'object' && !Array.isArray(body) ? { ...query, ...(body as object) } : query;
  }
  return { ...query, ...parsePhpQuery(raw) };
}
