import { randomUUID, createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { createLogger } from '../../lib/logger';
import {
  createCloudRegister, parseJson, rawBody,
  type CallbackDelivery, type CloudRegisterSimulator, type CloudRegisterSimulatorOptions, type CloudRegisterState,
} from '../shared/cloud-register';
import { cloudRegisterFaultsSchema } from '../shared/request-faults';
import { parseTimestamp, validateCorrectionBody, validateReceiptBody } from './validate';

/**
 * ATOL Online v5 stand-in: tokens that expire, sell/sell_refund/sell_correction with v5 validation, idempotency by
 * external_id (code 33), asynchronous processing to done/fail, reports, callbacks, a per-group rate limit
 * and injectable faults. Speaks the wire format of docs/external-apis.md §4.
 */

/** An ATOL Online account: its login and password open one group, whose registers belong to one INN. */
export interface AtolAccount {
  login: string;
  password: string;
  groupCode: string;
  /** The INN the group's registers are registered to; a receipt for another fails at the register. Default: any. */
  inn?: string;
}

export interface AtolSimulatorOptions extends CloudRegisterSimulatorOptions {
  groupCode: string;
  /** The INN of the first account's group (login/password/groupCode); default: any. */
  inn?: string;
  /** Further accounts (other companies), each with its own group: a token of one is refused for another's group (code 20). */
  accounts?: AtolAccount[];
  /** Groups that exist but only speak v4 (answer code 21). */
  v4OnlyGroupCodes?: string[];
  /** Time from acceptance to done/fail; default 1000 ms. */
  processingDelayMs?: number;
  /** Requests per second per register to the group's endpoints; default 1, 0 = unlimited. */
  rateLimitPerSec?: number;
  /** Registers in the group; the limit scales with them. Default 1. */
  registers?: number;
  /** After acceptance, the report answers code 34 (state not found) this long; default 0. */
  stateLagMs?: number;
  /** The registers' clock zone (receipt_datetime, response timestamps); default Europe/Moscow. */
  timeZone?: string;
}

/** What a request to the ATOL API is, for scoping faults: the token, a registration, or a report read. */
export const atolFaultOperations = ['getToken', 'sell', 'sell_refund', 'sell_correction', 'report'] as const;
export type AtolFaultOperation = (typeof atolFaultOperations)[number];

/**
 * Injectable faults (see cloudRegisterFaultsSchema). An injected 500 carries ATOL code 50; apply-then-lose
 * hits sell/sell_refund; a failed receipt ends in fail with a register error.
 */
export const atolFaultsSchema = cloudRegisterFaultsSchema(atolFaultOperations);
export type AtolFaults = z.infer<typeof atolFaultsSchema>;

export type AtolSimOperation = 'sell' | 'sell_refund' | 'sell_correction';
export type AtolReceiptStatus = 'wait' | 'done' | 'fail';

interface AtolErrorBody {
  error_id: string;
  code: number;
  text: string;
  type: string;
}

export interface SimulatedReceipt {
  uuid: string;
  /** The group it was sent to. */
  group_code: string;
  external_id: string;
  operation: AtolSimOperation;
  status: AtolReceiptStatus;
  /** The request's own `timestamp` (dd.MM.yyyy HH:mm:ss). */
  timestamp: string;
  /** receipt.total in rubles, as sent. */
  total: number;
  vat_types: string[];
  accepted_at: string;
  callback_url?: string;
  payload?: Record<string, unknown>;
  error?: AtolErrorBody;
  /** The whole request body, for assertions. Contains the buyer's contact: sandbox data only. */
  body: Record<string, unknown>;
}

export interface CallbackRecord extends CallbackDelivery {
  uuid: string;
  status: AtolReceiptStatus;
}

export interface AtolSimulatorState extends CloudRegisterState<AtolFaults, CallbackRecord> {
  groupCode: string;
  receipts: Record<AtolSimOperation, SimulatedReceipt[]>;
}

export interface AtolSimulator extends CloudRegisterSimulator<AtolSimulatorState, AtolFaults> {
  /** Base URL clients use, …/possystem/v5 */
  url: string;
  /** Finishes every receipt still waiting, now (done or fail by the usual rules). */
  completePending(): void;
}

const OPERATIONS = new Set(['sell', 'sell_refund', 'sell_correction', 'buy', 'buy_refund', 'buy_correction']);
const SUPPORTED: ReadonlySet<string> = new Set<AtolSimOperation>(['sell', 'sell_refund', 'sell_correction']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ERR = {
  badRequest: { code: 40, http: 400, text: 'Некорректный запрос' },
  mediaType: { code: 41, http: 415, text: 'Некорректный Content-Type' },
  missingToken: { code: 10, http: 401, text: 'Передан некорректный token' },
  expiredToken: { code: 11, http: 401, text: 'Срок действия token истёк' },
  wrongLogin: { code: 12, http: 401, text: 'Неверный логин или пароль' },
  validation: { code: 13, http: 400, text: 'Ошибка валидации входящего запроса' },
  groupMismatch: { code: 20, http: 401, text: 'Код группы, указанный в запросе, не соответствует токену' },
  groupProtocol: { code: 21, http: 401, text: 'Код группы не поддерживает данную версию протокола' },
  missingUuid: { code: 30, http: 400, text: 'Передан некорректный UUID или UUID не найден' },
  operation: { code: 31, http: 400, text: 'Операция не поддерживается' },
  receiptValidation: { code: 32, http: 400, text: 'Ошибка валидации входного чека. Ошибочные поля' },
  duplicate: { code: 33, http: 400, text: 'В системе существует чек с external_id и group_code. Повторно отправлять чек не нужно' },
  stateNotFound: { code: 34, http: 200, text: 'Состояние чека не найдено. Попробуйте позднее' },
  server: { code: 50, http: 500, text: 'Ошибка сервера' },
  rateLimited: { code: 0, http: 429, text: 'Превышена частота запросов' },
} as const;

type ErrKey = keyof typeof ERR;

/** Register answers for receipts that reach the fiscal drive and fail there. */
const REGISTER_ERRORS = {
  vatNotValidOnDate: { code: 13, type: 'driver', text: 'Некорректное значение параметра: ставка НДС не действует на дату документа' },
  random: { code: 2, type: 'driver', text: 'Нет связи' },
  wrongInn: { code: 13, type: 'driver', text: 'Некорректное значение параметра: ИНН пользователя не совпадает с ИНН в ККТ' },
} as const;

export async function startAtolSimulator(opts: AtolSimulatorOptions): Promise<AtolSimulator> {
  const log = opts.logger ?? createLogger('atol-simulator');
  const timeZone = opts.timeZone ?? 'Europe/Moscow';
  const processingDelayMs = opts.processingDelayMs ?? 1000;
  const stateLagMs = opts.stateLagMs ?? 0;
  const groupRate = (opts.rateLimitPerSec ?? 1) * (opts.registers ?? 1);
  const v4Only = new Set(opts.v4OnlyGroupCodes ?? []);
  const accounts: AtolAccount[] = [{ login: opts.login, password: opts.password, groupCode: opts.groupCode, inn: opts.inn }, ...(opts.accounts ?? [])];
  const accountByLogin = new Map(accounts.map((a) => [a.login, a]));
  const innOfGroup = new Map(accounts.map((a) => [a.groupCode, a.inn]));
  const wallClock = new Intl.DateTimeFormat('en-GB', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });

  const receipts = new Map<string, SimulatedReceipt>();
  const acceptedAtMs = new Map<string, number>();
  const byExternalId = new Map<string, string>();
  let fiscalDocumentNumber = 0;

  const atolNow = (): string => {
    const p = Object.fromEntries(wallClock.formatToParts(new Date()).map((x) => [x.type, x.value]));
    return `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}:${p.second}`;
  };
  const errorBody = (code: number, text: string, type = 'system'): AtolErrorBody => ({ error_id: randomUUID(), code, text, type });
  const sendError = (res: Response, key: ErrKey, detail?: string, extra: Record<string, unknown> = {}): void => {
    const e = ERR[key];
    const status = key === 'duplicate' || key === 'stateNotFound' ? 'wait' : 'fail';
    res.status(e.http).json({ ...extra, error: errorBody(e.code, detail ? `${e.text}: ${detail}` : e.text), status, timestamp: atolNow() });
  };
  /** Answers without a receipt status: getToken's, and the injected 500. */
  const sendBareError = (res: Response, key: ErrKey, detail?: string): void => {
    const e = ERR[key];
    res.status(e.http).json({ error: errorBody(e.code, detail ? `${e.text}: ${detail}` : e.text), timestamp: atolNow() });
  };

  const register = createCloudRegister<AtolFaults, CallbackRecord>({
    log,
    logPrefix: 'atol-sim',
    random: opts.random,
    tokenTtlMs: opts.tokenTtlMs,
    rateLimitPerSec: groupRate,
    faultsSchema: atolFaultsSchema,
    apiPath: '/possystem',
    operationOf,
    answers: {
      injectedServerError: (res) => sendBareError(res, 'server'),
      rateLimited: (res) => sendError(res, 'rateLimited'),
      unreadableBody: (res) => sendError(res, 'badRequest', 'unreadable body'),
      serverError: (res) => sendError(res, 'server'),
    },
  });
  const { app, tokens, timers } = register;

  /** Token and group check for group endpoints: the error to answer, or undefined when the request may go on. */
  const authProblem = (req: Request): ErrKey | undefined => {
    const header = req.get('token');
    const token = header ?? (typeof req.query.token === 'string' ? req.query.token : undefined);
    const problem = tokens.problem(token);
    if (problem) return problem === 'missing' ? 'missingToken' : 'expiredToken';
    const group = String(req.params.group);
    if (v4Only.has(group)) return 'groupProtocol';
    if (group !== accountByLogin.get(tokens.accountOf(token) ?? '')?.groupCode) return 'groupMismatch';
    return undefined;
  };

  /** Rate limit, token and group of a group endpoint; false after answering the refusal. */
  const admitted = (req: Request, res: Response): boolean => {
    if (!register.admit(res, String(req.params.group))) return false;
    const denied = authProblem(req);
    if (denied) sendError(res, denied);
    return !denied;
  };

  const reportBody = (r: SimulatedReceipt): Record<string, unknown> => ({
    uuid: r.uuid,
    error: r.error ?? null,
    status: r.status,
    payload: r.payload ?? null,
    timestamp: atolNow(),
    group_code: r.group_code,
    daemon_code: 'sim-agent-1',
    device_code: 'KKT-SIM-1',
    external_id: r.external_id,
    callback_url: r.callback_url ?? '',
  });

  const finish = (uuid: string): void => {
    timers.delete(uuid);
    const r = receipts.get(uuid);
    if (!r || r.status !== 'wait') return;
    const vatProblem = vatNotValidOnDate(r);
    const groupInn = innOfGroup.get(r.group_code);
    // A sell/refund carries the company in `receipt`, a correction in `correction` (ATOL v5).
    const receiptInn = ((r.body.receipt ?? r.body.correction) as { company?: { inn?: unknown } } | undefined)?.company?.inn;
    if (groupInn !== undefined && receiptInn !== groupInn) {
      r.status = 'fail';
      r.error = errorBody(REGISTER_ERRORS.wrongInn.code, REGISTER_ERRORS.wrongInn.text, REGISTER_ERRORS.wrongInn.type);
    } else if (vatProblem) {
      r.status = 'fail';
      r.error = errorBody(REGISTER_ERRORS.vatNotValidOnDate.code, `${REGISTER_ERRORS.vatNotValidOnDate.text} (${vatProblem})`, REGISTER_ERRORS.vatNotValidOnDate.type);
    } else if (register.faults.registerFails(opts.failRate)) {
      r.status = 'fail';
      r.error = errorBody(REGISTER_ERRORS.random.code, REGISTER_ERRORS.random.text, REGISTER_ERRORS.random.type);
    } else {
      fiscalDocumentNumber += 1;
      r.status = 'done';
      r.payload = fiscalPayload(r, fiscalDocumentNumber, atolNow());
    }
    log.info({ uuid, externalId: r.external_id, operation: r.operation, status: r.status, code: r.error?.code }, 'atol-sim: receipt processed');
    if (r.callback_url) void deliverCallback(r);
  };

  const deliverCallback = (r: SimulatedReceipt): Promise<void> =>
    register.deliverCallback({ uuid: r.uuid, url: r.callback_url ?? '', status: r.status, at: new Date().toISOString() }, reportBody(r));

  const tokenHandler = (req: Request, res: Response): void => {
    let creds: Record<string, unknown>;
    if (req.method === 'GET') {
      creds = req.query as Record<string, unknown>;
    } else {
      if (!req.is('application/json')) return sendBareError(res, 'mediaType');
      const parsed = parseJson(req.body);
      if (!parsed.ok || !parsed.value || typeof parsed.value !== 'object') return sendBareError(res, 'badRequest');
      creds = parsed.value as Record<string, unknown>;
    }
    if (typeof creds.login !== 'string' || typeof creds.pass !== 'string' || !creds.login || !creds.pass) {
      return sendBareError(res, 'validation', 'login, pass');
    }
    const account = accountByLogin.get(creds.login);
    if (!account || creds.pass !== account.password) {
      log.info('atol-sim: getToken with wrong credentials');
      return sendBareError(res, 'wrongLogin');
    }
    const { token } = tokens.issue(account.login);
    res.json({ error: null, token, timestamp: atolNow() });
  };
  app.post('/possystem/v5/getToken', rawBody, tokenHandler);
  app.get('/possystem/v5/getToken', tokenHandler);

  app.get('/possystem/v5/:group/report/:uuid', (req: Request, res: Response) => {
    if (!admitted(req, res)) return;
    const uuid = String(req.params.uuid);
    const found = UUID.test(uuid) ? receipts.get(uuid) : undefined;
    // Another group's receipt does not exist for this one.
    const r = found?.group_code === String(req.params.group) ? found : undefined;
    if (!r) return sendError(res, 'missingUuid', uuid.slice(0, 64));
    if (Date.now() - (acceptedAtMs.get(uuid) ?? 0) < stateLagMs) return sendError(res, 'stateNotFound', undefined, { callback_url: r.callback_url ?? '' });
    res.json(reportBody(r));
  });

  app.post('/possystem/v5/:group/:operation', rawBody, (req: Request, res: Response) => {
    if (!admitted(req, res)) return;
    const operation = String(req.params.operation);
    if (!SUPPORTED.has(operation)) return sendError(res, 'operation', OPERATIONS.has(operation) ? `${operation} (not simulated)` : operation.slice(0, 64));
    if (!req.is('application/json')) return sendError(res, 'mediaType');
    const parsed = parseJson(req.body);
    if (!parsed.ok) return sendError(res, 'badRequest', 'body is not JSON');
    const invalid = operation === 'sell_correction' ? validateCorrectionBody(parsed.value) : validateReceiptBody(parsed.value);
    if (invalid) {
      log.info({ operation, field: invalid.field }, 'atol-sim: receipt rejected by validation');
      return sendError(res, 'receiptValidation', `${invalid.field} (${invalid.reason})`);
    }
    const body = parsed.value as Record<string, unknown> & { external_id: string; timestamp: string; receipt?: ReceiptShape; correction?: ReceiptShape; service?: { callback_url?: string } };
    // A correction carries the receipt's blocks under `correction` (validated above: exactly one is there).
    const document = (body.receipt ?? body.correction)!;
    const lose = (): boolean => register.faults.loseAnswer(req, operation, { operation, externalId: body.external_id });

    const group = String(req.params.group);
    // ATOL deduplicates by external_id within a group (code 33 names both).
    const existing = byExternalId.get(`${group}\n${body.external_id}`);
    if (existing) {
      if (lose()) return;
      return sendError(res, 'duplicate', body.external_id, { uuid: existing });
    }
    const uuid = randomUUID();
    const receipt: SimulatedReceipt = {
      uuid,
      group_code: group,
      external_id: body.external_id,
      operation: operation as AtolSimOperation,
      status: 'wait',
      timestamp: body.timestamp,
      total: document.total,
      vat_types: [...new Set(document.items.map((i) => i.vat.type))],
      accepted_at: new Date().toISOString(),
      ...(body.service?.callback_url ? { callback_url: body.service.callback_url } : {}),
      body,
    };
    receipts.set(uuid, receipt);
    acceptedAtMs.set(uuid, Date.now());
    byExternalId.set(`${group}\n${body.external_id}`, uuid);
    timers.set(uuid, setTimeout(() => finish(uuid), processingDelayMs));
    log.info({ operation, externalId: body.external_id, uuid }, 'atol-sim: receipt accepted');
    if (lose()) return;
    res.json({ uuid, status: 'wait', error: null, timestamp: atolNow() });
  });

  app.use('/possystem', (_req: Request, res: Response) => sendError(res, 'badRequest', 'unknown path'));

  return register.serve(opts, {
    urlPath: '/possystem/v5',
    snapshot: (): AtolSimulatorState => {
      const all = [...receipts.values()].map((r) => structuredClone(r));
      return {
        groupCode: opts.groupCode,
        receipts: {
          sell: all.filter((r) => r.operation === 'sell'),
          sell_refund: all.filter((r) => r.operation === 'sell_refund'),
          sell_correction: all.filter((r) => r.operation === 'sell_correction'),
        },
        ...register.commonState(),
      };
    },
    resetRecords: () => {
      receipts.clear();
      acceptedAtMs.clear();
      byExternalId.clear();
    },
    completePending: () => {
      for (const [uuid, t] of [...timers]) {
        clearTimeout(t);
        finish(uuid);
      }
    },
  });
}

interface ReceiptShape {
  total: number;
  items: { vat: { type: string } }[];
}

/** vat20/vat120 only before 2026-01-01 (refunds of older sales may still carry them); vat22/vat122 only from it. */
function vatNotValidOnDate(r: SimulatedReceipt): string | undefined {
  const day = parseTimestamp(r.timestamp);
  if (!day) return undefined;
  const before2026 = day.year < 2026;
  for (const type of r.vat_types) {
    if ((type === 'vat22' || type === 'vat122') && before2026) return `${type} before 01.01.2026`;
    if ((type === 'vat20' || type === 'vat120') && !before2026 && r.operation === 'sell') return `${type} after 01.01.2026`;
  }
  return undefined;
}

function fiscalPayload(r: SimulatedReceipt, documentNumber: number, receiptDateTime: string): Record<string, unknown> {
  const fn = '7380440700076543';
  const hash = createHash('sha256').update(r.uuid).digest();
  const fiscalSign = hash.readUInt32BE(0) % 4_000_000_000 + 100_000_000;
  return {
    fiscal_receipt_number: documentNumber,
    shift_number: 1,
    receipt_datetime: receiptDateTime,
    total: r.total,
    fn_number: fn,
    ecr_registration_number: '0001234567012345',
    fiscal_document_number: documentNumber,
    fiscal_document_attribute: fiscalSign,
    fns_site: 'www.nalog.gov.ru',
    ofd_inn: '7704211201',
    ofd_receipt_url: `https://ofd.example.test/rec?fn=${fn}&i=${documentNumber}&fp=${fiscalSign}`,
  };
}

/** The operation of a path under /possystem (e.g. /v5/shop-group/sell); undefined for paths the API does not have. */
function operationOf(path: string): string | undefined {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] !== 'v5') return undefined;
  if (parts.length === 2 && parts[1] === 'getToken') return 'getToken';
  if (parts.length === 4 && parts[2] === 'report') return 'report';
  if (parts.length === 3) return parts[2];
  return undefined;
}
