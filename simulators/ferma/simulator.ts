import { createHash, randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { createLogger } from '../../lib/logger';
import {
  createCloudRegister, parseJson, rawBody,
  type CallbackDelivery, type CloudRegisterSimulator, type CloudRegisterSimulatorOptions, type CloudRegisterState,
} from '../shared/cloud-register';
import { cloudRegisterFaultsSchema } from '../shared/request-faults';
import { validateReceiptBody, validateStatusBody } from './validate';

/**
 * OFD.ru Ferma stand-in: login/password tokens that expire, Income/IncomeReturn/IncomeCorrection with Ferma's validation,
 * idempotency by InvoiceId (code 1019), receipts that go NEW → PROCESSED → CONFIRMED (or KKT_ERROR) over
 * time, status by ReceiptId or InvoiceId, callbacks, a per-account rate limit and injectable faults.
 * Speaks the wire format of docs/external-apis.md §4 under `/api`.
 */

export interface FermaSimulatorOptions extends CloudRegisterSimulatorOptions {
  /** INNs with cash registers in the account; a receipt for another INN is refused. Default: any. */
  inns?: string[];
  /** NEW → PROCESSED (fiscalized by the register, or KKT_ERROR); default 1000 ms. */
  processingDelayMs?: number;
  /** PROCESSED → CONFIRMED by the OFD; default 1000 ms. */
  confirmationDelayMs?: number;
  /** Requests per second to receipt and status, per account; default 10, 0 = unlimited. */
  rateLimitPerSec?: number;
  /**
   * Answer refusals with HTTP 200 and the Failed envelope, as the Russian API document describes; default
   * false = a 4xx/5xx status with the same body, as the English one and field reports describe.
   */
  errorsWithHttp200?: boolean;
  /** Whose calendar decides the VAT rules; default Europe/Moscow. */
  timeZone?: string;
  /** The registers' clock (receipt dates, VAT rules). Tokens, delays and the rate limit run on real time. */
  clock?: () => Date;
}

/** What a request to the Ferma API is, for scoping faults. */
export const fermaFaultOperations = ['auth', 'receipt', 'status'] as const;
export type FermaFaultOperation = (typeof fermaFaultOperations)[number];

/**
 * Injectable faults (see cloudRegisterFaultsSchema). An injected 500 carries a Ferma error body;
 * apply-then-lose hits receipt requests; a failed receipt ends in KKT_ERROR.
 */
export const fermaFaultsSchema = cloudRegisterFaultsSchema(fermaFaultOperations);
export type FermaFaults = z.infer<typeof fermaFaultsSchema>;

export type FermaSimReceiptType = 'Income' | 'IncomeReturn' | 'IncomeCorrection';
export type FermaSimStage = 'NEW' | 'PROCESSED' | 'CONFIRMED' | 'KKT_ERROR';
const STATUS_CODE: Record<FermaSimStage, number> = { NEW: 0, PROCESSED: 1, CONFIRMED: 2, KKT_ERROR: 3 };
const STAGE_MESSAGE: Record<Exclude<FermaSimStage, 'KKT_ERROR'>, string> = {
  NEW: 'Запрос на чек получен в Ferma',
  PROCESSED: 'Чек сформирован на кассе',
  CONFIRMED: 'Чек подтверждён ОФД',
};

export interface SimulatedFermaReceipt {
  receiptId: string;
  invoiceId: string;
  inn: string;
  type: FermaSimReceiptType;
  stage: FermaSimStage;
  statusMessage: string;
  /** Σ Items[].Amount in rubles, as sent. */
  total: number;
  vats: string[];
  acceptedAt: string;
  modifiedDateUtc: string;
  receiptDateUtc?: string;
  callbackUrl?: string;
  device?: Record<string, unknown>;
  /** The whole request body, for assertions. Contains the buyer's contact: sandbox data only. */
  body: Record<string, unknown>;
}

export interface FermaCallbackRecord extends CallbackDelivery {
  receiptId: string;
  stage: FermaSimStage;
}

export interface FermaSimulatorState extends CloudRegisterState<FermaFaults, FermaCallbackRecord> {
  receipts: Record<FermaSimReceiptType, SimulatedFermaReceipt[]>;
}

export interface FermaSimulator extends CloudRegisterSimulator<FermaSimulatorState, FermaFaults> {
  /** Base URL clients use, …/api */
  url: string;
  /** Takes every receipt still in progress to its final stage (CONFIRMED or KKT_ERROR), now. */
  completePending(): void;
}

/** Error codes: 1019 as integrations report it; the others are this simulator's (see activities/ferma/wire.ts). */
const ERR = {
  badRequest: { code: 1000, http: 400, text: 'Некорректный запрос' },
  mediaType: { code: 1000, http: 415, text: 'Требуется Content-Type: application/json' },
  wrongCredentials: { code: 1001, http: 401, text: 'Неверный логин или пароль' },
  missingToken: { code: 1002, http: 401, text: 'Не передан или не найден AuthToken' },
  expiredToken: { code: 1003, http: 401, text: 'Срок действия AuthToken истёк' },
  validation: { code: 1004, http: 400, text: 'Ошибка валидации запроса' },
  notFound: { code: 1005, http: 404, text: 'Чек не найден' },
  duplicate: { code: 1019, http: 400, text: 'Чек с таким InvoiceId уже существует' },
  rateLimited: { code: 1029, http: 429, text: 'Превышена частота запросов' },
  server: { code: 1500, http: 500, text: 'Внутренняя ошибка сервера' },
} as const;
type ErrKey = keyof typeof ERR;

const REGISTER_ERRORS = {
  vatNotValidOnDate: 'Ошибка ККТ: ставка НДС не действует на дату документа',
  random: 'Ошибка ККТ: нет связи с фискальным накопителем',
} as const;

const TWENTY = new Set(['Vat20', 'CalculatedVat20120']);
const TWENTY_TWO = new Set(['Vat22', 'CalculatedVat22122']);

export async function startFermaSimulator(opts: FermaSimulatorOptions): Promise<FermaSimulator> {
  const log = opts.logger ?? createLogger('ferma-simulator');
  const clock = opts.clock ?? (() => new Date());
  const processingDelayMs = opts.processingDelayMs ?? 1000;
  const confirmationDelayMs = opts.confirmationDelayMs ?? 1000;
  const rate = opts.rateLimitPerSec ?? 10;
  const inns = opts.inns ? new Set(opts.inns) : undefined;
  const dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: opts.timeZone ?? 'Europe/Moscow', year: 'numeric', month: '2-digit', day: '2-digit' });

  const receipts = new Map<string, SimulatedFermaReceipt>();
  const byInvoiceId = new Map<string, string>();
  let documentNumber = 0;

  const sendError = (res: Response, key: ErrKey, detail?: string): void => {
    const e = ERR[key];
    const status = opts.errorsWithHttp200 && key !== 'rateLimited' && key !== 'server' ? 200 : e.http;
    res.status(status).json({ Status: 'Failed', Error: { Code: e.code, Message: detail ? `${e.text}: ${detail}` : e.text } });
  };

  const register = createCloudRegister<FermaFaults, FermaCallbackRecord>({
    log,
    logPrefix: 'ferma-sim',
    random: opts.random,
    tokenTtlMs: opts.tokenTtlMs,
    rateLimitPerSec: rate,
    faultsSchema: fermaFaultsSchema,
    apiPath: '/api',
    operationOf,
    answers: {
      injectedServerError: (res) => sendError(res, 'server'),
      rateLimited: (res) => sendError(res, 'rateLimited'),
      unreadableBody: (res) => sendError(res, 'badRequest', 'тело запроса не читается'),
      serverError: (res) => sendError(res, 'server'),
    },
  });
  const { app, tokens, timers } = register;

  /** The error to answer for the request's AuthToken, or undefined when it may go on. */
  const authProblem = (req: Request): ErrKey | undefined => {
    const token = typeof req.query.AuthToken === 'string' ? req.query.AuthToken : undefined;
    const problem = tokens.problem(token);
    if (problem) return problem === 'missing' ? 'missingToken' : 'expiredToken';
    return undefined;
  };

  const statusData = (r: SimulatedFermaReceipt): Record<string, unknown> => ({
    StatusCode: STATUS_CODE[r.stage],
    StatusName: r.stage,
    StatusMessage: r.statusMessage,
    ModifiedDateUtc: r.modifiedDateUtc,
    ReceiptDateUtc: r.receiptDateUtc ?? null,
    ReceiptId: r.receiptId,
    Device: r.device ?? null,
  });

  const moveTo = (r: SimulatedFermaReceipt, stage: FermaSimStage, message: string): void => {
    r.stage = stage;
    r.statusMessage = message;
    r.modifiedDateUtc = utcText(clock());
    log.info({ receiptId: r.receiptId, invoiceId: r.invoiceId, type: r.type, stage }, 'ferma-sim: receipt stage');
  };

  const fiscalize = (receiptId: string): void => {
    timers.delete(receiptId);
    const r = receipts.get(receiptId);
    if (!r || r.stage !== 'NEW') return;
    const vatProblem = vatNotValidOnDate(r, dayFormat.format(clock()));
    if (vatProblem) {
      moveTo(r, 'KKT_ERROR', `${REGISTER_ERRORS.vatNotValidOnDate} (${vatProblem})`);
    } else if (register.faults.registerFails(opts.failRate)) {
      moveTo(r, 'KKT_ERROR', REGISTER_ERRORS.random);
    } else {
      documentNumber += 1;
      r.receiptDateUtc = utcText(clock());
      r.device = deviceData(r, documentNumber);
      moveTo(r, 'PROCESSED', STAGE_MESSAGE.PROCESSED);
      timers.set(receiptId, setTimeout(() => confirm(receiptId), confirmationDelayMs));
      return;
    }
    if (r.callbackUrl) void deliverCallback(r);
  };

  const confirm = (receiptId: string): void => {
    timers.delete(receiptId);
    const r = receipts.get(receiptId);
    if (!r || r.stage !== 'PROCESSED') return;
    moveTo(r, 'CONFIRMED', STAGE_MESSAGE.CONFIRMED);
    if (r.callbackUrl) void deliverCallback(r);
  };

  /** Posts the status answer to CallbackUrl once the receipt is final (shape of the callback: *unconfirmed*). */
  const deliverCallback = (r: SimulatedFermaReceipt): Promise<void> => register.deliverCallback(
    { receiptId: r.receiptId, url: r.callbackUrl ?? '', stage: r.stage, at: new Date().toISOString() },
    { Status: 'Success', Data: statusData(r) },
  );

  /** The JSON body of a POST, or undefined after answering the error. */
  const jsonBody = (req: Request, res: Response): unknown => {
    if (!req.is('application/json')) {
      sendError(res, 'mediaType');
      return undefined;
    }
    const parsed = parseJson(req.body);
    if (!parsed.ok) {
      sendError(res, 'badRequest', 'тело запроса не является JSON');
      return undefined;
    }
    return parsed.value;
  };

  /** Rate limit, AuthToken and JSON body of a receipt or status request; undefined after answering the refusal. */
  const admittedBody = (req: Request, res: Response): unknown => {
    if (!register.admit(res)) return undefined;
    const denied = authProblem(req);
    if (denied) {
      sendError(res, denied);
      return undefined;
    }
    return jsonBody(req, res);
  };

  app.post('/api/Authorization/CreateAuthToken', rawBody, (req: Request, res: Response) => {
    const creds = jsonBody(req, res) as Record<string, unknown> | undefined;
    if (creds === undefined) return;
    if (!creds || typeof creds !== 'object' || typeof creds.Login !== 'string' || typeof creds.Password !== 'string' || !creds.Login || !creds.Password) {
      return sendError(res, 'validation', 'Login, Password');
    }
    if (creds.Login !== opts.login || creds.Password !== opts.password) {
      log.info('ferma-sim: CreateAuthToken with wrong credentials');
      return sendError(res, 'wrongCredentials');
    }
    const { token, expiresAt } = tokens.issue();
    res.json({ Status: 'Success', Data: { AuthToken: token, ExpirationDateUtc: utcText(new Date(expiresAt)) } });
  });

  app.post('/api/kkt/cloud/receipt', rawBody, (req: Request, res: Response) => {
    const body = admittedBody(req, res);
    if (body === undefined) return;
    const invalid = validateReceiptBody(body, { inns });
    if (invalid) {
      log.info({ field: invalid.field }, 'ferma-sim: receipt rejected by validation');
      return sendError(res, 'validation', `${invalid.field}: ${invalid.reason}`);
    }
    const request = (body as { Request: RequestShape }).Request;
    const lose = (): boolean => register.faults.loseAnswer(req, 'receipt', { invoiceId: request.InvoiceId });

    const existing = byInvoiceId.get(request.InvoiceId);
    if (existing) {
      if (lose()) return;
      // Field reports show the original ReceiptId between double dashes in this message.
      return sendError(res, 'duplicate', `InvoiceId ${request.InvoiceId.slice(0, 64)} --${existing}--`);
    }
    const receiptId = randomUUID();
    const now = utcText(clock());
    const receipt: SimulatedFermaReceipt = {
      receiptId,
      invoiceId: request.InvoiceId,
      inn: request.Inn,
      type: request.Type,
      stage: 'NEW',
      statusMessage: STAGE_MESSAGE.NEW,
      total: request.CustomerReceipt.Items.reduce((sum, i) => sum + Math.round(i.Amount * 100), 0) / 100,
      vats: [...new Set(request.CustomerReceipt.Items.map((i) => i.Vat))],
      acceptedAt: new Date().toISOString(),
      modifiedDateUtc: now,
      ...(request.CallbackUrl ? { callbackUrl: request.CallbackUrl } : {}),
      body: body as Record<string, unknown>,
    };
    receipts.set(receiptId, receipt);
    byInvoiceId.set(request.InvoiceId, receiptId);
    timers.set(receiptId, setTimeout(() => fiscalize(receiptId), processingDelayMs));
    log.info({ type: request.Type, invoiceId: request.InvoiceId, receiptId }, 'ferma-sim: receipt accepted');
    if (lose()) return;
    res.json({ Status: 'Success', Data: { ReceiptId: receiptId } });
  });

  app.post('/api/kkt/cloud/status', rawBody, (req: Request, res: Response) => {
    const body = admittedBody(req, res);
    if (body === undefined) return;
    const key = validateStatusBody(body);
    if ('field' in key) return sendError(res, 'validation', `${key.field}: ${key.reason}`);
    const receiptId = 'receiptId' in key ? key.receiptId : byInvoiceId.get(key.invoiceId);
    const r = receiptId ? receipts.get(receiptId) : undefined;
    if (!r) return sendError(res, 'notFound', 'receiptId' in key ? `ReceiptId ${key.receiptId.slice(0, 64)}` : `InvoiceId ${key.invoiceId.slice(0, 64)}`);
    res.json({ Status: 'Success', Data: statusData(r) });
  });

  app.use('/api', (_req: Request, res: Response) => {
    res.status(404).json({ Status: 'Failed', Error: { Code: ERR.badRequest.code, Message: `${ERR.badRequest.text}: неизвестный адрес` } });
  });

  return register.serve(opts, {
    urlPath: '/api',
    snapshot: (): FermaSimulatorState => {
      const all = [...receipts.values()].map((r) => structuredClone(r));
      return {
        receipts: {
          Income: all.filter((r) => r.type === 'Income'),
          IncomeReturn: all.filter((r) => r.type === 'IncomeReturn'),
          IncomeCorrection: all.filter((r) => r.type === 'IncomeCorrection'),
        },
        ...register.commonState(),
      };
    },
    resetRecords: () => {
      receipts.clear();
      byInvoiceId.clear();
    },
    completePending: () => {
      // Processing may schedule the confirmation: run until no timer is left.
      while (timers.size > 0) {
        for (const [receiptId, t] of [...timers]) {
          clearTimeout(t);
          timers.delete(receiptId);
          const r = receipts.get(receiptId);
          if (r?.stage === 'NEW') fiscalize(receiptId);
          else if (r?.stage === 'PROCESSED') confirm(receiptId);
        }
      }
    },
  });
}

interface RequestShape {
  Inn: string;
  Type: FermaSimReceiptType;
  InvoiceId: string;
  CallbackUrl?: string;
  CustomerReceipt: { Items: { Amount: number; Vat: string }[] };
}

/** 20% tags only before 2026-01-01 (refunds of older sales may still carry them); 22% only from it. */
function vatNotValidOnDate(r: SimulatedFermaReceipt, day: string): string | undefined {
  const before2026 = day < '2026-01-01';
  for (const vat of r.vats) {
    if (TWENTY_TWO.has(vat) && before2026) return `${vat} до 01.01.2026`;
    if (TWENTY.has(vat) && !before2026 && r.type === 'Income') return `${vat} после 01.01.2026`;
  }
  return undefined;
}

function deviceData(r: SimulatedFermaReceipt, documentNumber: number): Record<string, unknown> {
  const rnm = '0001234567012345';
  const fn = '7281440500123456';
  const fiscalSign = createHash('sha256').update(r.receiptId).digest().readUInt32BE(0) % 4_000_000_000 + 100_000_000;
  return {
    DeviceId: '4021',
    RNM: rnm,
    ZN: '00106712345678',
    FN: fn,
    FDN: String(documentNumber),
    FPD: String(fiscalSign),
    ShiftNumber: 1,
    ReceiptNumInShift: documentNumber,
    DeviceType: null,
    OfdReceiptUrl: `https://check.ofd.example.test/rec/${r.inn}/${rnm}/${fn}/${documentNumber}/${fiscalSign}`,
  };
}

/** Ferma's `…DateUtc` form: ISO 8601 in UTC without fractions or a zone designator. */
function utcText(date: Date): string {
  return date.toISOString().slice(0, 19);
}

/** The operation of a path under /api; undefined for paths the API does not have. */
function operationOf(path: string): FermaFaultOperation | undefined {
  const p = path.toLowerCase().replace(/\/+$/, '');
  if (p === '/authorization/createauthtoken') return 'auth';
  if (p === '/kkt/cloud/receipt') return 'receipt';
  if (p === '/kkt/cloud/status') return 'status';
  return undefined;
}
