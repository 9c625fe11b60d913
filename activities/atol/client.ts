import type { Dispatcher } from 'undici';
import { rublesToKopecks } from '../../domain/money';
import type { FiscalAttributes } from '../../domain/fiscal';
import { createLogger, type Logger } from '../../lib/logger';
import { ExternalServiceError } from '../shared/errors';
import { parseAtolDateTime } from './time';
import {
  atolCorrectionRequestSchema, atolReceiptRequestSchema, atolRegistrationResponseSchema, atolReportResponseSchema, atolTokenResponseSchema,
  type AtolCorrectionRequest, type AtolOperation, type AtolReceiptRequest, type AtolWireError,
} from './wire';
import { clip, requestJson, type JsonAnswer } from '../shared/http';

export interface AtolClientOptions {
  /** Base URL including the version, e.g. https://online.atol.ru/possystem/v5 */
  apiUrl: string;
  login: string;
  password: string;
  groupCode: string;
  /** Per HTTP request; default 30 s. */
  timeoutMs?: number;
  /** Least time between two requests to the group (ATOL allows ~1/s per register); default 1000 ms. */
  minRequestIntervalMs?: number;
  /** Zone of the register's clock, for `receipt_datetime`; default Europe/Moscow. */
  timeZone?: string;
  /** How long a token is reused; default 24 h (ATOL's lifetime). */
  tokenTtlMs?: number;
  logger?: Logger;
  dispatcher?: Dispatcher;
}

export interface AtolRegistration {
  uuid: string;
  /** ATOL already had this external_id (code 33): poll the original uuid, do not resend. */
  alreadyAccepted: boolean;
}

export interface AtolReportError {
  code: number;
  text: string;
  /** ATOL's error source: system | driver | timeout | agent | unknown. */
  type: string;
}

export interface AtolReport {
  status: 'wait' | 'done' | 'fail';
  fiscal?: FiscalAttributes;
  /** Why the register failed the receipt (status fail). Codes here are register codes, not service codes. */
  error?: AtolReportError;
}

/** ATOL service codes where the same request can never succeed (docs/external-apis.md §4). */
const NOT_RETRYABLE = new Set([12, 13, 14, 20, 21, 30, 31, 32, 40, 41]);
/** Codes where trying again later can help. 10/11 surface only after the one token refresh failed to help. */
const RETRYABLE = new Set([1, 10, 11, 50]);
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_TEXT = 300;

type HttpResult = JsonAnswer;

/** ATOL Online v5 over HTTP: token lifecycle, request spacing, typed retryable/non-retryable errors. */
export class AtolClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly minIntervalMs: number;
  private readonly timeZone: string;
  private readonly tokenTtlMs: number;
  private readonly log: Logger;
  private token?: { value: string; expiresAt: number };
  private tokenRequest?: Promise<string>;
  private nextSlotAt = 0;

  constructor(private readonly opts: AtolClientOptions) {
    this.baseUrl = opts.apiUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.minIntervalMs = opts.minRequestIntervalMs ?? 1000;
    this.timeZone = opts.timeZone ?? 'Europe/Moscow';
    this.tokenTtlMs = opts.tokenTtlMs ?? DAY_MS;
    this.log = opts.logger ?? createLogger('atol-client');
  }

  /** Registers a `sell` receipt; a repeated external_id answers the original uuid with alreadyAccepted. */
  sell(body: AtolReceiptRequest): Promise<AtolRegistration> {
    return this.register('sell', body);
  }

  /** Registers a `sell_refund` receipt, same contract as sell. */
  sellRefund(body: AtolReceiptRequest): Promise<AtolRegistration> {
    return this.register('sell_refund', body);
  }

  /** Registers a `sell_correction` receipt (a settlement whose receipt was not issued at the time), same contract as sell. */
  sellCorrection(body: AtolCorrectionRequest): Promise<AtolRegistration> {
    return this.register('sell_correction', body);
  }

  /** Reads the processing result; "not found yet" (code 34) is `wait`. */
  async getReport(uuid: string): Promise<AtolReport> {
    const res = await this.authorized('GET', `report/${encodeURIComponent(uuid)}`, undefined, 'report');
    const parsed = atolReportResponseSchema.safeParse(res.json);
    if (!parsed.success) throw badResponse(res, 'report', parsed.error.issues[0]?.path.join('.'));
    const { error, status, payload } = parsed.data;
    if (error?.code === 34) return { status: 'wait' };
    if (res.status >= 300) throw toServiceError(res, error ?? undefined);
    if (status === 'wait') return { status: 'wait' };
    if (status === 'fail') {
      return { status: 'fail', error: { code: error?.code ?? 0, text: clipText(error?.text ?? ''), type: error?.type ?? 'unknown' } };
    }
    if (status === 'done' && payload) {
      let receiptDateTime: string;
      let total: number;
      try {
        receiptDateTime = parseAtolDateTime(payload.receipt_datetime, this.timeZone).toISOString();
        total = rublesToKopecks(payload.total, 'payload.total');
      } catch {
        throw badResponse(res, 'report', 'payload.receipt_datetime or payload.total');
      }
      const fiscal: FiscalAttributes = {
        source: 'atol',
        fnNumber: String(payload.fn_number),
        fiscalDocumentNumber: String(payload.fiscal_document_number),
        fiscalSign: String(payload.fiscal_document_attribute),
        receiptDateTime,
        receiptNumber: String(payload.fiscal_receipt_number),
        shiftNumber: String(payload.shift_number),
        registrationNumber: String(payload.ecr_registration_number),
        total,
        ...(payload.ofd_receipt_url ? { ofdUrl: payload.ofd_receipt_url } : {}),
      };
      return { status: 'done', fiscal };
    }
    throw badResponse(res, 'report', 'status');
  }

  private async register(operation: AtolOperation, body: AtolReceiptRequest | AtolCorrectionRequest): Promise<AtolRegistration> {
    const check = (operation === 'sell_correction' ? atolCorrectionRequestSchema : atolReceiptRequestSchema).safeParse(body);
    if (!check.success) {
      const issue = check.error.issues[0];
      throw new ExternalServiceError('atol', 'INVALID_RECEIPT', `${operation} body: ${issue?.path.join('.')}: ${issue?.message}`, false);
    }
    const res = await this.authorized('POST', operation, body, operation);
    const parsed = atolRegistrationResponseSchema.safeParse(res.json);
    if (!parsed.success) throw badResponse(res, operation, parsed.error.issues[0]?.path.join('.'));
    const { uuid, error } = parsed.data;
    if (error?.code === 33) {
      if (!uuid) throw new ExternalServiceError('atol', '33', `${operation}: duplicate external_id answered without the original uuid`, false, res.status);
      this.log.info({ operation, externalId: body.external_id, uuid }, 'atol: receipt was already accepted');
      return { uuid, alreadyAccepted: true };
    }
    if (error || res.status >= 300) throw toServiceError(res, error ?? undefined);
    if (!uuid) throw badResponse(res, operation, 'uuid');
    this.log.info({ operation, externalId: body.external_id, uuid }, 'atol: receipt accepted');
    return { uuid, alreadyAccepted: false };
  }

  /** One request with the cached token; on an expired/rejected token, one new token and one retry. */
  private async authorized(method: 'GET' | 'POST', path: string, body: unknown, what: string): Promise<HttpResult> {
    const url = `${this.baseUrl}/${encodeURIComponent(this.opts.groupCode)}/${path}`;
    const token = await this.currentToken();
    const first = await this.send(method, url, body, token, what, true);
    if (!isTokenProblem(first)) return first;
    this.log.info({ what, httpStatus: first.status, code: errorCodeOf(first.json) }, 'atol: token rejected, fetching a new one');
    if (this.token?.value === token) this.token = undefined;
    const fresh = await this.currentToken();
    return this.send(method, url, body, fresh, what, true);
  }

  private currentToken(): Promise<string> {
    if (this.token && Date.now() < this.token.expiresAt) return Promise.resolve(this.token.value);
    // Concurrent callers share one getToken.
    this.tokenRequest ??= this.fetchToken().finally(() => { this.tokenRequest = undefined; });
    return this.tokenRequest;
  }

  private async fetchToken(): Promise<string> {
    const res = await this.send('POST', `${this.baseUrl}/getToken`, { login: this.opts.login, pass: this.opts.password }, undefined, 'getToken', false);
    const parsed = atolTokenResponseSchema.safeParse(res.json);
    if (!parsed.success) throw badResponse(res, 'getToken', parsed.error.issues[0]?.path.join('.'));
    const { token, error } = parsed.data;
    if (error || res.status >= 300) throw toServiceError(res, error ?? undefined);
    if (!token) throw badResponse(res, 'getToken', 'token');
    this.token = { value: token, expiresAt: Date.now() + this.tokenTtlMs };
    this.log.info('atol: new token obtained');
    return token;
  }

  private async send(
    method: 'GET' | 'POST', url: string, body: unknown, token: string | undefined, what: string, spaced: boolean,
  ): Promise<HttpResult> {
    if (spaced) await this.waitForSlot();
    const answer = await requestJson({
      system: 'atol', what, method, url, body,
      headers: token ? { token } : {},
      timeoutMs: this.timeoutMs, dispatcher: this.opts.dispatcher, log: this.log,
    });
    this.log.debug({ what, httpStatus: answer.status, code: errorCodeOf(answer.json) }, 'atol: answered');
    return answer;
  }

  private async waitForSlot(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.nextSlotAt);
    this.nextSlotAt = at + this.minIntervalMs;
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }
}

/** Turns an ATOL error (or a bare HTTP failure) into an ExternalServiceError that says whether a retry can help. */
export function toServiceError(res: { status: number; retryAfterMs?: number }, error?: AtolWireError): ExternalServiceError {
  if (!error) {
    const retryable = res.status >= 500 || res.status === 429;
    return new ExternalServiceError('atol', `HTTP_${res.status}`, `HTTP ${res.status} without an ATOL error`, retryable, res.status, res.retryAfterMs);
  }
  return new ExternalServiceError('atol', String(error.code), clipText(error.text ?? 'no text'), isRetryable(error.code, res.status), res.status, res.retryAfterMs);
}

/** Whether ATOL error `code` (answered with `httpStatus`) can succeed on a later attempt. */
export function isRetryable(code: number, httpStatus: number): boolean {
  if (NOT_RETRYABLE.has(code)) return false;
  if (RETRYABLE.has(code)) return true;
  return httpStatus >= 500 || httpStatus === 429;
}

function isTokenProblem(res: HttpResult): boolean {
  return res.status === 401 || errorCodeOf(res.json) === 11;
}

function errorCodeOf(json: unknown): number | undefined {
  if (json && typeof json === 'object' && 'error' in json) {
    const error = (json as { error?: unknown }).error;
    if (error && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'number') {
      return (error as { code: number }).code;
    }
  }
  return undefined;
}

function badResponse(res: HttpResult, what: string, field?: string): ExternalServiceError {
  if (res.status >= 300) return toServiceError(res, undefined);
  return new ExternalServiceError('atol', 'BAD_RESPONSE', `${what}: unexpected answer${field ? ` (field ${field})` : ''}`, false, res.status);
}

function clipText(text: string): string {
  return clip(text, MAX_TEXT);
}
