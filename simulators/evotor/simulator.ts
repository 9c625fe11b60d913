import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createLogger } from '../../lib/logger';
import {
  EvotorCloud,
  SimulatorError,
  type EvotorSimulatorOptions,
  type PaybackInput,
  type PayPushInput,
  type ProductInput,
  type PushView,
  type ReceiptResult,
  type SellInput,
  type SimulatorState,
} from './cloud';
import { patchFaults, type FaultsPatch } from './faults';
import type { WebhookSettings } from './webhooks';

export type { FaultCounts, Faults, FaultsPatch } from './faults';
export type { EvotorSimulatorOptions, PaybackInput, PayPushInput, ProductInput, ReceiptResult, SellInput, SimulatorState } from './cloud';

/**
 * A stand-in for the Evotor cloud (REST v2: stores, devices, product catalogs, documents; the publisher
 * API's push notifications) and the smart terminals in the shops, with an unauthenticated admin API under
 * /_admin to play the cashier, fill the catalogs and inject faults (latency, 5xx, timeouts,
 * apply-then-lose; see faults.ts). It enforces the bearer token and a rate limit, pages with cursors,
 * and delivers receipt webhooks at least once.
 */

export interface WebhookPatch {
  url?: string;
  token?: string;
  duplicateRate?: number;
  timeoutMs?: number;
  retryDelayMs?: number;
  maxAttempts?: number;
}

export interface EvotorSimulator {
  readonly url: string;
  /** Cloud and push requests by the account whose token they carried ('default' = `token`, 'publisher'). */
  readonly requestsByAccount: Record<string, number>;
  /** A snapshot for assertions (the same JSON GET /_admin/state answers). */
  readonly state: SimulatorState;
  payPush(deviceId: string, input?: PayPushInput): ReceiptResult;
  sell(deviceId: string, input: SellInput): ReceiptResult;
  payback(deviceId: string, input: PaybackInput): ReceiptResult;
  /**
   * Adds products to a store's catalog (each gets a fresh uuid unless it has an id; a known id replaces
   * that product) and answers them as GET /stores/:storeId/products shows them. Cleared by reset().
   */
  addProducts(storeId: string, products: ProductInput[]): Record<string, unknown>[];
  setOffline(deviceId: string): void;
  /** Uploads what the terminal queued, in one burst; returns how many documents went up. */
  setOnline(deviceId: string): { uploaded: number };
  configureWebhook(patch: WebhookPatch): void;
  /** Merges into the current faults; a bad value throws and changes nothing. reset() clears them. */
  setFaults(patch: FaultsPatch): void;
  reset(): void;
  /** Resolves when every webhook delivery (retries and duplicates included) has finished. */
  flush(): Promise<void>;
  waitForDeliveries(): Promise<void>;
  close(): Promise<void>;
}


/** Starts the simulator on HTTP; resolves once it listens. */
export async function startEvotorSimulator(opts: EvotorSimulatorOptions): Promise<EvotorSimulator> {
  if (!opts.token) throw new Error('startEvotorSimulator: token is required');
  const cloud = new EvotorCloud(opts);
  const log = opts.logger ?? createLogger('evotor-simulator');
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ type: ['application/json', 'application/*+json'], limit: '5mb' }));

  app.get('/_admin/state', (_req, res) => {
    res.json(cloud.snapshot());
  });
  app.post('/_admin/devices/:deviceId/pay-push', (req, res) => {
    res.status(201).json(cloud.payPush(param(req, 'deviceId'), req.body ?? {}));
  });
  app.post('/_admin/devices/:deviceId/sell', (req, res) => {
    res.status(201).json(cloud.sell(param(req, 'deviceId'), req.body ?? {}));
  });
  app.post('/_admin/devices/:deviceId/payback', (req, res) => {
    res.status(201).json(cloud.payback(param(req, 'deviceId'), req.body ?? {}));
  });
  app.post('/_admin/stores/:storeId/products', (req, res) => {
    // A list of products, or { items: [...] } / { products: [...] }.
    const b = req.body as unknown;
    const list = Array.isArray(b) ? b : (b as { items?: unknown; products?: unknown } | undefined)?.items ?? (b as { products?: unknown } | undefined)?.products;
    res.status(201).json({ items: cloud.addProducts(param(req, 'storeId'), list) });
  });
  app.post('/_admin/devices/:deviceId/offline', (req, res) => {
    cloud.setOffline(param(req, 'deviceId'));
    res.json({ online: false });
  });
  app.post('/_admin/devices/:deviceId/online', (req, res) => {
    res.json({ online: true, ...cloud.setOnline(param(req, 'deviceId')) });
  });
  app.post('/_admin/webhook', (req, res) => {
    cloud.dispatcher.configure(webhookPatch(req.body));
    res.json(cloud.snapshot().webhook);
  });
  app.post('/_admin/faults', (req, res) => {
    cloud.faults = patchFaults(cloud.faults, req.body ?? {});
    res.json(cloud.faults);
  });
  app.post('/_admin/reset', (_req, res) => {
    cloud.reset();
    res.json({ ok: true });
  });
  app.post('/_admin/flush', async (_req, res) => {
    await cloud.dispatcher.flush();
    res.json({ ok: true });
  });

  /** Calls held by a timeout fault: close() destroys them, so it never waits for them. */
  const hanging = new Map<Response, NodeJS.Timeout | undefined>();
  const hang = (req: Request, res: Response): void => {
    const hangMs = cloud.faults.hangMs;
    const timer =
      hangMs > 0
        ? setTimeout(() => {
            if (res.headersSent || res.destroyed) return;
            res.status(504).json({ code: 'GATEWAY_TIMEOUT', message: 'injected timeout: the request was not applied' });
          }, hangMs)
        : undefined;
    hanging.set(res, timer);
    res.on('close', () => {
      clearTimeout(timer);
      hanging.delete(res);
    });
    log.debug({ method: req.method, path: req.path, hangMs }, 'evotor simulator: injected timeout, the call hangs');
  };
  /** The call goes on and is applied; whatever it answers is never sent: the connection is cut instead. */
  const loseAnswer = (req: Request, res: Response): void => {
    res.end = (() => {
      log.debug({ method: req.method, path: req.path, status: res.statusCode }, 'evotor simulator: applied, now losing the answer');
      res.socket?.destroy();
      return res;
    }) as Response['end'];
  };

  const publisherToken = opts.publisherToken ?? opts.token;
  const now = opts.now ?? Date.now;
  const accounts = opts.accounts ?? [];
  const claimed = new Set(accounts.flatMap((a) => a.storeIds));
  let requestsByAccount: Record<string, number> = {};
  /** Whose token the request carries: 'default' (opts.token), an account's name, 'publisher', or undefined. */
  const accountOf = (req: Request, isPush: boolean): string | undefined => {
    if (isPush && opts.publisherToken && authorized(req, opts.publisherToken)) return 'publisher';
    if (authorized(req, isPush ? publisherToken : opts.token)) return 'default';
    return accounts.find((a) => authorized(req, a.token))?.name;
  };
  /** Whether the caller (res.locals.account) sees the store: each account its own, the default the unclaimed. */
  const sees = (res: Response, storeId: string): boolean => {
    const account = res.locals.account as string;
    if (account === 'publisher') return true;
    if (account === 'default') return !claimed.has(storeId);
    return accounts.some((a) => a.name === account && a.storeIds.includes(storeId));
  };
  const storeOfDevice = (deviceId: string): string | undefined =>
    cloud.listDevices().find((d) => d.id === deviceId)?.store_id as string | undefined;
  const api = express.Router();
  api.use(async (req: Request, res: Response, next: NextFunction) => {
    const limit = cloud.rateLimit;
    const isPush = req.path.startsWith('/apps/');
    const account = accountOf(req, isPush);
    if (!account) {
      if (limit) setRateHeaders(res, limit.headers());
      res.status(401).json({ code: 'INVALID_TOKEN', message: 'Authorization: missing or invalid token' });
      return;
    }
    res.locals.account = account;
    requestsByAccount[account] = (requestsByAccount[account] ?? 0) + 1;
    const storeInPath = /^\/stores\/([^/]+)/.exec(req.path)?.[1];
    if (storeInPath !== undefined && !sees(res, decodeURIComponent(storeInPath))) {
      res.status(404).json({ code: 'NOT_FOUND', message: `store ${decodeURIComponent(storeInPath)} not found` });
      return;
    }
    if (limit) {
      const allowed = limit.take();
      const h = limit.headers();
      setRateHeaders(res, h);
      if (!allowed) {
        res.setHeader('Retry-After', String(Math.max(1, Math.ceil((h.resetAtMs - now()) / 1000))));
        res.status(429).json({ code: 'TOO_MANY_REQUESTS', message: 'rate limit exceeded' });
        return;
      }
    }
    const fault = cloud.injectedFault(req.method, req.path);
    const latencyMs = cloud.faultsApplyTo(req.method, req.path) ? cloud.faults.latencyMs : 0;
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    if (fault === 'timeout') return hang(req, res);
    if (fault === 'error') {
      res.status(cloud.faults.errorStatus).json({ code: 'INTERNAL_ERROR', message: 'injected fault' });
      return;
    }
    if (fault === 'applyThenLose') loseAnswer(req, res);
    next();
  });
  api.get('/stores', (_req, res) => {
    res.json({ items: cloud.listStores().filter((s) => sees(res, String(s.id))), paging: {} });
  });
  api.get('/devices', (_req, res) => {
    res.json({ items: cloud.listDevices().filter((d) => sees(res, String(d.store_id))), paging: {} });
  });
  api.get('/stores/:storeId/documents', (req, res) => {
    const storeId = param(req, 'storeId');
    if (!cloud.hasStore(storeId)) throw new SimulatorError(404, `store ${storeId} not found`, 'NOT_FOUND');
    const q = req.query;
    res.json(
      cloud.documentsPage(storeId, {
        cursor: typeof q.cursor === 'string' ? q.cursor : undefined,
        since: parseIntParam(q.since, 'since'),
        until: parseIntParam(q.until, 'until'),
        types: listParam(q.types),
      }),
    );
  });
  api.get('/stores/:storeId/documents/:documentId', (req, res) => {
    const doc = cloud.getDocument(param(req, 'storeId'), param(req, 'documentId'));
    if (!doc) throw new SimulatorError(404, 'document not found', 'NOT_FOUND');
    res.json(doc);
  });
  api.get('/stores/:storeId/products', (req, res) => {
    const cursor = req.query.cursor;
    res.json(cloud.productsPage(param(req, 'storeId'), typeof cursor === 'string' ? cursor : undefined));
  });
  api.get('/stores/:storeId/products/:productId', (req, res) => {
    const product = cloud.getProduct(param(req, 'storeId'), param(req, 'productId'));
    if (!product) throw new SimulatorError(404, 'product not found', 'NOT_FOUND');
    res.json(product);
  });
  api.post('/apps/:appId/push-notifications', (req, res) => {
    res.json(withoutPayload(cloud.createPush(param(req, 'appId'), req.body, (deviceId) => {
      const store = storeOfDevice(deviceId);
      return store !== undefined && sees(res, store);
    })));
  });
  api.get('/apps/:appId/push-notifications/:pushId', (req, res) => {
    const push = cloud.getPush(param(req, 'appId'), param(req, 'pushId'));
    if (!push) throw new SimulatorError(404, 'push notification not found', 'NOT_FOUND');
    res.json(withoutPayload(push));
  });
  app.use(api);

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ code: 'NOT_FOUND', message: 'no such endpoint' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof SimulatorError) {
      res.status(err.status).json({ code: err.code, message: err.message });
      return;
    }
    const status = (err as { status?: number }).status;
    if (status && status >= 400 && status < 500) {
      res.status(status).json({ code: 'BAD_REQUEST', message: (err as Error).message });
      return;
    }
    log.error({ err }, 'evotor simulator: unexpected error');
    res.status(500).json({ code: 'INTERNAL_ERROR', message: 'unexpected error' });
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${opts.host ?? '127.0.0.1'}:${addr.port}`;
  log.debug({ url, appId: cloud.appId }, 'evotor simulator listening');

  return {
    url,
    get requestsByAccount() {
      return { ...requestsByAccount };
    },
    get state() {
      return cloud.snapshot();
    },
    payPush: (deviceId, input) => cloud.payPush(deviceId, input),
    sell: (deviceId, input) => cloud.sell(deviceId, input),
    payback: (deviceId, input) => cloud.payback(deviceId, input),
    addProducts: (storeId, products) => cloud.addProducts(storeId, products),
    setOffline: (deviceId) => cloud.setOffline(deviceId),
    setOnline: (deviceId) => cloud.setOnline(deviceId),
    configureWebhook: (patch) => cloud.dispatcher.configure(webhookPatch(patch)),
    setFaults: (patch) => {
      cloud.faults = patchFaults(cloud.faults, patch);
    },
    reset: () => {
      cloud.reset();
      requestsByAccount = {};
    },
    flush: () => cloud.dispatcher.flush(),
    waitForDeliveries: () => cloud.dispatcher.flush(),
    close: async () => {
      cloud.dispatcher.reset(cloud.dispatcher.config);
      for (const [res, timer] of hanging) {
        clearTimeout(timer);
        res.socket?.destroy();
      }
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function param(req: Request, name: string): string {
  return String(req.params[name]);
}

function authorized(req: Request, token: string): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1];
  // The cloud still accepts its older header, X-Authorization: <token>.
  return bearer === token || req.get('x-authorization') === token;
}

function setRateHeaders(res: Response, h: { limit: number; remaining: number; resetAtMs: number }): void {
  res.setHeader('X-RateLimit-Limit', String(h.limit));
  res.setHeader('X-RateLimit-Remaining', String(h.remaining));
  res.setHeader('X-RateLimit-Reset', String(Math.ceil(h.resetAtMs / 1000)));
}

function withoutPayload(p: PushView): Omit<PushView, 'payload'> {
  const { payload: _payload, ...rest } = p;
  return rest;
}

function webhookPatch(body: unknown): Partial<WebhookSettings> {
  const b = (body ?? {}) as Record<string, unknown>;
  const out: Partial<WebhookSettings> = {};
  if (b.url !== undefined) out.url = b.url === null ? undefined : String(b.url);
  if (b.token !== undefined) out.token = b.token === null ? undefined : String(b.token);
  for (const k of ['duplicateRate', 'timeoutMs', 'retryDelayMs', 'maxAttempts'] as const) {
    if (b[k] === undefined) continue;
    const n = Number(b[k]);
    if (!Number.isFinite(n) || n < 0 || (k === 'duplicateRate' && n > 1)) throw new SimulatorError(400, `${k}: not a valid number`);
    out[k] = n;
  }
  return out;
}

function parseIntParam(v: unknown, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new SimulatorError(400, `${name}: milliseconds since epoch`);
  return Number(v);
}

function listParam(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const parts = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter(Boolean);
  return parts.length ? parts : undefined;
}
