import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { request as httpRequest } from 'undici';
import { z } from 'zod';
import { createLogger, type Logger } from '../../lib/logger';
import { validateReceiptBody, validateStatusBody } from './validate';

/**
 * OFD.ru Ferma stand-in: login/password tokens that expire, Income/IncomeReturn with Ferma's validation,
 * idempotency by InvoiceId (code 1019), receipts that go NEW → PROCESSED → CONFIRMED (or KKT_ERROR) over
 * time, status by ReceiptId or InvoiceId, callbacks, a per-account rate limit and injectable faults.
 * Speaks the wire format of EXTERNAL-APIS.md §4 under `/api`.
 */

export interface FermaSimulatorOptions {
  /** 0 = an ephemeral port. */
  port?: number;
  host?: string;
  login: string;
  password: string;
  /** INNs with cash registers in the account; a receipt for another INN is refused. Default: any. */
  inns?: string[];
  /** Default 24 h. */
  tokenTtlMs?: number;
  /** NEW → PROCESSED (fiscalized by the register, or KKT_ERROR); default 1000 ms. */
  processingDelayMs?: number;
  /** PROCESSED → CONFIRMED by the OFD; default 1000 ms. */
  confirmationDelayMs?: number;
  /** Share of receipts the register fails (0..1); default 0. */
  failRate?: number;
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
  logger?: Logger;
  /** Source of randomness for failRate/errorRate (tests make it deterministic). */
  random?: () => number;
}

/** What a request to the Ferma API is, for scoping faults. */
export const fermaFaultOperations = ['auth', 'receipt', 'status'] as const;
export type FermaFaultOperation = (typeof fermaFaultOperations)[number];

/**
 * Injectable faults. Setting them merges into the current ones; `reset()` clears them all. The request faults
 * (latency, errors, timeouts, lost answers) hit only `operation` when it is set; register failures
 * (failNextReceipts/failRate) are not requests and ignore it.
 */
export const fermaFaultsSchema = z.object({
  /** Delay before every non-admin request (in scope) is handled. */
  latencyMs: z.number().int().min(0).optional(),
  /** Share of non-admin requests (in scope) answered with a 5xx instead of being handled. */
  errorRate: z.number().min(0).max(1).optional(),
  /** The 5xx status for errorRate; 500 carries a Ferma error body, others a proxy's plain text. Default 500. */
  errorStatus: z.number().int().min(500).max(599).optional(),
  /** Share of requests (in scope) that hang without being applied; see hangMs. */
  timeoutRate: z.number().min(0).max(1).optional(),
  /** The next N requests (in scope) hang without being applied. */
  timeoutNext: z.number().int().min(0).optional(),
  /** How long a hanging request hangs before its socket is destroyed (no answer ever); default 120 s. */
  hangMs: z.number().int().min(0).optional(),
  /** The next N receipt requests are applied, then the socket is destroyed without an answer. */
  applyThenLoseNext: z.number().int().min(0).optional(),
  /** Share of receipt requests that are applied, then lose their answer. */
  applyThenLoseRate: z.number().min(0).max(1).optional(),
  /** Limit the request faults to one operation; null removes the limit. */
  operation: z.enum(fermaFaultOperations).nullable().optional(),
  /** The next N accepted receipts end in KKT_ERROR. */
  failNextReceipts: z.number().int().min(0).optional(),
  failRate: z.number().min(0).max(1).optional(),
});
export type FermaFaults = z.infer<typeof fermaFaultsSchema>;

export type FermaSimReceiptType = 'Income' | 'IncomeReturn';
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

export interface FermaCallbackRecord {
  receiptId: string;
  url: string;
  stage: FermaSimStage;
  httpStatus?: number;
  error?: string;
  at: string;
}

export interface FermaSimulatorState {
  receipts: Record<FermaSimReceiptType, SimulatedFermaReceipt[]>;
  tokens: { issued: number; active: number };
  callbacks: FermaCallbackRecord[];
  faults: FermaFaults;
  counters: { requests: number; rateLimited: number; injectedErrors: number; lostAnswers: number; timeouts: number };
  /** Requests hanging right now (timeout faults). */
  hangingRequests: number;
}

export interface FermaSimulator {
  /** Base URL clients use, …/api */
  url: string;
  /** …/_admin */
  adminUrl: string;
  readonly state: FermaSimulatorState;
  setFaults(faults: FermaFaults): void;
  reset(): void;
  expireTokens(): void;
  /** Takes every receipt still in progress to its final stage (CONFIRMED or KKT_ERROR), now. */
  completePending(): void;
  close(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

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
  const random = opts.random ?? Math.random;
  const clock = opts.clock ?? (() => new Date());
  const tokenTtlMs = opts.tokenTtlMs ?? DAY_MS;
  const processingDelayMs = opts.processingDelayMs ?? 1000;
  const confirmationDelayMs = opts.confirmationDelayMs ?? 1000;
  const rate = opts.rateLimitPerSec ?? 10;
  const inns = opts.inns ? new Set(opts.inns) : undefined;
  const dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: opts.timeZone ?? 'Europe/Moscow', year: 'numeric', month: '2-digit', day: '2-digit' });

  const tokens = new Map<string, { expiresAt: number }>();
  const receipts = new Map<string, SimulatedFermaReceipt>();
  const byInvoiceId = new Map<string, string>();
  const timers = new Map<string, NodeJS.Timeout>();
  let callbacks: FermaCallbackRecord[] = [];
  let faults: FermaFaults = {};
  let counters = freshCounters();
  const hanging = new Set<Response>();
  let bucket = { tokens: Math.max(1, rate), at: Date.now() };
  let documentNumber = 0;
  let tokensIssued = 0;

  const sendError = (res: Response, key: ErrKey, detail?: string): void => {
    const e = ERR[key];
    const status = opts.errorsWithHttp200 && key !== 'rateLimited' && key !== 'server' ? 200 : e.http;
    res.status(status).json({ Status: 'Failed', Error: { Code: e.code, Message: detail ? `${e.text}: ${detail}` : e.text } });
  };

  const takeRateToken = (): boolean => {
    if (rate <= 0) return true;
    const now = Date.now();
    bucket = { tokens: Math.min(Math.max(1, rate), bucket.tokens + ((now - bucket.at) / 1000) * rate), at: now };
    // A little slack: a client spacing requests by exactly 1/rate must not trip over timer jitter.
    if (bucket.tokens < 0.95) return false;
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    return true;
  };
  const rateLimited = (res: Response): void => {
    counters.rateLimited += 1;
    res.set('Retry-After', '1');
    sendError(res, 'rateLimited');
  };

  /** The error to answer for the request's AuthToken, or undefined when it may go on. */
  const authProblem = (req: Request): ErrKey | undefined => {
    const token = typeof req.query.AuthToken === 'string' ? req.query.AuthToken : undefined;
    const known = token ? tokens.get(token) : undefined;
    if (!known) return 'missingToken';
    if (Date.now() >= known.expiresAt) return 'expiredToken';
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
    } else if ((faults.failNextReceipts ?? 0) > 0 || random() < (faults.failRate ?? opts.failRate ?? 0)) {
      if ((faults.failNextReceipts ?? 0) > 0) faults.failNextReceipts = (faults.failNextReceipts ?? 0) - 1;
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
  const deliverCallback = async (r: SimulatedFermaReceipt): Promise<void> => {
    const record: FermaCallbackRecord = { receiptId: r.receiptId, url: r.callbackUrl ?? '', stage: r.stage, at: new Date().toISOString() };
    try {
      const res = await httpRequest(record.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ Status: 'Success', Data: statusData(r) }),
        signal: AbortSignal.timeout(5000),
      });
      await res.body.dump();
      record.httpStatus = res.statusCode;
    } catch (e) {
      record.error = (e as Error).message;
    }
    callbacks.push(record);
  };

  const app = express();
  app.disable('x-powered-by');
  const rawBody = express.text({ type: () => true, limit: '1mb' });

  const inScope = (operation: string | undefined): boolean => !faults.operation || faults.operation === operation;
  /** Consumes one of the next-N counter, else rolls the rate. */
  const hit = (next: 'timeoutNext' | 'applyThenLoseNext', chance: number | undefined): boolean => {
    const left = faults[next] ?? 0;
    if (left > 0) {
      faults[next] = left - 1;
      return true;
    }
    return chance !== undefined && chance > 0 && random() < chance;
  };

  /** Leaves the request unanswered and unapplied until hangMs, close(), or the client gives up. */
  const hang = (req: Request, res: Response, operation: string | undefined): void => {
    counters.timeouts += 1;
    hanging.add(res);
    log.info({ operation, path: req.path }, 'ferma-sim: request hangs (fault)');
    const timer = setTimeout(() => {
      hanging.delete(res);
      res.socket?.destroy();
    }, faults.hangMs ?? 120_000);
    res.on('close', () => {
      clearTimeout(timer);
      hanging.delete(res);
    });
  };

  app.use('/api', async (req: Request, res: Response, next: NextFunction) => {
    counters.requests += 1;
    const operation = operationOf(req.path);
    if (!inScope(operation)) return next();
    if (hit('timeoutNext', faults.timeoutRate)) return hang(req, res, operation);
    if (faults.latencyMs) await sleep(faults.latencyMs);
    if (faults.errorRate && random() < faults.errorRate) {
      counters.injectedErrors += 1;
      const status = faults.errorStatus ?? 500;
      if (status === 500) sendError(res, 'server');
      else res.status(status).type('text/plain').send('Bad Gateway');
      return;
    }
    next();
  });

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
    const token = randomBytes(16).toString('hex');
    const expiresAt = Date.now() + tokenTtlMs;
    tokens.set(token, { expiresAt });
    tokensIssued += 1;
    res.json({ Status: 'Success', Data: { AuthToken: token, ExpirationDateUtc: utcText(new Date(expiresAt)) } });
  });

  app.post('/api/kkt/cloud/receipt', rawBody, (req: Request, res: Response) => {
    if (!takeRateToken()) return rateLimited(res);
    const denied = authProblem(req);
    if (denied) return sendError(res, denied);
    const body = jsonBody(req, res);
    if (body === undefined) return;
    const invalid = validateReceiptBody(body, { inns });
    if (invalid) {
      log.info({ field: invalid.field }, 'ferma-sim: receipt rejected by validation');
      return sendError(res, 'validation', `${invalid.field}: ${invalid.reason}`);
    }
    const request = (body as { Request: RequestShape }).Request;
    const lose = (): boolean => {
      if (!inScope('receipt') || !hit('applyThenLoseNext', faults.applyThenLoseRate)) return false;
      counters.lostAnswers += 1;
      log.info({ invoiceId: request.InvoiceId }, 'ferma-sim: applied, answer lost (fault)');
      req.socket.destroy();
      return true;
    };

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
    if (!takeRateToken()) return rateLimited(res);
    const denied = authProblem(req);
    if (denied) return sendError(res, denied);
    const body = jsonBody(req, res);
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

  const admin = express.Router();
  admin.use(express.json());
  admin.get('/state', (_req, res) => { res.json(snapshot()); });
  admin.post('/faults', (req, res) => {
    const parsed = fermaFaultsSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).json({ error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      return;
    }
    setFaults(parsed.data);
    res.json({ faults });
  });
  admin.post('/reset', (_req, res) => { reset(); res.json({ ok: true }); });
  admin.post('/expire-tokens', (_req, res) => { expireTokens(); res.json({ ok: true }); });
  admin.post('/complete-pending', (_req, res) => { completePending(); res.json({ ok: true }); });
  app.use('/_admin', admin);

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (status === 413 || status === 400) return sendError(res, 'badRequest', 'тело запроса не читается');
    log.error({ err }, 'ferma-sim: unexpected error');
    sendError(res, 'server');
  });

  const snapshot = (): FermaSimulatorState => {
    const all = [...receipts.values()].map((r) => structuredClone(r));
    const now = Date.now();
    return {
      receipts: { Income: all.filter((r) => r.type === 'Income'), IncomeReturn: all.filter((r) => r.type === 'IncomeReturn') },
      tokens: { issued: tokensIssued, active: [...tokens.values()].filter((t) => t.expiresAt > now).length },
      callbacks: callbacks.map((c) => ({ ...c })),
      faults: { ...faults },
      counters: { ...counters },
      hangingRequests: hanging.size,
    };
  };
  const setFaults = (next: FermaFaults): void => {
    faults = { ...faults, ...fermaFaultsSchema.parse(next) };
    if (faults.operation === null) delete faults.operation;
    log.info({ faults }, 'ferma-sim: faults set');
  };
  const reset = (): void => {
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
    tokens.clear();
    receipts.clear();
    byInvoiceId.clear();
    callbacks = [];
    faults = {};
    counters = freshCounters();
    bucket = { tokens: Math.max(1, rate), at: Date.now() };
    tokensIssued = 0;
  };
  const expireTokens = (): void => {
    for (const t of tokens.values()) t.expiresAt = 0;
  };
  const completePending = (): void => {
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
  };

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url: `${base}/api` }, 'ferma-sim: listening');

  return {
    url: `${base}/api`,
    adminUrl: `${base}/_admin`,
    get state() { return snapshot(); },
    setFaults,
    reset,
    expireTokens,
    completePending,
    close: async () => {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      // Hanging requests would hold server.close() until hangMs; nobody waits for their answer any more.
      for (const res of hanging) res.socket?.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
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

function freshCounters(): FermaSimulatorState['counters'] {
  return { requests: 0, rateLimited: 0, injectedErrors: 0, lostAnswers: 0, timeouts: 0 };
}

function parseJson(text: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof text !== 'string' || text.trim() === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
