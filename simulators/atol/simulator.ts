import { randomBytes, randomUUID, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { request as httpRequest } from 'undici';
import { z } from 'zod';
import { createLogger, type Logger } from '../../lib/logger';
import { parseTimestamp, validateReceiptBody } from './validate';

/**
 * ATOL Online v5 stand-in: tokens that expire, sell/sell_refund with v5 validation, idempotency by
 * external_id (code 33), asynchronous processing to done/fail, reports, callbacks, a per-group rate limit
 * and injectable faults. Speaks the wire format of EXTERNAL-APIS.md §4.
 */

export interface AtolSimulatorOptions {
  /** 0 = an ephemeral port. */
  port?: number;
  host?: string;
  login: string;
  password: string;
  groupCode: string;
  /** Groups that exist but only speak v4 (answer code 21). */
  v4OnlyGroupCodes?: string[];
  /** Default 24 h. */
  tokenTtlMs?: number;
  /** Time from acceptance to done/fail; default 1000 ms. */
  processingDelayMs?: number;
  /** Share of receipts the register fails (0..1); default 0. */
  failRate?: number;
  /** Requests per second per register to the group's endpoints; default 1, 0 = unlimited. */
  rateLimitPerSec?: number;
  /** Registers in the group; the limit scales with them. Default 1. */
  registers?: number;
  /** After acceptance, the report answers code 34 (state not found) this long; default 0. */
  stateLagMs?: number;
  /** The registers' clock zone (receipt_datetime, response timestamps); default Europe/Moscow. */
  timeZone?: string;
  logger?: Logger;
  /** Source of randomness for failRate/errorRate (tests make it deterministic). */
  random?: () => number;
}

/** What a request to the ATOL API is, for scoping faults: the token, a registration, or a report read. */
export const atolFaultOperations = ['getToken', 'sell', 'sell_refund', 'report'] as const;
export type AtolFaultOperation = (typeof atolFaultOperations)[number];

/**
 * Injectable faults. Setting them merges into the current ones; `reset()` clears them all. The request faults
 * (latency, errors, timeouts, lost answers) hit only `operation` when it is set; register failures
 * (failNextReceipts/failRate) are not requests and ignore it.
 */
export const atolFaultsSchema = z.object({
  /** Delay before every non-admin request (in scope) is handled. */
  latencyMs: z.number().int().min(0).optional(),
  /** Share of non-admin requests (in scope) answered with a 5xx instead of being handled. */
  errorRate: z.number().min(0).max(1).optional(),
  /** The 5xx status for errorRate; 500 carries ATOL code 50, others a proxy's plain text. Default 500. */
  errorStatus: z.number().int().min(500).max(599).optional(),
  /** Share of requests (in scope) that hang without being applied: no token, no receipt; see hangMs. */
  timeoutRate: z.number().min(0).max(1).optional(),
  /** The next N requests (in scope) hang without being applied. Checked before errorRate. */
  timeoutNext: z.number().int().min(0).optional(),
  /** How long a hanging request hangs before its socket is destroyed (no answer ever); default 120 s. */
  hangMs: z.number().int().min(0).optional(),
  /** The next N sell/sell_refund requests are applied, then the socket is destroyed without an answer. */
  applyThenLoseNext: z.number().int().min(0).optional(),
  /** Share of sell/sell_refund requests that are applied, then lose their answer (socket destroyed). */
  applyThenLoseRate: z.number().min(0).max(1).optional(),
  /** Limit the request faults to one operation; null removes the limit. */
  operation: z.enum(atolFaultOperations).nullable().optional(),
  /** The next N accepted receipts end in fail (register error). */
  failNextReceipts: z.number().int().min(0).optional(),
  failRate: z.number().min(0).max(1).optional(),
});
export type AtolFaults = z.infer<typeof atolFaultsSchema>;

export type AtolSimOperation = 'sell' | 'sell_refund';
export type AtolReceiptStatus = 'wait' | 'done' | 'fail';

interface AtolErrorBody {
  error_id: string;
  code: number;
  text: string;
  type: string;
}

export interface SimulatedReceipt {
  uuid: string;
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

export interface CallbackRecord {
  uuid: string;
  url: string;
  status: AtolReceiptStatus;
  httpStatus?: number;
  error?: string;
  at: string;
}

export interface AtolSimulatorState {
  groupCode: string;
  receipts: Record<AtolSimOperation, SimulatedReceipt[]>;
  tokens: { issued: number; active: number };
  callbacks: CallbackRecord[];
  faults: AtolFaults;
  counters: { requests: number; rateLimited: number; injectedErrors: number; lostAnswers: number; timeouts: number };
  /** Requests hanging right now (timeout faults). */
  hangingRequests: number;
}

export interface AtolSimulator {
  /** Base URL clients use, …/possystem/v5 */
  url: string;
  /** …/_admin */
  adminUrl: string;
  readonly state: AtolSimulatorState;
  setFaults(faults: AtolFaults): void;
  reset(): void;
  expireTokens(): void;
  /** Finishes every receipt still waiting, now (done or fail by the usual rules). */
  completePending(): void;
  close(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const OPERATIONS = new Set(['sell', 'sell_refund', 'sell_correction', 'buy', 'buy_refund', 'buy_correction']);
const SUPPORTED: ReadonlySet<string> = new Set<AtolSimOperation>(['sell', 'sell_refund']);
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
} as const;

export async function startAtolSimulator(opts: AtolSimulatorOptions): Promise<AtolSimulator> {
  const log = opts.logger ?? createLogger('atol-simulator');
  const random = opts.random ?? Math.random;
  const timeZone = opts.timeZone ?? 'Europe/Moscow';
  const tokenTtlMs = opts.tokenTtlMs ?? DAY_MS;
  const processingDelayMs = opts.processingDelayMs ?? 1000;
  const stateLagMs = opts.stateLagMs ?? 0;
  const groupRate = (opts.rateLimitPerSec ?? 1) * (opts.registers ?? 1);
  const v4Only = new Set(opts.v4OnlyGroupCodes ?? []);
  const wallClock = new Intl.DateTimeFormat('en-GB', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });

  const tokens = new Map<string, { expiresAt: number }>();
  const receipts = new Map<string, SimulatedReceipt>();
  const acceptedAtMs = new Map<string, number>();
  const byExternalId = new Map<string, string>();
  const timers = new Map<string, NodeJS.Timeout>();
  let callbacks: CallbackRecord[] = [];
  let faults: AtolFaults = {};
  let counters = freshCounters();
  const hanging = new Set<Response>();
  let bucket = { tokens: Math.max(1, groupRate), at: Date.now() };
  let fiscalDocumentNumber = 0;
  let tokensIssued = 0;

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
  /** getToken answers carry no receipt status. */
  const sendTokenError = (res: Response, key: ErrKey, detail?: string): void => {
    const e = ERR[key];
    res.status(e.http).json({ error: errorBody(e.code, detail ? `${e.text}: ${detail}` : e.text), timestamp: atolNow() });
  };

  const takeRateToken = (): boolean => {
    if (groupRate <= 0) return true;
    const now = Date.now();
    const capacity = Math.max(1, groupRate);
    bucket = { tokens: Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * groupRate), at: now };
    // A little slack: a client spacing requests by exactly 1/rate must not trip over timer jitter.
    if (bucket.tokens < 0.95) return false;
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    return true;
  };

  /** Token and group check for group endpoints: the error to answer, or undefined when the request may go on. */
  const authProblem = (req: Request): ErrKey | undefined => {
    const header = req.get('token');
    const token = header ?? (typeof req.query.token === 'string' ? req.query.token : undefined);
    const known = token ? tokens.get(token) : undefined;
    if (!known) return 'missingToken';
    if (Date.now() >= known.expiresAt) return 'expiredToken';
    const group = String(req.params.group);
    if (v4Only.has(group)) return 'groupProtocol';
    if (group !== opts.groupCode) return 'groupMismatch';
    return undefined;
  };

  const rateLimited = (res: Response): void => {
    counters.rateLimited += 1;
    res.set('Retry-After', '1');
    sendError(res, 'rateLimited');
  };

  const reportBody = (r: SimulatedReceipt): Record<string, unknown> => ({
    uuid: r.uuid,
    error: r.error ?? null,
    status: r.status,
    payload: r.payload ?? null,
    timestamp: atolNow(),
    group_code: opts.groupCode,
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
    if (vatProblem) {
      r.status = 'fail';
      r.error = errorBody(REGISTER_ERRORS.vatNotValidOnDate.code, `${REGISTER_ERRORS.vatNotValidOnDate.text} (${vatProblem})`, REGISTER_ERRORS.vatNotValidOnDate.type);
    } else if ((faults.failNextReceipts ?? 0) > 0 || random() < (faults.failRate ?? opts.failRate ?? 0)) {
      if ((faults.failNextReceipts ?? 0) > 0) faults.failNextReceipts = (faults.failNextReceipts ?? 0) - 1;
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

  const deliverCallback = async (r: SimulatedReceipt): Promise<void> => {
    const record: CallbackRecord = { uuid: r.uuid, url: r.callback_url ?? '', status: r.status, at: new Date().toISOString() };
    try {
      const res = await httpRequest(record.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(reportBody(r)),
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

  /** Whether the request faults apply to a request of this operation. */
  const inScope = (operation: string | undefined): boolean => !faults.operation || faults.operation === operation;
  /** Consumes one of the next-N counter, else rolls the rate. */
  const hit = (next: 'timeoutNext' | 'applyThenLoseNext', rate: number | undefined): boolean => {
    const left = faults[next] ?? 0;
    if (left > 0) {
      faults[next] = left - 1;
      return true;
    }
    return rate !== undefined && rate > 0 && random() < rate;
  };

  /** Leaves the request unanswered and unapplied until hangMs, close(), or the client gives up. */
  const hang = (req: Request, res: Response, operation: string | undefined): void => {
    counters.timeouts += 1;
    hanging.add(res);
    log.info({ operation, path: req.path }, 'atol-sim: request hangs (fault)');
    const timer = setTimeout(() => {
      hanging.delete(res);
      res.socket?.destroy();
    }, faults.hangMs ?? 120_000);
    res.on('close', () => {
      clearTimeout(timer);
      hanging.delete(res);
    });
  };

  app.use('/possystem', async (req: Request, res: Response, next: NextFunction) => {
    counters.requests += 1;
    const operation = operationOf(req.path);
    if (!inScope(operation)) return next();
    // Decided on arrival (as the Bitrix simulator does), so a slow request still takes its timeoutNext.
    if (hit('timeoutNext', faults.timeoutRate)) return hang(req, res, operation);
    if (faults.latencyMs) await sleep(faults.latencyMs);
    if (faults.errorRate && random() < faults.errorRate) {
      counters.injectedErrors += 1;
      const status = faults.errorStatus ?? 500;
      if (status === 500) res.status(500).json({ error: errorBody(ERR.server.code, ERR.server.text), timestamp: atolNow() });
      else res.status(status).type('text/plain').send('Bad Gateway');
      return;
    }
    next();
  });

  const tokenHandler = (req: Request, res: Response): void => {
    let creds: Record<string, unknown>;
    if (req.method === 'GET') {
      creds = req.query as Record<string, unknown>;
    } else {
      if (!req.is('application/json')) return sendTokenError(res, 'mediaType');
      const parsed = parseJson(req.body);
      if (!parsed.ok || !parsed.value || typeof parsed.value !== 'object') return sendTokenError(res, 'badRequest');
      creds = parsed.value as Record<string, unknown>;
    }
    if (typeof creds.login !== 'string' || typeof creds.pass !== 'string' || !creds.login || !creds.pass) {
      return sendTokenError(res, 'validation', 'login, pass');
    }
    if (creds.login !== opts.login || creds.pass !== opts.password) {
      log.info('atol-sim: getToken with wrong credentials');
      return sendTokenError(res, 'wrongLogin');
    }
    const token = randomBytes(16).toString('hex');
    tokens.set(token, { expiresAt: Date.now() + tokenTtlMs });
    tokensIssued += 1;
    res.json({ error: null, token, timestamp: atolNow() });
  };
  app.post('/possystem/v5/getToken', rawBody, tokenHandler);
  app.get('/possystem/v5/getToken', tokenHandler);

  app.get('/possystem/v5/:group/report/:uuid', (req: Request, res: Response) => {
    if (!takeRateToken()) return rateLimited(res);
    const denied = authProblem(req);
    if (denied) return sendError(res, denied);
    const uuid = String(req.params.uuid);
    const r = UUID.test(uuid) ? receipts.get(uuid) : undefined;
    if (!r) return sendError(res, 'missingUuid', uuid.slice(0, 64));
    if (Date.now() - (acceptedAtMs.get(uuid) ?? 0) < stateLagMs) return sendError(res, 'stateNotFound', undefined, { callback_url: r.callback_url ?? '' });
    res.json(reportBody(r));
  });

  app.post('/possystem/v5/:group/:operation', rawBody, (req: Request, res: Response) => {
    if (!takeRateToken()) return rateLimited(res);
    const denied = authProblem(req);
    if (denied) return sendError(res, denied);
    const operation = String(req.params.operation);
    if (!SUPPORTED.has(operation)) return sendError(res, 'operation', OPERATIONS.has(operation) ? `${operation} (not simulated)` : operation.slice(0, 64));
    if (!req.is('application/json')) return sendError(res, 'mediaType');
    const parsed = parseJson(req.body);
    if (!parsed.ok) return sendError(res, 'badRequest', 'body is not JSON');
    const invalid = validateReceiptBody(parsed.value);
    if (invalid) {
      log.info({ operation, field: invalid.field }, 'atol-sim: receipt rejected by validation');
      return sendError(res, 'receiptValidation', `${invalid.field} (${invalid.reason})`);
    }
    const body = parsed.value as Record<string, unknown> & { external_id: string; timestamp: string; receipt: ReceiptShape; service?: { callback_url?: string } };
    const lose = (): boolean => {
      if (!inScope(operation) || !hit('applyThenLoseNext', faults.applyThenLoseRate)) return false;
      counters.lostAnswers += 1;
      log.info({ operation, externalId: body.external_id }, 'atol-sim: applied, answer lost (fault)');
      req.socket.destroy();
      return true;
    };

    const existing = byExternalId.get(body.external_id);
    if (existing) {
      if (lose()) return;
      return sendError(res, 'duplicate', body.external_id, { uuid: existing });
    }
    const uuid = randomUUID();
    const receipt: SimulatedReceipt = {
      uuid,
      external_id: body.external_id,
      operation: operation as AtolSimOperation,
      status: 'wait',
      timestamp: body.timestamp,
      total: body.receipt.total,
      vat_types: [...new Set(body.receipt.items.map((i) => i.vat.type))],
      accepted_at: new Date().toISOString(),
      ...(body.service?.callback_url ? { callback_url: body.service.callback_url } : {}),
      body,
    };
    receipts.set(uuid, receipt);
    acceptedAtMs.set(uuid, Date.now());
    byExternalId.set(body.external_id, uuid);
    timers.set(uuid, setTimeout(() => finish(uuid), processingDelayMs));
    log.info({ operation, externalId: body.external_id, uuid }, 'atol-sim: receipt accepted');
    if (lose()) return;
    res.json({ uuid, status: 'wait', error: null, timestamp: atolNow() });
  });

  app.use('/possystem', (_req: Request, res: Response) => sendError(res, 'badRequest', 'unknown path'));

  const admin = express.Router();
  admin.use(express.json());
  admin.get('/state', (_req, res) => { res.json(snapshot()); });
  admin.post('/faults', (req, res) => {
    const parsed = atolFaultsSchema.safeParse(req.body ?? {});
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
    if (status === 413 || status === 400) return sendError(res, 'badRequest', 'unreadable body');
    log.error({ err }, 'atol-sim: unexpected error');
    sendError(res, 'server');
  });

  const snapshot = (): AtolSimulatorState => {
    const all = [...receipts.values()].map((r) => structuredClone(r));
    const now = Date.now();
    return {
      groupCode: opts.groupCode,
      receipts: { sell: all.filter((r) => r.operation === 'sell'), sell_refund: all.filter((r) => r.operation === 'sell_refund') },
      tokens: { issued: tokensIssued, active: [...tokens.values()].filter((t) => t.expiresAt > now).length },
      callbacks: callbacks.map((c) => ({ ...c })),
      faults: { ...faults },
      counters: { ...counters },
      hangingRequests: hanging.size,
    };
  };
  const setFaults = (next: AtolFaults): void => {
    faults = { ...faults, ...atolFaultsSchema.parse(next) };
    if (faults.operation === null) delete faults.operation;
    log.info({ faults }, 'atol-sim: faults set');
  };
  const reset = (): void => {
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
    tokens.clear();
    receipts.clear();
    acceptedAtMs.clear();
    byExternalId.clear();
    callbacks = [];
    faults = {};
    counters = freshCounters();
    bucket = { tokens: Math.max(1, groupRate), at: Date.now() };
    tokensIssued = 0;
  };
  const expireTokens = (): void => {
    for (const t of tokens.values()) t.expiresAt = 0;
  };
  const completePending = (): void => {
    for (const [uuid, t] of [...timers]) {
      clearTimeout(t);
      finish(uuid);
    }
  };

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url: `${base}/possystem/v5` }, 'atol-sim: listening');

  return {
    url: `${base}/possystem/v5`,
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

function freshCounters(): AtolSimulatorState['counters'] {
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
