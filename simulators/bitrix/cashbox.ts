import { request } from 'undici';
import { kopecksToRubleNumber } from '../../domain/money';
import type { Logger } from '../../lib/logger';
import { buildPhpQuery } from './php-query';
import type { MethodContext, MethodResult } from './rest';
import { int, RestError, type SimOrder, type SimPayment } from './state';

/**
 * Bitrix's REST cashboxes (sale.cashbox.*; docs/external-apis.md §1a): handlers, cashboxes, the checks Bitrix
 * makes by its cashbox rules when a payment is paid (sell) or returned (sellreturn), and the print requests it
 * POSTs to the handler's PRINT_URL — form-encoded, as Bitrix's HttpClient posts an array; a check whose request
 * got no answer or a server error is sent again (at least once, now and then twice).
 */

export interface SimCashboxHandler {
  id: number;
  code: string;
  name: string;
  sort: number;
  settings: { PRINT_URL: string; CHECK_URL: string; HTTP_VERSION?: string; CONFIG: Record<string, unknown> } & Record<string, unknown>;
}

export interface SimCashbox {
  id: number;
  name: string;
  restCode: string;
  email: string;
  numberKkm: string;
  active: boolean;
  settings: Record<string, unknown>;
}

/** A cashbox rule as a shop administrator sets it: this cashbox prints the checks of these pay systems at these warehouses. */
export interface SimCashboxRule {
  cashboxId: number;
  paySystemIds: number[];
  /** Warehouses (catalog.store ids) the order is reserved at; empty = any. */
  storeIds: number[];
}

/** Check statuses as Bitrix keeps them: N new, P printing (sent, UUID answered), Y printed, E error. */
export interface SimCheck {
  id: number;
  uuid: string;
  type: 'sell' | 'sellreturn';
  cashboxId: number;
  orderId: number;
  paymentId: number;
  sum: number;
  status: 'N' | 'P' | 'Y' | 'E';
  externalUuid: string | null;
  errors: string[];
  /** What sale.cashbox.check.apply saved (the "Checks" tab's fiscal attributes). */
  linkParams: Record<string, string> | null;
  applyCount: number;
  printRequests: { at: string; status?: number; error?: string }[];
}

export interface CashboxSenderOptions {
  /** Host in the check uuid (`check|<host>|<id>`). */
  host: () => string;
  log: Logger;
  timeoutMs?: number;
  /** Delay before a print request is sent again after no answer or a 5xx. */
  retryDelayMs?: number;
  maxAttempts?: number;
}

export class CashboxRegistry {
  handlers = new Map<number, SimCashboxHandler>();
  cashboxes = new Map<number, SimCashbox>();
  rules: SimCashboxRule[] = [];
  checks = new Map<number, SimCheck>();
  /** Share of checks whose print request is sent twice even when answered (Bitrix re-sends a check it believes lost). */
  duplicateRate = 0;
  /** The next n checks are sent twice (deterministic tests). */
  duplicateNext = 0;
  private seq = { handler: 0, cashbox: 0, check: 0 };
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly opts: CashboxSenderOptions) {}

  reset(): void {
    this.handlers.clear();
    this.cashboxes.clear();
    this.rules = [];
    this.checks.clear();
    this.duplicateRate = 0;
    this.duplicateNext = 0;
    this.seq = { handler: 0, cashbox: 0, check: 0 };
  }

  /** Resolves when every print request started so far has an outcome. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Bitrix's cashbox rules at work: a paid payment gets a sell check, a returned one a sellreturn check. */
  onPaymentUpdated(order: SimOrder, payment: SimPayment, before: Pick<SimPayment, 'paid' | 'isReturn'>): void {
    let type: SimCheck['type'] | undefined;
    if (payment.paid && !before.paid) type = 'sell';
    else if (!payment.paid && before.paid && (payment.isReturn === 'Y' || payment.isReturn === 'P')) type = 'sellreturn';
    if (!type) return;
    // A payment that already has a check of this type (made by hand, say) gets no second one.
    if ([...this.checks.values()].some((c) => c.paymentId === payment.id && c.type === type && c.status !== 'E')) return;
    this.addCheck(order, payment, type);
  }

  /**
   * A check for a payment, by the cashbox rules: what the rules make on payment, or what a manager adds by hand
   * in the order's "Checks" tab ("Добавить чек"). Undefined when no rule's cashbox serves the payment.
   */
  addCheck(order: SimOrder, payment: SimPayment, type: SimCheck['type']): SimCheck | undefined {
    const warehouses = new Set(order.basketItems.flatMap((b) => b.reservations.map((r) => r.storeId)));
    const rule = this.rules.find(
      (r) => this.cashboxes.get(r.cashboxId)?.active && r.paySystemIds.includes(payment.paySystemId) && (r.storeIds.length === 0 || r.storeIds.some((s) => warehouses.has(s))),
    );
    if (!rule) return undefined;
    const id = ++this.seq.check;
    const check: SimCheck = {
      id,
      uuid: `check|${this.opts.host()}|${id}`,
      type,
      cashboxId: rule.cashboxId,
      orderId: order.id,
      paymentId: payment.id,
      sum: payment.sum,
      status: 'N',
      externalUuid: null,
      errors: [],
      linkParams: null,
      applyCount: 0,
      printRequests: [],
    };
    this.checks.set(id, check);
    const twice = this.duplicateNext > 0 ? (this.duplicateNext--, true) : Math.random() < this.duplicateRate;
    this.track(this.print(check, order).then(() => (twice ? this.print(check, order) : undefined)));
    return check;
  }

  private track(p: Promise<unknown>): void {
    const done = p.then(() => undefined).catch((e: unknown) => this.opts.log.error({ err: e }, 'print request failed'));
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** The print request as CashboxRest::buildCheckQuery makes it. */
  printRequestBody(check: SimCheck, order: SimOrder): Record<string, unknown> {
    const cashbox = this.cashboxes.get(check.cashboxId)!;
    const payment = order.payments.find((p) => p.id === check.paymentId)!;
    const method = 'full_payment';
    return {
      type: check.type,
      calculated_sign: check.type === 'sell' ? 'income' : 'consumption',
      unique_id: check.id,
      items: order.basketItems.map((b) => ({
        name: b.name,
        base_price: kopecksToRubleNumber(b.basePrice),
        price: kopecksToRubleNumber(b.price),
        sum: kopecksToRubleNumber(Math.round(b.price * b.quantity)),
        quantity: b.quantity,
        vat: b.vatRate === null ? '' : 1,
        vat_sum: 0,
        payment_object: 'commodity',
        payment_method: method,
        currency: order.currency,
      })),
      date_create: Math.floor(Date.now() / 1000),
      payments: [{ type: 'cashless', is_cash: 'N', sum: kopecksToRubleNumber(payment.sum), currency: order.currency }],
      total_sum: kopecksToRubleNumber(check.sum),
      uuid: check.uuid,
      operation: check.type === 'sell' ? 'income' : 'consumption',
      number_kkm: cashbox.numberKkm,
      service_email: cashbox.email,
      cashbox_params: cashbox.settings,
    };
  }

  private async print(check: SimCheck, order: SimOrder): Promise<void> {
    const cashbox = this.cashboxes.get(check.cashboxId);
    const handler = cashbox && [...this.handlers.values()].find((h) => h.code === cashbox.restCode);
    if (!handler) {
      check.status = 'E';
      check.errors.push('the cashbox handler is gone');
      return;
    }
    const body = buildPhpQuery(this.printRequestBody(check, order));
    const maxAttempts = this.opts.maxAttempts ?? 5;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const seen: SimCheck['printRequests'][number] = { at: new Date().toISOString() };
      check.printRequests.push(seen);
      try {
        const res = await request(handler.settings.PRINT_URL, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
          headersTimeout: this.opts.timeoutMs ?? 10_000,
          bodyTimeout: this.opts.timeoutMs ?? 10_000,
        });
        seen.status = res.statusCode;
        const text = await res.body.text();
        let answer: Record<string, unknown> = {};
        try {
          answer = Object.fromEntries(Object.entries(JSON.parse(text) as object).map(([k, v]) => [k.toUpperCase(), v]));
        } catch {
          answer = {};
        }
        if (res.statusCode >= 500) throw new Error(`HTTP ${res.statusCode}`);
        const errors = Array.isArray(answer.ERRORS) ? answer.ERRORS.map(String) : [];
        if (res.statusCode !== 200 || errors.length) {
          // A refusal is final: Bitrix marks the check failed and tells the manager why.
          if (check.status !== 'Y') check.status = 'E';
          check.errors.push(...(errors.length ? errors : [`HTTP ${res.statusCode}`]));
          return;
        }
        if (typeof answer.UUID === 'string' && answer.UUID) {
          check.externalUuid = answer.UUID;
          if (check.status !== 'Y') check.status = 'P';
        }
        return;
      } catch (e) {
        seen.error = (e as { code?: string }).code ?? (e as Error).message;
        this.opts.log.info({ uuid: check.uuid, attempt, error: seen.error }, 'print request got no answer; sending it again');
        if (attempt < maxAttempts) await new Promise((r) => setTimeout(r, this.opts.retryDelayMs ?? 500));
      }
    }
    if (check.status !== 'Y') {
      check.status = 'E';
      check.errors.push('the cashbox did not answer');
    }
  }

  // REST methods.

  readonly methods: Record<string, (ctx: MethodContext, p: Record<string, unknown>) => MethodResult> = {
    'sale.cashbox.handler.add': (_ctx, p) => {
      const code = requiredText(p, 'CODE');
      const name = requiredText(p, 'NAME');
      const settings = p.SETTINGS as SimCashboxHandler['settings'] | undefined;
      if (!settings || typeof settings !== 'object') throw checkFailure('Parameter SETTINGS is not defined');
      for (const key of ['PRINT_URL', 'CHECK_URL', 'CONFIG'] as const) if (!settings[key]) throw checkFailure(`Parameter SETTINGS[${key}] is not defined`);
      if ([...this.handlers.values()].some((h) => h.code === code)) throw new RestError(400, 'ERROR_HANDLER_ALREADY_EXIST', 'Handler already exists!');
      const id = ++this.seq.handler;
      this.handlers.set(id, { id, code, name, sort: Number(p.SORT ?? 100), settings });
      return { result: id };
    },
    'sale.cashbox.handler.update': (_ctx, p) => {
      const id = int(p.ID, 'ID');
      const fields = p.FIELDS as Partial<Pick<SimCashboxHandler, 'name' | 'sort'>> & Record<string, unknown>;
      if (!fields || typeof fields !== 'object') throw checkFailure('Parameter FIELDS is not defined');
      const handler = this.handlers.get(id);
      if (!handler) throw new RestError(400, 'ERROR_HANDLER_NOT_FOUND', 'Handler not found');
      if (typeof fields.NAME === 'string') handler.name = fields.NAME;
      if (fields.SETTINGS && typeof fields.SETTINGS === 'object') handler.settings = fields.SETTINGS as SimCashboxHandler['settings'];
      return { result: true };
    },
    'sale.cashbox.handler.list': () => ({
      result: [...this.handlers.values()].map((h) => ({ ID: String(h.id), NAME: h.name, CODE: h.code, SORT: String(h.sort), SETTINGS: h.settings })),
    }),
    'sale.cashbox.add': (_ctx, p) => {
      const name = requiredText(p, 'NAME');
      const restCode = requiredText(p, 'REST_CODE');
      const email = requiredText(p, 'EMAIL');
      if (![...this.handlers.values()].some((h) => h.code === restCode)) throw new RestError(400, 'ERROR_CASHBOX_ADD', `Handler ${restCode} not found`);
      const id = ++this.seq.cashbox;
      this.cashboxes.set(id, {
        id,
        name,
        restCode,
        email,
        numberKkm: typeof p.NUMBER_KKM === 'string' ? p.NUMBER_KKM : '',
        active: p.ACTIVE === 'Y',
        settings: (p.SETTINGS as Record<string, unknown>) ?? {},
      });
      return { result: id };
    },
    'sale.cashbox.update': (_ctx, p) => {
      const id = int(p.ID, 'ID');
      const fields = p.FIELDS as Record<string, unknown> | undefined;
      if (!fields || typeof fields !== 'object') throw checkFailure('Parameter FIELDS is not defined');
      const cashbox = this.cashboxes.get(id);
      if (!cashbox) throw new RestError(400, 'ERROR_CASHBOX_NOT_FOUND', 'Cash register not found');
      if (typeof fields.NAME === 'string') cashbox.name = fields.NAME;
      if (typeof fields.NUMBER_KKM === 'string') cashbox.numberKkm = fields.NUMBER_KKM;
      if (fields.ACTIVE === 'Y' || fields.ACTIVE === 'N') cashbox.active = fields.ACTIVE === 'Y';
      if (fields.SETTINGS && typeof fields.SETTINGS === 'object') cashbox.settings = fields.SETTINGS as Record<string, unknown>;
      return { result: true };
    },
    // SETTINGS are not among sale.cashbox.list's fields: only the documented row.
    'sale.cashbox.list': () => ({
      result: [...this.cashboxes.values()].map((c) => ({
        ID: String(c.id),
        NAME: c.name,
        OFD: '',
        EMAIL: c.email,
        DATE_CREATE: {},
        DATE_LAST_CHECK: null,
        NUMBER_KKM: c.numberKkm,
        KKM_ID: null,
        ACTIVE: c.active ? 'Y' : 'N',
        SORT: '100',
        USE_OFFLINE: 'N',
        ENABLED: 'Y',
      })),
    }),
    'sale.cashbox.check.apply': (_ctx, p) => {
      const uuid = typeof p.UUID === 'string' ? p.UUID : '';
      if (!uuid) throw checkFailure('Parameter UUID is not defined');
      // Bitrix finds the check by the UUID the PRINT_URL answered (CheckManager::getCheckInfoByExternalUuid).
      const check = [...this.checks.values()].find((c) => c.externalUuid === uuid);
      if (!check) throw new RestError(400, 'ERROR_CHECK_NOT_FOUND', 'Check not found');
      const keys = ['PRINT_END_TIME', 'REG_NUMBER_KKT', 'FISCAL_DOC_ATTR', 'FISCAL_DOC_NUMBER', 'FISCAL_RECEIPT_NUMBER', 'FN_NUMBER', 'SHIFT_NUMBER'];
      check.linkParams = Object.fromEntries(keys.map((k) => [k, p[k] === undefined || p[k] === null ? '' : String(p[k])]));
      check.status = 'Y';
      check.errors = [];
      check.applyCount++;
      return { result: true };
    },
  };
}

function requiredText(p: Record<string, unknown>, name: string): string {
  const v = p[name];
  if (typeof v !== 'string' || v === '') throw checkFailure(`Parameter ${name} is not defined`);
  return v;
}

function checkFailure(description: string): RestError {
  return new RestError(400, 'ERROR_CHECK_FAILURE', description);
}
