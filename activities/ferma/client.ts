import type { Dispatcher } from 'undici';
import type { FiscalAttributes } from '../../domain/fiscal';
import { createLogger, type Logger } from '../../lib/logger';
import { ExternalServiceError } from '../shared/errors';
import {
  FermaErrorCode, FermaStatusCode, fermaAuthResponseSchema, fermaReceiptRequestSchema, fermaReceiptResponseSchema,
  fermaStatusResponseSchema,
  type FermaReceiptRequest, type FermaStage, type FermaStatusData, type FermaStatusRequest, type FermaWireError,
} from './wire';
import { clip, requestJson, type JsonAnswer } from '../shared/http';

export interface FermaClientOptions {
  /** Base URL including /api, e.g. https://ferma.ofd.ru/api (test: https://ferma-test.ofd.ru/api). */
  apiUrl: string;
  login: string;
  password: string;
  /** Per HTTP request; default 30 s. */
  timeoutMs?: number;
  /** A token is replaced this long before its ExpirationDateUtc; default 5 min. */
  tokenRefreshMarginMs?: number;
  /** Lifetime assumed when Ferma's answer has no readable ExpirationDateUtc; default 1 h. */
  fallbackTokenTtlMs?: number;
  /** Which stage counts as done: CONFIRMED by the OFD (default) or PROCESSED by the register. */
  doneAt?: 'processed' | 'confirmed';
  /** Error codes meaning the token is missing or expired (besides HTTP 401). Ferma's real codes are *unconfirmed*. */
  tokenErrorCodes?: number[];
  /** Error codes meaning "a receipt with this InvoiceId already exists"; default [1019]. */
  duplicateInvoiceIdCodes?: number[];
  logger?: Logger;
  dispatcher?: Dispatcher;
}

export interface FermaRegistration {
  receiptId: string;
  invoiceId: string;
  /** Ferma already had this InvoiceId: the original receipt is returned, nothing new was registered. */
  alreadyAccepted: boolean;
}

export type FermaReceiptRef = { receiptId: string } | { invoiceId: string };

export interface FermaReceiptStatus {
  status: 'wait' | 'done' | 'fail';
  /** Ferma's own stage: NEW → PROCESSED (fiscalized by the register) → CONFIRMED (by the OFD), or KKT_ERROR. */
  stage: FermaStage;
  receiptId?: string;
  /** Present once the register has fiscalized the receipt (PROCESSED or CONFIRMED). */
  fiscal?: FiscalAttributes;
  /** Why the register failed the receipt (KKT_ERROR). */
  error?: { code: number; message: string };
}

/** Codes where the same request can succeed later. Anything else Ferma refuses needs a changed request or a person. */
const RETRYABLE = new Set<number>([FermaErrorCode.rateLimited, FermaErrorCode.server]);
const MINUTE_MS = 60_000;
const MAX_TEXT = 300;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

type HttpResult = JsonAnswer;

/** OFD.ru Ferma over HTTP: token lifecycle, idempotent registration by InvoiceId, typed retryable/non-retryable errors. */
export class FermaClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly refreshMarginMs: number;
  private readonly fallbackTtlMs: number;
  private readonly doneAt: 'processed' | 'confirmed';
  private readonly tokenCodes: ReadonlySet<number>;
  private readonly duplicateCodes: ReadonlySet<number>;
  private readonly log: Logger;
  private token?: { value: string; renewAt: number };
  private tokenRequest?: Promise<string>;

  constructor(private readonly opts: FermaClientOptions) {
    this.baseUrl = opts.apiUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.refreshMarginMs = opts.tokenRefreshMarginMs ?? 5 * MINUTE_MS;
    this.fallbackTtlMs = opts.fallbackTokenTtlMs ?? 60 * MINUTE_MS;
    this.doneAt = opts.doneAt ?? 'confirmed';
    this.tokenCodes = new Set(opts.tokenErrorCodes ?? [FermaErrorCode.missingToken, FermaErrorCode.expiredToken]);
    this.duplicateCodes = new Set(opts.duplicateInvoiceIdCodes ?? [FermaErrorCode.duplicateInvoiceId]);
    this.log = opts.logger ?? createLogger('ferma-client');
  }

  /**
   * Registers an Income or IncomeReturn receipt. A repeated InvoiceId is not an error: the original
   * receipt is looked up by InvoiceId and returned with alreadyAccepted.
   */
  async register(body: FermaReceiptRequest): Promise<FermaRegistration> {
    const check = fermaReceiptRequestSchema.safeParse(body);
    if (!check.success) {
      const issue = check.error.issues[0];
      throw new ExternalServiceError('ferma', 'INVALID_RECEIPT', `receipt body: ${issue?.path.join('.')}: ${issue?.message}`, false);
    }
    const { Type: type, InvoiceId: invoiceId } = body.Request;
    const res = await this.authorized('kkt/cloud/receipt', body, 'receipt');
    const parsed = fermaReceiptResponseSchema.safeParse(res.json);
    if (!parsed.success) throw badResponse(res, 'receipt', parsed.error.issues[0]?.path.join('.'));
    const { Status, Data, Error: error } = parsed.data;
    if (error && this.duplicateCodes.has(error.Code)) return this.original(invoiceId, type, error);
    if (Status !== 'Success' || error || res.status >= 300) throw toServiceError(res, error ?? undefined);
    if (!Data?.ReceiptId) throw badResponse(res, 'receipt', 'Data.ReceiptId');
    this.log.info({ type, invoiceId, receiptId: Data.ReceiptId }, 'ferma: receipt accepted');
    return { receiptId: Data.ReceiptId, invoiceId, alreadyAccepted: false };
  }

  /** Reads a receipt's stage and, once fiscalized, its fiscal attributes. */
  async getStatus(ref: FermaReceiptRef): Promise<FermaReceiptStatus> {
    return this.toStatus(await this.readStatus(ref));
  }

  /** The receipt Ferma already holds for `invoiceId` (after a duplicate answer). */
  private async original(invoiceId: string, type: string, duplicate: FermaWireError): Promise<FermaRegistration> {
    // Older document versions leave ReceiptId out of the status; some put it into the duplicate message as --id--.
    const fromMessage = UUID.exec(duplicate.Message ?? '')?.[0];
    let receiptId: string | undefined;
    try {
      receiptId = (await this.readStatus({ invoiceId })).ReceiptId ?? fromMessage;
    } catch (e) {
      if (!(e instanceof ExternalServiceError) || e.retryable) throw e;
      // The receipt exists (Ferma said so); a status that cannot be read yet is worth another attempt.
      if (!fromMessage) throw new ExternalServiceError('ferma', e.code, 'receipt: InvoiceId already exists, but its status cannot be read yet', true, e.httpStatus);
      receiptId = fromMessage;
    }
    if (!receiptId) {
      throw new ExternalServiceError('ferma', String(duplicate.Code), `receipt: InvoiceId already exists, but Ferma named no ReceiptId for it`, false);
    }
    this.log.info({ type, invoiceId, receiptId }, 'ferma: receipt was already accepted');
    return { receiptId, invoiceId, alreadyAccepted: true };
  }

  private async readStatus(ref: FermaReceiptRef): Promise<FermaStatusData> {
    const body: FermaStatusRequest = 'receiptId' in ref ? { Request: { ReceiptId: ref.receiptId } } : { Request: { InvoiceId: ref.invoiceId } };
    const res = await this.authorized('kkt/cloud/status', body, 'status');
    const parsed = fermaStatusResponseSchema.safeParse(res.json);
    if (!parsed.success) throw badResponse(res, 'status', parsed.error.issues[0]?.path.join('.'));
    const { Status, Data, Error: error } = parsed.data;
    if (Status !== 'Success' || error || res.status >= 300) throw toServiceError(res, error ?? undefined);
    if (!Data) throw badResponse(res, 'status', 'Data');
    return Data;
  }

  private toStatus(data: FermaStatusData): FermaReceiptStatus {
    const stage = stageOf(data);
    if (!stage) throw unexpected('status', 'Data.StatusCode');
    const receiptId = data.ReceiptId ?? undefined;
    const base = { stage, ...(receiptId ? { receiptId } : {}) };
    if (stage === 'KKT_ERROR') {
      return { ...base, status: 'fail', error: { code: FermaStatusCode.KKT_ERROR, message: clipText(data.StatusMessage ?? 'no reason given') } };
    }
    const fiscal = stage === 'NEW' ? undefined : fiscalOf(data);
    const done = stage === 'CONFIRMED' || (stage === 'PROCESSED' && this.doneAt === 'processed');
    if (done && !fiscal) throw unexpected('status', 'Data.Device or Data.ReceiptDateUtc');
    return { ...base, status: done ? 'done' : 'wait', ...(fiscal ? { fiscal } : {}) };
  }

  /** One request with the cached token; on a missing/expired token, one new token and one retry. */
  private async authorized(path: string, body: unknown, what: string): Promise<HttpResult> {
    const token = await this.currentToken();
    const first = await this.send(path, body, token, what);
    if (!this.isTokenProblem(first)) return first;
    this.log.info({ what, httpStatus: first.status, code: errorOf(first.json)?.Code }, 'ferma: token rejected, fetching a new one');
    if (this.token?.value === token) this.token = undefined;
    const fresh = await this.currentToken();
    const second = await this.send(path, body, fresh, what);
    if (!this.isTokenProblem(second)) return second;
    // A brand-new token refused as well: Ferma's side, worth a later attempt, never a third one now.
    const error = errorOf(second.json);
    throw new ExternalServiceError(
      'ferma', error ? String(error.Code) : `HTTP_${second.status}`,
      `${what}: a new token was refused too${error?.Message ? ` (${clipText(error.Message)})` : ''}`, true, second.status,
    );
  }

  private currentToken(): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return Promise.resolve(this.token.value);
    // Concurrent callers share one CreateAuthToken.
    this.tokenRequest ??= this.fetchToken().finally(() => { this.tokenRequest = undefined; });
    return this.tokenRequest;
  }

  private async fetchToken(): Promise<string> {
    const res = await this.send('Authorization/CreateAuthToken', { Login: this.opts.login, Password: this.opts.password }, undefined, 'CreateAuthToken');
    const parsed = fermaAuthResponseSchema.safeParse(res.json);
    if (!parsed.success) throw badResponse(res, 'CreateAuthToken', parsed.error.issues[0]?.path.join('.'));
    const { Status, Data, Error: error } = parsed.data;
    if (Status !== 'Success' || error || res.status >= 300) throw toServiceError(res, error ?? undefined);
    if (!Data?.AuthToken) throw badResponse(res, 'CreateAuthToken', 'Data.AuthToken');
    const now = Date.now();
    let expiresAt = parseUtc(Data.ExpirationDateUtc) ?? now + this.fallbackTtlMs;
    // Already expired on arrival means skewed clocks or a zone misread: trust the fallback, a 401 still refreshes.
    if (expiresAt <= now) expiresAt = now + this.fallbackTtlMs;
    // A token shorter-lived than twice the margin is used for half its life instead of not at all.
    const margin = Math.min(this.refreshMarginMs, Math.max(0, (expiresAt - now) / 2));
    this.token = { value: Data.AuthToken, renewAt: expiresAt - margin };
    this.log.info({ validForS: Math.round((expiresAt - now) / 1000) }, 'ferma: new token obtained');
    return Data.AuthToken;
  }

  private isTokenProblem(res: HttpResult): boolean {
    if (res.status === 401) return true;
    const error = errorOf(res.json);
    return error !== undefined && this.tokenCodes.has(error.Code);
  }

  private async send(path: string, body: unknown, token: string | undefined, what: string): Promise<HttpResult> {
    // The token travels in the query string: this URL must never reach a log or an error message.
    const url = `${this.baseUrl}/${path}${token ? `?AuthToken=${encodeURIComponent(token)}` : ''}`;
    const answer = await requestJson({
      system: 'ferma', what, method: 'POST', url, body,
      timeoutMs: this.timeoutMs, dispatcher: this.opts.dispatcher, log: this.log,
    });
    this.log.debug({ what, httpStatus: answer.status, code: errorOf(answer.json)?.Code }, 'ferma: answered');
    return answer;
  }
}

/** Turns a Ferma error (or a bare HTTP failure) into an ExternalServiceError that says whether a retry can help. */
export function toServiceError(res: { status: number; retryAfterMs?: number }, error?: FermaWireError): ExternalServiceError {
  if (!error) {
    const retryable = res.status >= 500 || res.status === 429;
    return new ExternalServiceError('ferma', `HTTP_${res.status}`, `HTTP ${res.status} without a Ferma error`, retryable, res.status, res.retryAfterMs);
  }
  return new ExternalServiceError('ferma', String(error.Code), clipText(error.Message ?? 'no message'), isRetryable(error.Code, res.status), res.status, res.retryAfterMs);
}

/** Whether Ferma error `code` (answered with `httpStatus`) can succeed on a later attempt. */
export function isRetryable(code: number, httpStatus: number): boolean {
  return RETRYABLE.has(code) || httpStatus >= 500 || httpStatus === 429;
}

function stageOf(data: FermaStatusData): FermaStage | undefined {
  const byCode = (Object.keys(FermaStatusCode) as FermaStage[]).find((k) => FermaStatusCode[k] === data.StatusCode);
  const byName = data.StatusName ? (Object.keys(FermaStatusCode) as FermaStage[]).find((k) => k === data.StatusName) : undefined;
  return byName ?? byCode;
}

function fiscalOf(data: FermaStatusData): FiscalAttributes | undefined {
  const device = data.Device;
  const at = parseUtc(data.ReceiptDateUtc);
  if (!device || at === undefined) return undefined;
  const text = (v: string | number | null | undefined): string | undefined => (v === null || v === undefined || v === '' ? undefined : String(v));
  const receiptNumber = text(device.ReceiptNumInShift);
  const shiftNumber = text(device.ShiftNumber);
  return {
    source: 'ferma',
    fnNumber: String(device.FN),
    fiscalDocumentNumber: String(device.FDN),
    fiscalSign: String(device.FPD),
    receiptDateTime: new Date(at).toISOString(),
    registrationNumber: String(device.RNM),
    ...(receiptNumber ? { receiptNumber } : {}),
    ...(shiftNumber ? { shiftNumber } : {}),
    ...(device.OfdReceiptUrl ? { ofdUrl: device.OfdReceiptUrl } : {}),
  };
}

/** Ferma's `…DateUtc` (ISO without a zone designator, meaning UTC; an explicit offset is honoured). */
function parseUtc(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  const trimmed = text.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(trimmed)) return undefined;
  const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(trimmed) ? trimmed : `${trimmed}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

function errorOf(json: unknown): FermaWireError | undefined {
  if (json && typeof json === 'object' && 'Error' in json) {
    const error = (json as { Error?: unknown }).Error;
    if (error && typeof error === 'object' && typeof (error as { Code?: unknown }).Code === 'number') return error as FermaWireError;
  }
  return undefined;
}

function badResponse(res: HttpResult, what: string, field?: string): ExternalServiceError {
  if (res.status >= 300) return toServiceError(res, errorOf(res.json));
  return unexpected(what, field, res.status);
}

function unexpected(what: string, field?: string, httpStatus = 200): ExternalServiceError {
  return new ExternalServiceError('ferma', 'BAD_RESPONSE', `${what}: unexpected answer${field ? ` (field ${field})` : ''}`, false, httpStatus);
}

function clipText(text: string): string {
  return clip(text, MAX_TEXT);
}
