import { request, type Dispatcher } from 'undici';
import type { Logger } from '../../lib/logger';
import { recordOutsideCall } from '../../lib/metrics';
import { throwIfActivityCancelled, withActivityCancellation } from './cancellation';
import { ExternalServiceError, type ExternalSystem } from './errors';

/** Small helpers the HTTP clients of the outside systems share. */

/** Whether an undici / fetch error is a timeout (connect, headers, body, or an AbortSignal.timeout). */
export function isTimeout(e: unknown): boolean {
  const err = e as { name?: string; code?: string } | undefined;
  return err?.name === 'TimeoutError' || err?.code === 'UND_ERR_HEADERS_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT' || err?.code === 'UND_ERR_CONNECT_TIMEOUT';
}

/** A transport failure in words safe to log and show (the error code, never the URL or body). */
export function transportMessage(e: unknown): string {
  const err = e as { code?: string; name?: string } | undefined;
  return `connection failed (${err?.code ?? err?.name ?? 'unknown'})`;
}

/** `Retry-After` in seconds → milliseconds; undefined when absent or not a number of seconds. */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const seconds = Number(v);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** At most `max` characters of an outside system's text, marked when cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** An answer of a JSON API: its status, its body parsed (undefined when empty or not JSON), Retry-After. */
export interface JsonAnswer {
  status: number;
  json: unknown;
  retryAfterMs?: number;
}

/**
 * One JSON request to an outside system. A transport failure (no answer, timeout) becomes a retryable
 * ExternalServiceError of `system` whose text names `what`, never the URL (it may carry a token).
 */
export async function requestJson(opts: {
  system: ExternalSystem;
  what: string;
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  dispatcher?: Dispatcher;
  log?: Pick<Logger, 'warn'>;
}): Promise<JsonAnswer> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
  let status: number;
  let text: string;
  let retryAfter: string | string[] | undefined;
  const started = Date.now();
  const record = (outcome: string) => recordOutsideCall(opts.system, opts.what, outcome, (Date.now() - started) / 1000);
  try {
    const res = await request(opts.url, {
      method: opts.method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: withActivityCancellation(AbortSignal.timeout(opts.timeoutMs)),
      dispatcher: opts.dispatcher,
    });
    status = res.statusCode;
    retryAfter = res.headers['retry-after'];
    text = await res.body.text();
  } catch (e) {
    try {
      throwIfActivityCancelled();
    } catch (cancelled) {
      record('cancelled');
      throw cancelled;
    }
    const timedOut = isTimeout(e);
    const code = timedOut ? 'TIMEOUT' : 'NETWORK';
    record(timedOut ? 'timeout' : 'network');
    opts.log?.warn({ what: opts.what, code }, `${opts.system}: request did not complete`);
    throw new ExternalServiceError(opts.system, code, `${opts.what}: ${timedOut ? `no answer within ${opts.timeoutMs} ms` : transportMessage(e)}`, true);
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  // The answer's meaning (a register's own error codes) is the client's business; here: the HTTP outcome.
  record(status === 429 ? 'rate_limited' : status >= 500 ? 'server_error' : status >= 400 ? 'client_error' : 'ok');
  return { status, json, retryAfterMs: parseRetryAfter(retryAfter) };
}
