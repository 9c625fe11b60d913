import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../../lib/logger';

/**
 * Injectable faults of a cloud fiscal register's API (ATOL, Ferma): the request faults (latency, 5xx,
 * hanging requests, applied-then-lost answers), optionally scoped to one operation of the API, and the
 * register's own failures of accepted receipts. Each simulator names its operations and its 500 body.
 */

/**
 * Setting faults merges into the current ones; `reset()` clears them all. The request faults hit only
 * `operation` when it is set; register failures (failNextReceipts/failRate) are not requests and ignore it.
 */
export function cloudRegisterFaultsSchema<Ops extends readonly [string, ...string[]]>(operations: Ops) {
  return z.object({
    /** Delay before every non-admin request (in scope) is handled. */
    latencyMs: z.number().int().min(0).optional(),
    /** Share of non-admin requests (in scope) answered with a 5xx instead of being handled. */
    errorRate: z.number().min(0).max(1).optional(),
    /** The 5xx status for errorRate; 500 carries the API's own error body, others a proxy's plain text. Default 500. */
    errorStatus: z.number().int().min(500).max(599).optional(),
    /** Share of requests (in scope) that hang without being applied (no token, no receipt); see hangMs. */
    timeoutRate: z.number().min(0).max(1).optional(),
    /** The next N requests (in scope) hang without being applied. Checked before errorRate. */
    timeoutNext: z.number().int().min(0).optional(),
    /** How long a hanging request hangs before its socket is destroyed (no answer ever); default 120 s. */
    hangMs: z.number().int().min(0).optional(),
    /** The next N receipt registrations are applied, then the socket is destroyed without an answer. */
    applyThenLoseNext: z.number().int().min(0).optional(),
    /** Share of receipt registrations that are applied, then lose their answer (socket destroyed). */
    applyThenLoseRate: z.number().min(0).max(1).optional(),
    /** Limit the request faults to one operation; null removes the limit. */
    operation: z.enum(operations).nullable().optional(),
    /** The next N accepted receipts end in the register's error. */
    failNextReceipts: z.number().int().min(0).optional(),
    failRate: z.number().min(0).max(1).optional(),
  });
}

export type CloudRegisterFaults = z.infer<ReturnType<typeof cloudRegisterFaultsSchema<readonly [string, ...string[]]>>>;

/** What the simulator counts of its API's requests (not of /_admin). */
export interface RequestCounters {
  requests: number;
  rateLimited: number;
  injectedErrors: number;
  lostAnswers: number;
  timeouts: number;
}

function freshCounters(): RequestCounters {
  return { requests: 0, rateLimited: 0, injectedErrors: 0, lostAnswers: 0, timeouts: 0 };
}

export interface RequestFaultsOptions<F extends CloudRegisterFaults> {
  schema: z.ZodType<F>;
  random: () => number;
  log: Logger;
  /** Log message prefix, e.g. 'atol-sim'. */
  logPrefix: string;
}

export interface RequestFaults<F extends CloudRegisterFaults> {
  /** The live faults (register failures consume failNextReceipts from it). */
  readonly current: F;
  /** The live counters; callers add to rateLimited. */
  readonly counters: RequestCounters;
  /** Requests hanging right now. */
  readonly hangingCount: number;
  /** Merges `next` (validated by the schema; throws on invalid) into the current faults. */
  set(next: F): void;
  /** Clears the faults and the counters; hanging requests go on hanging. */
  reset(): void;
  /**
   * Counts every API request and, for those in scope, decides on arrival whether it hangs, waits latencyMs,
   * or is answered an injected 5xx; `sendServerError` writes the API's own 500.
   */
  middleware(operationOf: (path: string) => string | undefined, sendServerError: (res: Response) => void): RequestHandler;
  /**
   * Call after the request was applied: when apply-then-lose strikes (in scope), destroys the socket
   * without an answer and returns true.
   */
  loseAnswer(req: Request, operation: string, logFields: Record<string, unknown>): boolean;
  /** Whether the register fails the next receipt: failNextReceipts first (consumed), else the fail rate. */
  registerFails(defaultFailRate: number | undefined): boolean;
  /** Hanging requests would hold server.close() until hangMs; nobody waits for their answer any more. */
  destroyHanging(): void;
}

export function createRequestFaults<F extends CloudRegisterFaults>(o: RequestFaultsOptions<F>): RequestFaults<F> {
  // Typed as the common shape inside, so the next-N counters can be written without generic casts.
  let faults: CloudRegisterFaults = {};
  let counters = freshCounters();
  const hanging = new Set<Response>();

  const inScope = (operation: string | undefined): boolean => !faults.operation || faults.operation === operation;
  /** Consumes one of the next-N counter, else rolls the rate. */
  const hit = (next: 'timeoutNext' | 'applyThenLoseNext', rate: number | undefined): boolean => {
    const left = faults[next] ?? 0;
    if (left > 0) {
      faults[next] = left - 1;
      return true;
    }
    return rate !== undefined && rate > 0 && o.random() < rate;
  };

  /** Leaves the request unanswered and unapplied until hangMs, close(), or the client gives up. */
  const hang = (req: Request, res: Response, operation: string | undefined): void => {
    counters.timeouts += 1;
    hanging.add(res);
    o.log.info({ operation, path: req.path }, `${o.logPrefix}: request hangs (fault)`);
    const timer = setTimeout(() => {
      hanging.delete(res);
      res.socket?.destroy();
    }, faults.hangMs ?? 120_000);
    res.on('close', () => {
      clearTimeout(timer);
      hanging.delete(res);
    });
  };

  return {
    get current() { return faults as F; },
    get counters() { return counters; },
    get hangingCount() { return hanging.size; },
    set(next) {
      faults = { ...faults, ...o.schema.parse(next) };
      if (faults.operation === null) delete faults.operation;
      o.log.info({ faults }, `${o.logPrefix}: faults set`);
    },
    reset() {
      faults = {};
      counters = freshCounters();
    },
    middleware(operationOf, sendServerError) {
      return async (req: Request, res: Response, next: NextFunction) => {
        counters.requests += 1;
        const operation = operationOf(req.path);
        if (!inScope(operation)) return next();
        // Decided on arrival (as the Bitrix simulator does), so a slow request still takes its timeoutNext.
        if (hit('timeoutNext', faults.timeoutRate)) return hang(req, res, operation);
        if (faults.latencyMs) await sleep(faults.latencyMs);
        if (faults.errorRate && o.random() < faults.errorRate) {
          counters.injectedErrors += 1;
          const status = faults.errorStatus ?? 500;
          if (status === 500) sendServerError(res);
          else res.status(status).type('text/plain').send('Bad Gateway');
          return;
        }
        next();
      };
    },
    loseAnswer(req, operation, logFields) {
      if (!inScope(operation) || !hit('applyThenLoseNext', faults.applyThenLoseRate)) return false;
      counters.lostAnswers += 1;
      o.log.info(logFields, `${o.logPrefix}: applied, answer lost (fault)`);
      req.socket.destroy();
      return true;
    },
    registerFails(defaultFailRate) {
      if ((faults.failNextReceipts ?? 0) > 0 || o.random() < (faults.failRate ?? defaultFailRate ?? 0)) {
        if ((faults.failNextReceipts ?? 0) > 0) faults.failNextReceipts = (faults.failNextReceipts ?? 0) - 1;
        return true;
      }
      return false;
    },
    destroyHanging() {
      for (const res of hanging) res.socket?.destroy();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
