import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus registry (prom-client). Worker processes fill the outside-system figures (the
 * calls happen in activities); the API fills the door figures. Each process serves its own registry: the API
 * at `GET /metrics`, a worker at WORKER_METRICS_ADDRESS (together with the Temporal SDK's own metrics).
 * Label values are bounded names (system, REST method, door, outcome) — never ids, URLs or personal data.
 */
export const registry = new Registry();

let defaultsOn = false;
/** Process figures (CPU, memory, event-loop lag, GC) under `bridge_process_…`; once per process. */
export function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry, prefix: 'bridge_' });
}

const outsideCalls = new Counter({
  name: 'bridge_outside_calls_total',
  help: 'Calls to outside systems by system, method and outcome (ok, rate_limited, server_error, client_error, timeout, network, cancelled)',
  labelNames: ['system', 'method', 'outcome'] as const,
  registers: [registry],
});
const outsideCallSeconds = new Histogram({
  name: 'bridge_outside_call_duration_seconds',
  help: 'Time an outside-system call took (one HTTP request), by system and method',
  labelNames: ['system', 'method'] as const,
  buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});
const rateLimitWaits = new Counter({
  name: 'bridge_rate_limit_waits_total',
  help: 'Times a client waited because an outside system said it was over its rate limit',
  labelNames: ['system'] as const,
  registers: [registry],
});
const rateLimitWaitSeconds = new Counter({
  name: 'bridge_rate_limit_wait_seconds_total',
  help: 'Seconds spent waiting out outside systems\' rate limits',
  labelNames: ['system'] as const,
  registers: [registry],
});

/** The outcome label of a failed call: a bounded word, never the error text. */
export function outcomeOf(e: unknown): string {
  const err = e as { name?: string; code?: string; httpStatus?: number } | undefined;
  if (err?.name === 'CancelledFailure' || err?.name === 'AbortError') return 'cancelled';
  const code = err?.code ?? '';
  if (code === 'TIMEOUT') return 'timeout';
  if (code === 'NETWORK') return 'network';
  if (code === 'CANCELLED') return 'cancelled';
  if (/LIMIT|RATE/.test(code) || err?.httpStatus === 429) return 'rate_limited';
  if ((err?.httpStatus ?? 0) >= 500) return 'server_error';
  return 'client_error';
}

/** One HTTP call to an outside system: its outcome and how long it took. `method` must be a bounded name. */
export function recordOutsideCall(system: string, method: string, outcome: string, seconds: number): void {
  outsideCalls.inc({ system, method, outcome });
  outsideCallSeconds.observe({ system, method }, seconds);
}

/** A wait for an outside system's rate limit (backoff after a rate-limit answer, or waiting for its reset). */
export function recordRateLimitWait(system: string, ms: number): void {
  rateLimitWaits.inc({ system });
  rateLimitWaitSeconds.inc({ system }, Math.max(0, ms) / 1000);
}

/** An Evotor path with its ids taken out (/stores/:id/documents), so that it can be a label. */
export function pathShape(path: string): string {
  return path
    .split('?')[0]!
    .split('/')
    .map((seg, i, all) => (i > 0 && all[i - 1] !== '' && /[0-9]/.test(seg) ? ':id' : seg))
    .join('/');
}
