import type { NextFunction, Request, Response } from 'express';
import type { Client, WorkflowClientInterceptor } from '@temporalio/client';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { PosConfig } from '../lib/config';
import type { Logger } from '../lib/logger';
import { registry } from '../lib/metrics';
import { deductionsQuery } from '../workflows/walk-in-deductions';
import { walkInDeductionsWorkflowId } from '../domain/workflow-ids';

/**
 * The API's figures, served at `GET /metrics` from the process registry (lib/metrics): requests and answer
 * times per door, time spent handing over to Temporal, and two gauges read from Temporal at scrape time
 * (cached, with a timeout): the walk-in queue of each store and the workflows waiting for a person.
 */

/** The door a request went to: a fixed name (never a path with ids in it). */
export function doorOf(path: string): string {
  if (path === '/webhooks/bitrix') return 'bitrix';
  if (path === '/webhooks/bitrix/cashbox/print') return 'bitrix_cashbox_print';
  if (path === '/webhooks/bitrix/cashbox/check') return 'bitrix_cashbox_check';
  if (path === '/webhooks/evotor/receipts') return 'evotor';
  if (path === '/middleware/v1/receipts/batch') return 'middleware_receipts';
  if (path === '/middleware/v1/orders') return 'middleware_orders';
  if (path === '/middleware/v1/fiscal-confirmations') return 'middleware_fiscal';
  if (path.startsWith('/middleware/')) return 'middleware_other';
  if (path === '/webhooks/atol/callback') return 'atol_callback';
  if (path === '/webhooks/ferma/callback') return 'ferma_callback';
  if (path.startsWith('/api/reconciliation')) return 'admin_reconciliation';
  if (path.startsWith('/api/')) return 'admin';
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path.slice(1);
  return 'other';
}

const requests = new Counter({
  name: 'bridge_http_requests_total',
  help: 'HTTP requests answered, by door, method and status code',
  labelNames: ['door', 'method', 'status'] as const,
  registers: [registry],
});
const answerSeconds = new Histogram({
  name: 'bridge_http_request_duration_seconds',
  help: 'Time from request to answer, by door',
  labelNames: ['door'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});
const handoverSeconds = new Histogram({
  name: 'bridge_temporal_handover_duration_seconds',
  help: 'Time a hand-over to Temporal took (start, signal, signal-with-start, update), by operation and outcome',
  labelNames: ['operation', 'outcome'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/** Counts every answer (also 401s and 404s) by door; the answer time from arrival to the last byte. */
export function httpMetrics() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    // Read now: routers mounted at a prefix change req.path while they handle the request.
    const door = doorOf(req.path);
    res.once('finish', () => {
      requests.inc({ door, method: req.method, status: String(res.statusCode) });
      answerSeconds.observe({ door }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

/** A Temporal client interceptor timing the hand-overs the doors (and anything else on that client) make. */
export function handoverMetricsInterceptor(): WorkflowClientInterceptor {
  async function timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    let outcome = 'ok';
    try {
      return await call();
    } catch (e) {
      const name = (e as Error)?.name ?? '';
      outcome = name === 'WorkflowExecutionAlreadyStartedError' ? 'already_started' : name === 'WorkflowNotFoundError' ? 'not_found' : 'error';
      throw e;
    } finally {
      handoverSeconds.observe({ operation, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }
  return {
    startWithDetails: (input, next) => timed('start', () => next(input)),
    signal: (input, next) => timed('signal', () => next(input)),
    signalWithStart: (input, next) => timed('signal_with_start', () => next(input)),
    startUpdate: (input, next) => timed('update', () => next(input)),
    startUpdateWithStart: (input, next) => timed('update_with_start', () => next(input)),
  };
}

/** Workflow types that can stop in NEEDS_ATTENTION, by the label they get. */
export const ATTENTION_KINDS: Record<string, string> = {
  payment: 'posPaymentWorkflow',
  terminal_receipt: 'terminalReceiptWorkflow',
  refund: 'refundWorkflow',
  order_cancellation: 'orderCancellationWorkflow',
  walk_in_problem: 'walkInProblemWorkflow',
  bitrix_cashbox_check: 'bitrixCashboxCheckWorkflow',
};

/** A value computed at most every `ttlMs`, and given up after `timeoutMs` (the last value is kept then). */
function cached<T>(ttlMs: number, timeoutMs: number, compute: () => Promise<T>, logger: Logger, what: string) {
  let value: T | undefined;
  let at = 0;
  let pending: Promise<void> | undefined;
  return async (): Promise<T | undefined> => {
    if (Date.now() - at < ttlMs) return value;
    pending ??= compute()
      .then((v) => {
        value = v;
        at = Date.now();
      })
      .catch((e: unknown) => logger.warn({ err: (e as Error).message, what }, 'metric could not be read from Temporal'))
      .finally(() => {
        pending = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return value;
  };
}

/** The two gauges read from Temporal. Registered once per process; the latest API's client is the one read. */
let temporalGauges: { client: Client; config: PosConfig; logger: Logger; ttlMs: number; timeoutMs: number } | undefined;
let readQueues: ReturnType<typeof cached<Record<string, { queued: number; inFlight: number }>>> | undefined;
let readAttention: ReturnType<typeof cached<Record<string, number>>> | undefined;

export function registerTemporalGauges(opts: { client: Client; config: PosConfig; logger: Logger; ttlMs?: number; timeoutMs?: number }): void {
  temporalGauges = { ttlMs: 15_000, timeoutMs: 3_000, ...opts };
  const g = temporalGauges;
  readQueues = cached(g.ttlMs, g.timeoutMs, async () => {
    const out: Record<string, { queued: number; inFlight: number }> = {};
    await Promise.all(
      g.config.stores.map(async (s) => {
        try {
          const status = await g.client.workflow.getHandle(walkInDeductionsWorkflowId(s.id)).query(deductionsQuery);
          out[s.id] = { queued: status.queued, inFlight: status.inFlight };
        } catch {
          // A store whose deductions workflow is not there (or not answering) has no figure this time.
        }
      }),
    );
    return out;
  }, g.logger, 'walk-in queue');
  readAttention = cached(g.ttlMs, g.timeoutMs, async () => {
    const out: Record<string, number> = {};
    await Promise.all(
      Object.entries(ATTENTION_KINDS).map(async ([kind, type]) => {
        const answer = await g.client.workflowService.countWorkflowExecutions({
          namespace: g.client.options.namespace,
          query: `WorkflowType = "${type}" AND PosStage = "NEEDS_ATTENTION" AND ExecutionStatus = "Running"`,
        });
        out[kind] = Number(answer.count ?? 0);
      }),
    );
    return out;
  }, g.logger, 'needs attention');
}

// Registered with the module; they read the latest registerTemporalGauges() wiring at every scrape.
new Gauge({
  name: 'bridge_walk_in_queued_receipts',
  help: 'Walk-in receipts waiting in the store\'s deductions workflow for their Bitrix batch (query at scrape time, cached)',
  labelNames: ['store'] as const,
  registers: [registry],
  async collect() {
    const values = (await readQueues?.()) ?? {};
    this.reset();
    for (const [store, v] of Object.entries(values)) this.set({ store }, v.queued);
  },
});
new Gauge({
  name: 'bridge_walk_in_batches_in_flight',
  help: 'Bitrix write-off batches the store\'s deductions workflow has running (query at scrape time, cached)',
  labelNames: ['store'] as const,
  registers: [registry],
  async collect() {
    const values = (await readQueues?.()) ?? {};
    this.reset();
    for (const [store, v] of Object.entries(values)) this.set({ store }, v.inFlight);
  },
});
new Gauge({
  name: 'bridge_needs_attention_workflows',
  help: 'Running workflows in NEEDS_ATTENTION, by kind (visibility count at scrape time, cached)',
  labelNames: ['kind'] as const,
  registers: [registry],
  async collect() {
    const values = (await readAttention?.()) ?? {};
    this.reset();
    for (const [kind, n] of Object.entries(values)) this.set({ kind }, n);
  },
});

/** `GET /metrics`: the process registry in Prometheus's text format. */
export async function metricsHandler(_req: Request, res: Response): Promise<void> {
  res.setHeader('content-type', registry.contentType);
  res.send(await registry.metrics());
}
