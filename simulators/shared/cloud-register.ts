import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { request as httpRequest } from 'undici';
import type { z } from 'zod';
import type { Logger } from '../../lib/logger';
import { createAuthTokens } from './auth-tokens';
import { createRateLimit } from './rate-limit';
import { createRequestFaults, type CloudRegisterFaults, type RequestCounters } from './request-faults';

/**
 * The skeleton both cloud fiscal register simulators (ATOL, Ferma) are built on: access tokens, a rate
 * limit, injectable faults, processing timers, callback delivery, the /_admin API, listen and close. The
 * simulator adds its API's routes and answers; everything here is the same for both.
 */

/** Options every cloud register simulator takes; each adds its own. */
export interface CloudRegisterSimulatorOptions {
  /** 0 = an ephemeral port. */
  port?: number;
  host?: string;
  login: string;
  password: string;
  /** Default 24 h. */
  tokenTtlMs?: number;
  /** Share of receipts the register fails (0..1); default 0. */
  failRate?: number;
  logger?: Logger;
  /** Source of randomness for failRate/errorRate (tests make it deterministic). */
  random?: () => number;
}

/** A callback delivery attempt as the simulator records it; each adds the receipt's id and status. */
export interface CallbackDelivery {
  url: string;
  httpStatus?: number;
  error?: string;
  at: string;
}

/** The part of the admin state every cloud register simulator has. */
export interface CloudRegisterState<Faults, Callback> {
  /** Tokens issued (in all, and by account login) and still valid. */
  tokens: { issued: number; active: number; issuedByAccount: Record<string, number> };
  callbacks: Callback[];
  faults: Faults;
  counters: RequestCounters;
  /** Requests hanging right now (timeout faults). */
  hangingRequests: number;
}

export interface CloudRegisterSimulator<State, Faults> {
  /** Base URL clients use. */
  url: string;
  /** …/_admin */
  adminUrl: string;
  readonly state: State;
  setFaults(faults: Faults): void;
  reset(): void;
  expireTokens(): void;
  completePending(): void;
  close(): Promise<void>;
}

export interface CloudRegisterOptions<F extends CloudRegisterFaults> {
  log: Logger;
  /** Log message prefix, e.g. 'atol-sim'. */
  logPrefix: string;
  /** Default Math.random. */
  random?: () => number;
  /** Default 24 h. */
  tokenTtlMs?: number;
  /** Requests a second to the rate-limited endpoints; 0 = unlimited. */
  rateLimitPerSec: number;
  faultsSchema: z.ZodType<F>;
  /** Where the API is mounted ('/possystem', '/api'): the request faults apply below it. */
  apiPath: string;
  /** The fault operation of a path below apiPath; undefined for paths the API does not have. */
  operationOf: (path: string) => string | undefined;
  /** The API's own answers to the failures the skeleton detects. */
  answers: {
    injectedServerError(res: Response): void;
    rateLimited(res: Response): void;
    unreadableBody(res: Response): void;
    serverError(res: Response): void;
  };
}

/** What the simulator hands over once its routes are mounted. */
export interface CloudRegisterApi<S> {
  /** Path of the base URL clients use, e.g. '/possystem/v5'. */
  urlPath: string;
  snapshot(): S;
  /** Clears the simulator's own records; the skeleton clears tokens, timers, callbacks, faults and the rate limit. */
  resetRecords(): void;
  completePending(): void;
}

/** Bodies are read as text whatever their Content-Type, so the simulator can answer a wrong one as the API does. */
export const rawBody = express.text({ type: () => true, limit: '1mb' });

export function parseJson(text: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof text !== 'string' || text.trim() === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function createCloudRegister<F extends CloudRegisterFaults, C extends CallbackDelivery>(o: CloudRegisterOptions<F>) {
  const tokens = createAuthTokens(o.tokenTtlMs ?? DAY_MS);
  // One bucket per group or account (each company's limit is its own), created on first use.
  const rateLimits = new Map<string, ReturnType<typeof createRateLimit>>();
  const rateLimitOf = (key: string) => {
    let limit = rateLimits.get(key);
    if (!limit) rateLimits.set(key, (limit = createRateLimit(o.rateLimitPerSec)));
    return limit;
  };
  const faults = createRequestFaults({ schema: o.faultsSchema, random: o.random ?? Math.random, log: o.log, logPrefix: o.logPrefix });
  /** Receipt processing steps pending, by receipt id. */
  const timers = new Map<string, NodeJS.Timeout>();
  let callbacks: C[] = [];

  const app: Express = express();
  app.disable('x-powered-by');
  app.use(o.apiPath, faults.middleware(o.operationOf, o.answers.injectedServerError));

  const clearTimers = (): void => {
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
  };

  const reset = (): void => {
    clearTimers();
    tokens.clear();
    callbacks = [];
    faults.reset();
    rateLimits.clear();
  };

  return {
    /** Mount the API's routes on it; the fault middleware is already in front of them. */
    app,
    tokens,
    faults,
    timers,

    /** Takes a rate-limit token of `key`'s bucket (the group or account), or answers 429 (Retry-After: 1) and returns false. */
    admit(res: Response, key = ''): boolean {
      if (rateLimitOf(key).take()) return true;
      faults.counters.rateLimited += 1;
      res.set('Retry-After', '1');
      o.answers.rateLimited(res);
      return false;
    },

    /**
     * POSTs a receipt's callback once, as the real services do: no retry, 5 s at most. The outcome goes
     * into `record`, so tests can see a failed delivery as well as a made one.
     */
    async deliverCallback(record: C, body: unknown): Promise<void> {
      const outcome: CallbackDelivery = record;
      try {
        const res = await httpRequest(record.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(5000),
        });
        await res.body.dump();
        outcome.httpStatus = res.statusCode;
      } catch (e) {
        outcome.error = (e as Error).message;
      }
      callbacks.push(record);
    },

    /** The part of the admin state every cloud register simulator has, copied. */
    commonState(): CloudRegisterState<F, C> {
      return {
        tokens: tokens.stats(),
        callbacks: callbacks.map((c) => ({ ...c })),
        faults: { ...faults.current },
        counters: { ...faults.counters },
        hangingRequests: faults.hangingCount,
      };
    },

    /** Mounts /_admin and the error handler (so after the API's routes), listens and returns the simulator. */
    async serve<S>(listenOn: { port?: number; host?: string }, api: CloudRegisterApi<S>): Promise<CloudRegisterSimulator<S, F>> {
      const resetAll = (): void => {
        reset();
        api.resetRecords();
      };
      const setFaults = (next: F): void => faults.set(next);
      const expireTokens = (): void => tokens.expireAll();

      const admin = express.Router();
      admin.use(express.json());
      admin.get('/state', (_req, res) => { res.json(api.snapshot()); });
      admin.post('/faults', (req, res) => {
        const parsed = o.faultsSchema.safeParse(req.body ?? {});
        if (!parsed.success) {
          res.status(400).json({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
          return;
        }
        setFaults(parsed.data);
        res.json({ faults: faults.current });
      });
      admin.post('/reset', (_req, res) => { resetAll(); res.json({ ok: true }); });
      admin.post('/expire-tokens', (_req, res) => { expireTokens(); res.json({ ok: true }); });
      admin.post('/complete-pending', (_req, res) => { api.completePending(); res.json({ ok: true }); });
      app.use('/_admin', admin);

      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        const status = (err as { status?: number }).status;
        if (status === 413 || status === 400) return o.answers.unreadableBody(res);
        o.log.error({ err }, `${o.logPrefix}: unexpected error`);
        o.answers.serverError(res);
      });

      const host = listenOn.host ?? '127.0.0.1';
      const server: Server = await new Promise((resolve, reject) => {
        const s = app.listen(listenOn.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
      });
      const { port } = server.address() as AddressInfo;
      const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      o.log.info({ url: `${base}${api.urlPath}` }, `${o.logPrefix}: listening`);

      return {
        url: `${base}${api.urlPath}`,
        adminUrl: `${base}/_admin`,
        get state() { return api.snapshot(); },
        setFaults,
        reset: resetAll,
        expireTokens,
        completePending: api.completePending,
        close: async () => {
          clearTimers();
          faults.destroyHanging();
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
        },
      };
    },
  };
}
