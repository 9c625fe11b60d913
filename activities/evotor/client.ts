import { setTimeout as sleep } from 'node:timers/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';
import type { z } from 'zod';
import { ExternalServiceError } from '../shared/errors';
import { outcomeOf, pathShape, recordOutsideCall, recordRateLimitWait } from '../../lib/metrics';
import { throwIfActivityCancelled, withActivityCancellation } from '../shared/cancellation';
import { createLogger, type Logger } from '../../lib/logger';
import {
  EvotorDeviceSchema,
  EvotorDocumentSchema,
  EvotorDocumentsPageSchema,
  EvotorProductSchema,
  EvotorProductsPageSchema,
  EvotorPushTaskSchema,
  EvotorStoreSchema,
  pageSchema,
  type EvotorDevice,
  type EvotorDocument,
  type EvotorProduct,
  type EvotorPushTask,
  type EvotorStore,
} from './schemas';

export {
  appExtrasFromDocument,
  bitrixProductIdOf,
  documentClosedAtMs,
  fiscalAttributesFromDocument,
  fiscalAttributesListFromDocument,
  type EvotorProductKey,
} from './documents';
export type { EvotorProduct } from './schemas';

const MEDIA_TYPE = 'application/vnd.evotor.v2+json';
const DEFAULT_PUSH_LIFETIME_MS = 2 * 24 * 60 * 60 * 1000;

export interface EvotorCloudClientOptions {
  /** Cloud REST base, e.g. https://api.evotor.ru */
  apiUrl: string;
  /** Application token for this user (Authorization: Bearer). Secret: never logged. */
  token: string;
  /** Our terminal app's id, needed for push notifications. */
  appId?: string;
  /** Publisher API base for push notifications (https://dev.evotor.ru/api in production); default apiUrl. */
  publisherApiUrl?: string;
  /** Token for the publisher API, when it differs from `token`. */
  publisherToken?: string;
  /** Per request, headers and body together; default 15 s. */
  timeoutMs?: number;
  /** Longest the client sleeps for an exhausted rate limit before failing retryably instead; default 30 s. */
  maxRateLimitWaitMs?: number;
  logger?: Logger;
}

export interface DocumentQuery {
  /** close_date from, ms since epoch (inclusive). */
  since?: number;
  /** close_date until, ms since epoch. */
  until?: number;
  /** SELL, PAYBACK, ... (all types when omitted). */
  types?: readonly string[];
}

export interface SendPushInput {
  devices: readonly string[];
  payload: unknown;
  /** Default: now + 2 days. */
  activeTill?: Date;
}

type Query = Record<string, string | number | readonly string[] | undefined>;

interface CallOptions {
  query?: Query;
  body?: unknown;
  publisher?: boolean;
  /** Answer null instead of throwing on 404. */
  notFoundIsNull?: boolean;
}

/**
 * Evotor cloud REST v2 and the push part of the publisher API. Every failure is an
 * ExternalServiceError('evotor', ...) that says whether retrying can help.
 */
export class EvotorCloudClient {
  private readonly apiUrl: string;
  private readonly publisherApiUrl: string;
  private readonly token: string;
  private readonly publisherToken: string;
  private readonly appId?: string;
  private readonly timeoutMs: number;
  private readonly maxRateLimitWaitMs: number;
  private readonly log: Logger;
  /** Shared by all calls of this client: the cloud said no more requests before this instant. */
  private blockedUntil = 0;

  constructor(opts: EvotorCloudClientOptions) {
    if (!opts.token) throw new Error('EvotorCloudClient: token is required');
    this.apiUrl = baseUrl(opts.apiUrl, 'apiUrl');
    this.publisherApiUrl = baseUrl(opts.publisherApiUrl ?? opts.apiUrl, 'publisherApiUrl');
    this.token = opts.token;
    this.publisherToken = opts.publisherToken ?? opts.token;
    this.appId = opts.appId;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.maxRateLimitWaitMs = opts.maxRateLimitWaitMs ?? 30_000;
    this.log = opts.logger ?? createLogger('evotor-client');
  }

  async listStores(): Promise<EvotorStore[]> {
    return collect(this.paged('/stores', {}, pageSchema(EvotorStoreSchema)));
  }

  async listDevices(): Promise<EvotorDevice[]> {
    return collect(this.paged('/devices', {}, pageSchema(EvotorDeviceSchema)));
  }

  /** All documents of a store whose close_date falls in the window, following cursors to the end. */
  async listDocuments(storeId: string, query: DocumentQuery = {}): Promise<EvotorDocument[]> {
    return collect(this.iterateDocuments(storeId, query));
  }

  /** Same as listDocuments, one page at a time: for windows too big to hold in memory. */
  iterateDocuments(storeId: string, query: DocumentQuery = {}): AsyncGenerator<EvotorDocument> {
    const first: Query = { since: query.since ?? 0, until: query.until, types: query.types?.length ? query.types : undefined };
    return this.paged(`/stores/${seg(storeId)}/documents`, first, EvotorDocumentsPageSchema);
  }

  /**
   * One page of a store's documents: the first page of a query, or the page a cursor points to (a cursor
   * carries the whole query). For callers that keep the cursor themselves, e.g. across activity calls.
   */
  async listDocumentsPage(storeId: string, from: DocumentQuery | { cursor: string }): Promise<{ items: EvotorDocument[]; nextCursor?: string }> {
    const query: Query =
      'cursor' in from ? { cursor: from.cursor } : { since: from.since ?? 0, until: from.until, types: from.types?.length ? from.types : undefined };
    const page = await this.call('GET', `/stores/${seg(storeId)}/documents`, EvotorDocumentsPageSchema, { query });
    return { items: page.items, nextCursor: page.paging.next_cursor };
  }

  /** The store's whole product catalog, following cursors to the end (prices in kopecks). */
  async listProducts(storeId: string): Promise<EvotorProduct[]> {
    return collect(this.iterateProducts(storeId));
  }

  /** Same as listProducts, one page at a time. */
  iterateProducts(storeId: string): AsyncGenerator<EvotorProduct> {
    return this.paged(`/stores/${seg(storeId)}/products`, {}, EvotorProductsPageSchema);
  }

  /** null when the store has no product with this id (the Evotor uuid, as in a webhook's items[].id). */
  async getProduct(storeId: string, productId: string): Promise<EvotorProduct | null> {
    return this.call('GET', `/stores/${seg(storeId)}/products/${seg(productId)}`, EvotorProductSchema, { notFoundIsNull: true });
  }

  /** null when the store has no such document (or it has not been uploaded yet). */
  async getDocument(storeId: string, documentId: string): Promise<EvotorDocument | null> {
    return this.call('GET', `/stores/${seg(storeId)}/documents/${seg(documentId)}`, EvotorDocumentSchema, {
      notFoundIsNull: true,
    });
  }

  /**
   * Pushes a payload to our terminal app on the given devices. Not idempotent: a retry after a lost answer
   * sends a second push, so the payload must let the app recognise a repeat (it carries the order id).
   * The publisher API has no call to withdraw a push: active_till is the only way to retract one.
   */
  async sendPush(input: SendPushInput): Promise<EvotorPushTask> {
    const appId = this.requireAppId();
    if (input.devices.length < 1 || input.devices.length > 100) {
      throw new ExternalServiceError('evotor', 'BAD_REQUEST', 'a push needs 1 to 100 devices', false);
    }
    const activeTill = input.activeTill ?? new Date(Date.now() + DEFAULT_PUSH_LIFETIME_MS);
    const body = { devices: [...input.devices], payload: input.payload, active_till: formatEvotorDate(activeTill) };
    return this.call('POST', `/apps/${seg(appId)}/push-notifications`, EvotorPushTaskSchema, { body, publisher: true });
  }

  /** Status of a push per device; null when the publisher API does not know the id. */
  async getPush(pushId: string): Promise<EvotorPushTask | null> {
    const appId = this.requireAppId();
    return this.call('GET', `/apps/${seg(appId)}/push-notifications/${seg(pushId)}`, EvotorPushTaskSchema, {
      publisher: true,
      notFoundIsNull: true,
    });
  }

  private async *paged<T>(
    path: string,
    firstQuery: Query,
    schema: z.ZodType<{ items: T[]; paging: { next_cursor?: string } }>,
  ): AsyncGenerator<T> {
    let query = firstQuery;
    let previousCursor: string | undefined;
    for (;;) {
      const page = await this.call('GET', path, schema, { query });
      yield* page.items;
      const next = page.paging.next_cursor;
      if (!next) return;
      if (next === previousCursor) {
        throw new ExternalServiceError('evotor', 'INVALID_RESPONSE', `GET ${path}: the same cursor twice`, false);
      }
      previousCursor = next;
      // A cursor carries the whole query (as the cloud SDK sends it).
      query = { cursor: next };
    }
  }

  private call<T>(method: string, path: string, schema: z.ZodType<T>, opts: CallOptions & { notFoundIsNull: true }): Promise<T | null>;
  private call<T>(method: string, path: string, schema: z.ZodType<T>, opts?: CallOptions): Promise<T>;
  private async call<T>(method: string, path: string, schema: z.ZodType<T>, opts: CallOptions = {}): Promise<T | null> {
    await this.waitForRateLimit(method, path);
    const url = (opts.publisher ? this.publisherApiUrl : this.apiUrl) + path + queryString(opts.query);
    const headers: Record<string, string> = {
      authorization: `Bearer ${opts.publisher ? this.publisherToken : this.token}`,
      accept: MEDIA_TYPE,
    };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = MEDIA_TYPE;
      body = JSON.stringify(opts.body);
    }

    const started = Date.now();
    const signal = AbortSignal.timeout(this.timeoutMs);
    const metricMethod = `${method} ${pathShape(path)}`;
    const record = (outcome: string) => recordOutsideCall('evotor', metricMethod, outcome, (Date.now() - started) / 1000);
    let status: number;
    let text: string;
    let resHeaders: IncomingHttpHeaders;
    try {
      const res = await request(url, { method: method as 'GET' | 'POST', headers, body, signal: withActivityCancellation(signal) });
      status = res.statusCode;
      resHeaders = res.headers;
      text = await res.body.text();
    } catch (e) {
      try {
        throwIfActivityCancelled();
      } catch (cancelled) {
        record('cancelled');
        throw cancelled;
      }
      if (signal.aborted) {
        record('timeout');
        throw new ExternalServiceError('evotor', 'TIMEOUT', `${method} ${path}: no answer within ${this.timeoutMs} ms`, true);
      }
      record('network');
      throw new ExternalServiceError('evotor', 'NETWORK', `${method} ${path}: ${(e as Error).message}`, true);
    }
    const ms = Date.now() - started;
    this.noteRateLimit(status, resHeaders);
    record(status >= 200 && status < 300 ? 'ok' : status === 404 && opts.notFoundIsNull ? 'ok' : outcomeOf({ httpStatus: status, code: status === 429 ? 'RATE_LIMITED' : undefined }));

    if (status === 404 && opts.notFoundIsNull) {
      this.log.debug({ method, path, status, ms }, 'evotor call');
      return null;
    }
    if (status < 200 || status >= 300) {
      const err = this.httpError(method, path, status, resHeaders, text);
      this.log[err.retryable ? 'warn' : 'error']({ method, path, status, ms, code: err.code }, 'evotor call failed');
      throw err;
    }
    this.log.debug({ method, path, status, ms }, 'evotor call');

    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      throw new ExternalServiceError('evotor', 'INVALID_RESPONSE', `${method} ${path}: answer is not JSON`, false, status);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? `${issue.path.join('.')}: ${issue.message}` : 'schema mismatch';
      throw new ExternalServiceError('evotor', 'INVALID_RESPONSE', `${method} ${path}: ${where}`, false, status);
    }
    return parsed.data;
  }

  private httpError(method: string, path: string, status: number, headers: IncomingHttpHeaders, text: string): ExternalServiceError {
    const detail = errorDetail(text);
    const what = `${method} ${path}: HTTP ${status}${detail.message ? ` ${detail.message}` : ''}`;
    if (status === 429) {
      const now = Date.now();
      const retryAfterMs =
        retryAfterHeaderMs(header(headers, 'retry-after'), now) ??
        positive(resetAtMs(header(headers, 'x-ratelimit-reset'), now) - now) ??
        1000;
      return new ExternalServiceError('evotor', 'RATE_LIMITED', what, true, status, retryAfterMs);
    }
    const code = detail.code ?? httpCode(status);
    if (status >= 500) return new ExternalServiceError('evotor', code, what, true, status);
    return new ExternalServiceError('evotor', code, what, status === 408, status);
  }

  private noteRateLimit(status: number, headers: IncomingHttpHeaders): void {
    const now = Date.now();
    const remaining = Number(header(headers, 'x-ratelimit-remaining'));
    const resetAt = resetAtMs(header(headers, 'x-ratelimit-reset'), now);
    if (header(headers, 'x-ratelimit-remaining') !== undefined && remaining <= 0 && Number.isFinite(resetAt)) {
      this.blockedUntil = Math.max(this.blockedUntil, resetAt);
    }
    if (status === 429) {
      const after = retryAfterHeaderMs(header(headers, 'retry-after'), now);
      this.blockedUntil = Math.max(this.blockedUntil, after !== undefined ? now + after : Number.isFinite(resetAt) ? resetAt : now + 1000);
    }
  }

  private async waitForRateLimit(method: string, path: string): Promise<void> {
    const wait = this.blockedUntil - Date.now();
    if (wait <= 0) return;
    if (wait > this.maxRateLimitWaitMs) {
      throw new ExternalServiceError('evotor', 'RATE_LIMITED', `${method} ${path}: rate limit exhausted for ${wait} ms`, true, undefined, wait);
    }
    this.log.debug({ method, path, waitMs: wait }, 'evotor rate limit exhausted, waiting for reset');
    recordRateLimitWait('evotor', wait);
    await sleep(wait);
  }

  private requireAppId(): string {
    if (!this.appId) throw new ExternalServiceError('evotor', 'NOT_CONFIGURED', 'appId is not configured (EVOTOR_APP_ID)', false);
    return this.appId;
  }
}

/** "2026-01-23T10:48:57.000+0000", the date format of Evotor's own answers. */
export function formatEvotorDate(d: Date): string {
  return d.toISOString().replace('Z', '+0000');
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function baseUrl(url: string, name: string): string {
  try {
    return new URL(url).toString().replace(/\/+$/, '');
  } catch {
    throw new Error(`EvotorCloudClient: ${name} is not a URL`);
  }
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    // Repeated keys for lists, as the cloud SDK (Feign) sends them.
    if (Array.isArray(v)) for (const x of v) params.append(k, String(x));
    else params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** X-RateLimit-Reset as epoch ms, epoch seconds or seconds-from-now (the unit is not documented). */
function resetAtMs(value: string | undefined, now: number): number {
  if (value === undefined || value.trim() === '') return NaN;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) return NaN;
  if (n >= 1e12) return n;
  if (n >= 1e9) return n * 1000;
  return now + n * 1000;
}

function retryAfterHeaderMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function positive(n: number): number | undefined {
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function httpCode(status: number): string {
  switch (status) {
    case 400: return 'BAD_REQUEST';
    case 401: return 'UNAUTHORIZED';
    case 403: return 'FORBIDDEN';
    case 404: return 'NOT_FOUND';
    case 409: return 'CONFLICT';
    default: return `HTTP_${status}`;
  }
}

/** Evotor's error body: { code, message, violations: [{ reason, subject }] } (cloud SDK BadRequestException). */
function errorDetail(text: string): { code?: string; message?: string } {
  try {
    const b = JSON.parse(text) as { code?: unknown; message?: unknown; violations?: { reason?: unknown; subject?: unknown }[] };
    const violations = Array.isArray(b.violations)
      ? b.violations.map((v) => `${String(v.subject ?? '')} ${String(v.reason ?? '')}`.trim()).join('; ')
      : '';
    const message = [typeof b.message === 'string' ? b.message : '', violations].filter(Boolean).join(': ');
    return {
      code: typeof b.code === 'string' || typeof b.code === 'number' ? String(b.code) : undefined,
      message: message ? message.slice(0, 300) : undefined,
    };
  } catch {
    return {};
  }
}
