import { Agent, request } from 'undici';
import type { z } from 'zod';
import { kopecksToRubleNumber, type Kopecks } from '../../domain/money';
import type { OrderPayment, OrderShipment, OrderSnapshot } from '../../domain/order';
import { createLogger, type Logger } from '../../lib/logger';
import { outcomeOf, recordOutsideCall, recordRateLimitWait } from '../../lib/metrics';
import { throwIfActivityCancelled, withActivityCancellation } from '../shared/cancellation';
import { ExternalServiceError } from '../shared/errors';
import {
  batchResultSchema,
  booleanResultSchema,
  cashboxHandlerListResultSchema,
  cashboxIdResultSchema,
  cashboxListResultSchema,
  cashboxTrueResultSchema,
  documentElementResultSchema,
  documentListResultSchema,
  documentAddResultSchema,
  documentModeResultSchema,
  errorEnvelopeSchema,
  orderGetResultSchema,
  orderListResultSchema,
  orderUpdateResultSchema,
  paymentListResultSchema,
  paymentResultSchema,
  paymentUpdateResultSchema,
  shipmentUpdateResultSchema,
  statusListResultSchema,
  storeListResultSchema,
  storeProductListResultSchema,
  successEnvelopeSchema,
} from './schemas';

export interface BitrixClientOptions {
  /** Inbound webhook base, e.g. https://portal/rest/1/<code>/. A secret: never logged. */
  restUrl: string;
  /** Per-request limit for the response headers and for each pause in the body. Default 30 s. */
  timeoutMs?: number;
  /** Attempts for rate-limited calls before the error surfaces (as retryable). Default 3. */
  maxAttempts?: number;
  /** First backoff delay after a rate-limit answer; doubles per attempt. Default 500 ms. */
  retryBaseDelayMs?: number;
  logger?: Logger;
}

export interface BitrixResponse<T> {
  result: T;
  total?: number;
  next?: number;
}

export type BitrixParams = Record<string, unknown>;
export type BatchCommands = Record<string, { method: string; params?: BitrixParams }>;
export interface BatchCommandError {
  error: string;
  error_description: string;
}
export interface BatchResult {
  results: Record<string, unknown>;
  errors: Record<string, BatchCommandError>;
}

export type BitrixFilter = Record<string, unknown>;

export interface BitrixOrderListItem {
  id: string;
  accountNumber?: string;
  statusId?: string;
  paid?: boolean;
  canceled?: boolean;
  deducted?: boolean;
  total?: Kopecks;
  currency?: string;
  dateUpdate?: string;
  xmlId?: string;
}

export interface BitrixPayment extends OrderPayment {
  orderId: string;
  datePaid?: string;
  comments?: string;
  xmlId?: string;
  /** The refund: its document number, date and comment (what our refunds write). */
  payReturnNum?: string;
  payReturnDate?: string;
  payReturnComment?: string;
}

export interface BitrixCashboxHandler {
  id: string;
  code: string;
  printUrl?: string;
  checkUrl?: string;
}

export interface CashboxHandlerFields {
  code: string;
  name: string;
  /** PRINT_URL, CHECK_URL, HTTP_VERSION, CONFIG (the settings form the administrator sees). */
  settings: Record<string, unknown>;
}

export interface BitrixCashbox {
  id: string;
  name?: string;
  numberKkm: string;
  active?: 'Y' | 'N';
}

export interface CashboxFields {
  name: string;
  handlerCode: string;
  /** Where Bitrix sends print errors (required by sale.cashbox.add). */
  email: string;
  numberKkm: string;
  /** Values of the handler's CONFIG sections, e.g. { AUTH: { TOKEN } }. */
  settings: Record<string, Record<string, string>>;
}

export interface OrderUpdateFields {
  statusId?: string;
  canceled?: boolean;
  reasonCanceled?: string;
  comments?: string;
  xmlId?: string;
}

export interface PaymentFields {
  paid?: boolean;
  /** ISO 8601. Set it yourself with paid: whether Bitrix fills it over REST is unconfirmed. */
  datePaid?: string;
  sum?: Kopecks;
  /** The payment's id in the outside system: our terminal transaction id. */
  psInvoiceId?: string;
  psStatus?: string;
  psStatusCode?: string;
  psStatusMessage?: string;
  psSum?: Kopecks;
  psCurrency?: string;
  psResponseDate?: string;
  isReturn?: 'N' | 'Y' | 'P';
  payReturnNum?: string;
  payReturnDate?: string;
  payReturnComment?: string;
  comments?: string;
  xmlId?: string;
}

export interface PaymentAddFields extends PaymentFields {
  orderId: string;
  paySystemId: string;
}

export interface ShipmentUpdateFields {
  allowDelivery: boolean;
  deducted: boolean;
  deliveryId: string;
  statusId?: string;
  comments?: string;
}

export interface BitrixStatus {
  id: string;
  /** "O" order status, "D" delivery status. */
  type: string;
  sort?: number;
}

export interface BitrixStore {
  id: string;
  title: string;
  active: boolean;
  code?: string;
  xmlId?: string;
}

export interface BitrixStoreProduct {
  id: string;
  productId?: string;
  storeId?: string;
  amount?: number;
  quantityReserved: number;
}

/** A arrival, S store adjustment, M moving, R return, D deduct (write-off). */
export type StoreDocumentType = 'A' | 'S' | 'M' | 'R' | 'D';

export interface DocumentAddFields {
  docType: StoreDocumentType;
  currency: string;
  responsibleId: string;
  title?: string;
  commentary?: string;
}

export interface DocumentElementAddFields {
  docId: string;
  elementId: string;
  storeFrom?: string;
  storeTo?: string;
  amount: number;
  purchasingPrice?: Kopecks;
}

export interface BitrixDocument {
  id: string;
  docType?: string;
  /** "N" draft, "Y" conducted, "C" conduct cancelled. */
  status: string;
  title?: string;
  commentary?: string;
  currency?: string;
}

const BATCH_LIMIT = 50;

const RATE_LIMIT_CODES = new Set(['QUERY_LIMIT_EXCEEDED', 'OPERATION_TIME_LIMIT']);
const RETRYABLE_CODES = new Set([
  ...RATE_LIMIT_CODES,
  'OVERLOAD_LIMIT',
  'INTERNAL_SERVER_ERROR',
  'ERROR_UNEXPECTED_ANSWER',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const METHOD_NAME = /^[a-z][a-z0-9_.]*$/i;

export class BitrixClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly log: Logger;
  private readonly agent: Agent;

  constructor(opts: BitrixClientOptions) {
    this.baseUrl = opts.restUrl.endsWith('/') ? opts.restUrl : `${opts.restUrl}/`;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.retryBaseDelayMs = opts.retryBaseDelayMs ?? 500;
    this.log = (opts.logger ?? createLogger('bitrix-client')).child({ system: 'bitrix' });
    this.agent = new Agent({ connect: { timeout: this.timeoutMs } });
  }

  /** The portal's address (scheme, host, port): not a secret, unlike the webhook's path. */
  get portalOrigin(): string {
    return new URL(this.baseUrl).origin;
  }

  /** Calls one REST method; rate-limit answers are retried here, everything else surfaces at once. */
  async call<T = unknown>(method: string, params: BitrixParams = {}): Promise<BitrixResponse<T>> {
    if (!METHOD_NAME.test(method)) throw new RangeError(`not a Bitrix method name: ${JSON.stringify(method)}`);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.callOnce<T>(method, params);
      } catch (e) {
        // Only rate-limit answers are known not to have been applied, so only they are safe to repeat here.
        if (!(e instanceof ExternalServiceError) || !RATE_LIMIT_CODES.has(e.code) || attempt >= this.maxAttempts) throw e;
        const delay = e.retryAfterMs ?? this.retryBaseDelayMs * 2 ** (attempt - 1) * (1 + Math.random() / 2);
        this.log.warn({ method, attempt, code: e.code, delayMs: Math.round(delay) }, 'bitrix rate limit, backing off');
        recordRateLimitWait('bitrix', delay);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Up to 50 commands in one request (one hit on the rate limit). Per-command errors come back, not thrown. */
  async batch(commands: BatchCommands, opts: { halt?: boolean } = {}): Promise<BatchResult> {
    const keys = Object.keys(commands);
    if (keys.length > BATCH_LIMIT) throw new RangeError(`batch: ${keys.length} commands, at most ${BATCH_LIMIT}`);
    if (keys.length === 0) return { results: {}, errors: {} };
    const cmd: Record<string, string> = {};
    for (const key of keys) {
      const { method, params } = commands[key]!;
      if (!METHOD_NAME.test(method)) throw new RangeError(`batch: not a Bitrix method name: ${JSON.stringify(method)}`);
      const query = params ? toBitrixQuery(params) : '';
      cmd[key] = query ? `${method}?${query}` : method;
    }
    const { result } = await this.call('batch', { halt: opts.halt ? 1 : 0, cmd });
    const parsed = parseResult(batchResultSchema, result, 'batch');
    return { results: parsed.result, errors: parsed.result_error };
  }

  /** Reads every page of a list method (pages of 50, `next` passed back as `start`). */
  async listAll<T>(method: string, params: BitrixParams, pick: (result: unknown) => T[]): Promise<T[]> {
    const all: T[] = [];
    let start = 0;
    for (;;) {
      const page = await this.call(method, { ...params, start });
      all.push(...pick(page.result));
      if (page.next === undefined) return all;
      if (page.next <= start) {
        throw new ExternalServiceError('bitrix', 'INVALID_RESPONSE', `${method}: next ${page.next} does not advance past ${start}`, false);
      }
      start = page.next;
    }
  }

  async getOrder(id: string): Promise<OrderSnapshot> {
    const { result } = await this.call('sale.order.get', { id: wireId(id) });
    return parseResult(orderGetResultSchema, result, 'sale.order.get').order;
  }

  async listOrders(
    filter: BitrixFilter,
    select: string[] = ['id', 'accountNumber', 'statusId', 'payed', 'canceled', 'deducted', 'price', 'currency', 'dateUpdate', 'xmlId'],
  ): Promise<BitrixOrderListItem[]> {
    const fields = select.includes('id') ? select : ['id', ...select];
    return this.listAll('sale.order.list', { select: fields, filter, order: { id: 'asc' } }, (r) =>
      parseResult(orderListResultSchema, r, 'sale.order.list').orders,
    );
  }

  async updateOrder(id: string, fields: OrderUpdateFields): Promise<void> {
    const wire: BitrixParams = { ...fields };
    if (fields.canceled !== undefined) wire.canceled = yn(fields.canceled);
    const { result } = await this.call('sale.order.update', { id: wireId(id), fields: wire });
    parseResult(orderUpdateResultSchema, result, 'sale.order.update');
  }

  async listPayments(filter: BitrixFilter): Promise<BitrixPayment[]> {
    return this.listAll('sale.payment.list', { filter, order: { id: 'asc' } }, (r) =>
      parseResult(paymentListResultSchema, r, 'sale.payment.list').payments,
    );
  }

  async addPayment(fields: PaymentAddFields): Promise<BitrixPayment> {
    const wire = { ...paymentFieldsToWire(fields), orderId: wireId(fields.orderId), paySystemId: wireId(fields.paySystemId) };
    const { result } = await this.call('sale.payment.add', { fields: wire });
    return parseResult(paymentResultSchema, result, 'sale.payment.add').payment;
  }

  /**
   * Bitrix rejects sale.payment.update without paySystemId, so it is a parameter of its own. The echoed
   * payment (undefined when it does not parse) is not read by any flow: a write already applied must not
   * fail over a field of its answer.
   */
  async updatePayment(id: string, paySystemId: string, fields: PaymentFields): Promise<BitrixPayment | undefined> {
    const wire = { ...paymentFieldsToWire(fields), paySystemId: wireId(paySystemId) };
    const { result } = await this.call('sale.payment.update', { id: wireId(id), fields: wire });
    return parseResult(paymentUpdateResultSchema, result, 'sale.payment.update').payment;
  }

  /** deducted: true is how Bitrix writes the order's stock off its reserved warehouse. The echo is not read. */
  async updateShipment(id: string, fields: ShipmentUpdateFields): Promise<OrderShipment | undefined> {
    const wire: BitrixParams = {
      allowDelivery: yn(fields.allowDelivery),
      deducted: yn(fields.deducted),
      deliveryId: wireId(fields.deliveryId),
    };
    if (fields.statusId !== undefined) wire.statusId = fields.statusId;
    if (fields.comments !== undefined) wire.comments = fields.comments;
    const { result } = await this.call('sale.shipment.update', { id: wireId(id), fields: wire });
    return parseResult(shipmentUpdateResultSchema, result, 'sale.shipment.update').shipment;
  }

  async listStatuses(): Promise<BitrixStatus[]> {
    return this.listAll('sale.status.list', {}, (r) => parseResult(statusListResultSchema, r, 'sale.status.list').statuses);
  }

  async listStores(): Promise<BitrixStore[]> {
    return this.listAll('catalog.store.list', {}, (r) => parseResult(storeListResultSchema, r, 'catalog.store.list').stores);
  }

  async listStoreProducts(filter: BitrixFilter): Promise<BitrixStoreProduct[]> {
    return this.listAll('catalog.storeproduct.list', { filter }, (r) =>
      parseResult(storeProductListResultSchema, r, 'catalog.storeproduct.list').storeProducts,
    );
  }

  async addDocument(fields: DocumentAddFields): Promise<string> {
    const wire = { ...fields, responsibleId: wireId(fields.responsibleId) };
    const { result } = await this.call('catalog.document.add', { fields: wire });
    return parseResult(documentAddResultSchema, result, 'catalog.document.add').document.id;
  }

  async addDocumentElement(fields: DocumentElementAddFields): Promise<string> {
    const wire: BitrixParams = { docId: wireId(fields.docId), elementId: wireId(fields.elementId), amount: fields.amount };
    if (fields.storeFrom !== undefined) wire.storeFrom = wireId(fields.storeFrom);
    if (fields.storeTo !== undefined) wire.storeTo = wireId(fields.storeTo);
    if (fields.purchasingPrice !== undefined) wire.purchasingPrice = kopecksToRubleNumber(fields.purchasingPrice);
    const { result } = await this.call('catalog.document.element.add', { fields: wire });
    return parseResult(documentElementResultSchema, result, 'catalog.document.element.add').documentElement.id;
  }

  async conductDocument(id: string): Promise<void> {
    const { result } = await this.call('catalog.document.conduct', { id: wireId(id) });
    parseResult(booleanResultSchema, result, 'catalog.document.conduct');
  }

  async cancelDocument(id: string): Promise<void> {
    const { result } = await this.call('catalog.document.cancel', { id: wireId(id) });
    parseResult(booleanResultSchema, result, 'catalog.document.cancel');
  }

  async listDocuments(filter: BitrixFilter): Promise<BitrixDocument[]> {
    return this.listAll('catalog.document.list', { filter, order: { id: 'asc' } }, (r) =>
      parseResult(documentListResultSchema, r, 'catalog.document.list').documents,
    );
  }

  /** Whether inventory accounting (store documents) is on. */
  async documentModeStatus(): Promise<boolean> {
    const { result } = await this.call('catalog.document.mode.status');
    return parseResult(documentModeResultSchema, result, 'catalog.document.mode.status');
  }

  // REST cashboxes (sale.cashbox.*, docs/external-apis.md §1a): upper-case parameters, plain-array lists.

  async listCashboxHandlers(): Promise<BitrixCashboxHandler[]> {
    const { result } = await this.call('sale.cashbox.handler.list');
    return parseResult(cashboxHandlerListResultSchema, result, 'sale.cashbox.handler.list').map((h) => ({
      id: h.ID,
      code: h.CODE,
      printUrl: h.SETTINGS?.PRINT_URL,
      checkUrl: h.SETTINGS?.CHECK_URL,
    }));
  }

  async addCashboxHandler(fields: CashboxHandlerFields): Promise<string> {
    const { result } = await this.call('sale.cashbox.handler.add', { CODE: fields.code, NAME: fields.name, SORT: 100, SUPPORTS_FFD105: 'Y', SETTINGS: fields.settings });
    return parseResult(cashboxIdResultSchema, result, 'sale.cashbox.handler.add');
  }

  async updateCashboxHandler(id: string, fields: Omit<CashboxHandlerFields, 'code'>): Promise<void> {
    const { result } = await this.call('sale.cashbox.handler.update', { ID: wireId(id), FIELDS: { NAME: fields.name, SETTINGS: fields.settings } });
    parseResult(cashboxTrueResultSchema, result, 'sale.cashbox.handler.update');
  }

  async listCashboxes(): Promise<BitrixCashbox[]> {
    const { result } = await this.call('sale.cashbox.list', { SELECT: ['ID', 'NAME', 'NUMBER_KKM', 'ACTIVE'] });
    return parseResult(cashboxListResultSchema, result, 'sale.cashbox.list').map((c) => ({ id: c.ID, name: c.NAME, numberKkm: c.NUMBER_KKM, active: c.ACTIVE }));
  }

  async addCashbox(fields: CashboxFields): Promise<string> {
    const { result } = await this.call('sale.cashbox.add', {
      NAME: fields.name,
      REST_CODE: fields.handlerCode,
      EMAIL: fields.email,
      NUMBER_KKM: fields.numberKkm,
      ACTIVE: 'Y',
      USE_OFFLINE: 'N',
      SETTINGS: fields.settings,
    });
    return parseResult(cashboxIdResultSchema, result, 'sale.cashbox.add');
  }

  async updateCashbox(id: string, fields: Pick<CashboxFields, 'settings'>): Promise<void> {
    const { result } = await this.call('sale.cashbox.update', { ID: wireId(id), FIELDS: { SETTINGS: fields.settings } });
    parseResult(cashboxTrueResultSchema, result, 'sale.cashbox.update');
  }

  /** Saves a check's print result; Bitrix overwrites it when applied again (the same data: nothing changes). */
  async applyCashboxCheck(fields: Record<string, string>): Promise<void> {
    const { result } = await this.call('sale.cashbox.check.apply', fields);
    parseResult(cashboxTrueResultSchema, result, 'sale.cashbox.check.apply');
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async callOnce<T>(method: string, params: BitrixParams): Promise<BitrixResponse<T>> {
    const started = Date.now();
    let status: number;
    let text: string;
    let retryAfter: string | string[] | undefined;
    const metricMethod = method.toLowerCase();
    try {
      const res = await request(`${this.baseUrl}${method}.json`, {
        method: 'POST',
        dispatcher: this.agent,
        // A worker shutting down (past its grace time) cancels its activities: the call is abandoned at once.
        signal: withActivityCancellation(),
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(params),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      status = res.statusCode;
      retryAfter = res.headers['retry-after'];
      text = await res.body.text();
    } catch (e) {
      const seconds = (Date.now() - started) / 1000;
      try {
        throwIfActivityCancelled();
      } catch (cancelled) {
        recordOutsideCall('bitrix', metricMethod, 'cancelled', seconds);
        this.log.warn({ method, durationMs: Date.now() - started }, 'bitrix call abandoned: the activity was cancelled');
        throw cancelled;
      }
      const err = transportError(e);
      recordOutsideCall('bitrix', metricMethod, outcomeOf(err), seconds);
      this.log.warn({ method, code: err.code, durationMs: Date.now() - started }, 'bitrix call failed in transport');
      throw err;
    }
    this.log.debug({ method, status, durationMs: Date.now() - started }, 'bitrix call');
    const seconds = (Date.now() - started) / 1000;
    try {
      const parsed = parseEnvelope<T>(method, status, text, retryAfterMs(retryAfter));
      recordOutsideCall('bitrix', metricMethod, 'ok', seconds);
      return parsed;
    } catch (e) {
      recordOutsideCall('bitrix', metricMethod, outcomeOf(e), seconds);
      throw e;
    }
  }
}

/**
 * Encodes params the way Bitrix (PHP) reads a query string: nested keys in brackets
 * (`fields[items][0][x]=1`), values URL-encoded, booleans as 1/0, null/undefined left out.
 */
export function toBitrixQuery(params: BitrixParams): string {
  const parts: string[] = [];
  const add = (key: string, value: unknown): void => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => add(`${key}[${i}]`, v));
    } else if (value instanceof Date) {
      parts.push(`${key}=${encodeURIComponent(value.toISOString())}`);
    } else if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) add(`${key}[${encodeURIComponent(k)}]`, v);
    } else {
      const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
      parts.push(`${key}=${encodeURIComponent(text)}`);
    }
  };
  for (const [k, v] of Object.entries(params)) add(encodeURIComponent(k), v);
  return parts.join('&');
}

/** Whether a Bitrix error code (with its HTTP status) can succeed on a later attempt. */
function isRetryableBitrixError(code: string, httpStatus?: number): boolean {
  return RETRYABLE_CODES.has(code) || (httpStatus !== undefined && httpStatus >= 500);
}

function parseEnvelope<T>(method: string, status: number, text: string, retryAfterMs?: number): BitrixResponse<T> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = errorEnvelopeSchema.safeParse(body);
  if (error.success) {
    const code = String(error.data.error);
    throw new ExternalServiceError(
      'bitrix',
      code,
      `${method}: ${error.data.error_description || `HTTP ${status}`}`,
      isRetryableBitrixError(code, status),
      status,
      retryAfterMs,
    );
  }
  const ok = successEnvelopeSchema.safeParse(body);
  if (status >= 200 && status < 300 && ok.success && 'result' in (body as object)) {
    const { result, total, next } = ok.data;
    return { result: result as T, ...(total !== undefined ? { total } : {}), ...(next !== undefined ? { next } : {}) };
  }
  if (status >= 200 && status < 300 && !ok.success && body && typeof body === 'object' && 'result' in body) {
    // A success envelope with a field we read (next) in the wrong shape: name it.
    const where = ok.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ExternalServiceError('bitrix', 'INVALID_RESPONSE', `${method}: unexpected envelope: ${where}`, false, status);
  }
  throw new ExternalServiceError(
    'bitrix',
    status >= 500 ? `HTTP_${status}` : 'INVALID_RESPONSE',
    `${method}: unexpected HTTP ${status} answer that is not a Bitrix envelope`,
    status >= 500 || status === 429,
    status,
    retryAfterMs,
  );
}

function transportError(e: unknown): ExternalServiceError {
  const code = (e as { code?: unknown })?.code;
  const name = typeof code === 'string' ? code : e instanceof Error ? e.name : 'UNKNOWN';
  if (TIMEOUT_CODES.has(name)) return new ExternalServiceError('bitrix', 'TIMEOUT', `no answer in time (${name})`, true);
  return new ExternalServiceError('bitrix', 'NETWORK', `transport failure (${name})`, true);
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** Parses a `result` (or one command's result of a batch); a mismatch is non-retryable and names the field paths. */
export function parseResult<S extends z.ZodType>(schema: S, value: unknown, method: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  // Paths and messages only: values could carry personal data.
  const where = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  throw new ExternalServiceError('bitrix', 'INVALID_RESPONSE', `${method}: unexpected result shape: ${where}`, false);
}

function paymentFieldsToWire(fields: PaymentFields): BitrixParams {
  const { paid, sum, psSum, ...rest } = fields;
  const wire: BitrixParams = { ...rest };
  for (const [k, v] of Object.entries(wire)) if (v === undefined) delete wire[k];
  if (paid !== undefined) wire.paid = yn(paid);
  if (sum !== undefined) wire.sum = kopecksToRubleNumber(sum);
  if (psSum !== undefined) wire.psSum = kopecksToRubleNumber(psSum);
  return wire;
}

function yn(v: boolean): 'Y' | 'N' {
  return v ? 'Y' : 'N';
}

/** Ids travel as numbers where they are numeric, as in Bitrix's own examples. */
function wireId(id: string): number | string {
  return /^\d+$/.test(id) && Number.isSafeInteger(Number(id)) ? Number(id) : id;
}
