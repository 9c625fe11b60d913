import { createHash, randomUUID } from 'node:crypto';
import { kopecksToRubleNumber, lineTotal, rublesToKopecks, type Kopecks } from '../../domain/money';

/**
 * One Evotor smart terminal with its built-in fiscal drive: it rings receipts and produces them in both
 * shapes the outside world sees — the cloud v2 document (snake_case) and the receipt webhook's `data`
 * (camelCase). Written from Evotor's docs and real documents, independently of our client's schemas.
 */

export const PAYMENT_SOURCES = ['PAY_CASH', 'PAY_CASHBACK', 'PAY_CARD', 'OTHER'] as const;
export type PaymentSource = (typeof PAYMENT_SOURCES)[number];

/** Evotor's default print group id, as it appears in real documents of unrelated shops. */
const DEFAULT_PRINT_GROUP_ID = '46dd89f0-3a54-470a-a166-ad01fa34b86a';

const CLOUD_PAYMENT: Record<PaymentSource, { type: string; name: string }> = {
  PAY_CASH: { type: 'CASH', name: 'Наличные' },
  PAY_CARD: { type: 'ELECTRON', name: 'Банковская карта' },
  PAY_CASHBACK: { type: 'ELECTRON', name: 'Банковская карта (выдача наличных)' },
  OTHER: { type: 'UNKNOWN', name: 'Другое' },
};

/** A line as the cashier rings it: price in rubles, VAT as Bitrix's fraction (0.22; null = no VAT). */
export interface SaleLine {
  /**
   * Our (Bitrix) product id. The terminal rings the store's catalog product whose `code` equals it (and
   * creates one when there is none); the webhook's item id and the position's `product_id` are then that
   * product's Evotor uuid, the position's `code` its code. Without it the line is a free-price item.
   */
  productId?: string;
  name: string;
  price: string | number;
  quantity: number;
  vatRate?: number | null;
  measureName?: string;
}

/** The catalog product a line is rung as. */
export interface LineProduct {
  /** The Evotor product uuid. */
  id: string;
  code: string | null;
  /** NORMAL, SERVICE, ... */
  type: string;
  measureName: string;
}

/** A line with the catalog product the terminal rang it as (none for a free-price item). */
export interface RungLine extends SaleLine {
  product?: LineProduct;
}

export interface TerminalSpec {
  id: string;
  storeId: string;
  name?: string;
  /** Offset of the terminal's clock from UTC; default +3 h (Moscow). */
  timezoneOffsetMs?: number;
  online?: boolean;
}

export interface Terminal {
  id: string;
  name: string;
  storeId: string;
  timezoneOffsetMs: number;
  imei: string;
  firmware: string;
  online: boolean;
  employeeId: string;
  session: { id: string; number: number };
  fiscal: {
    fnSerialNumber: string;
    kktSerialNumber: string;
    kktRegNumber: string;
    nextFiscalDocumentNumber: number;
    nextRegisterDocumentNumber: number;
    receiptsInShift: number;
  };
  nextDocumentNumber: number;
  /** Receipts rung while offline, in order; invisible to the cloud until the terminal is back online. */
  queue: TerminalDocument[];
}

/** Everything a terminal produced for one document; `webhook` only for receipts. */
export interface TerminalDocument {
  id: string;
  type: string;
  storeId: string;
  deviceId: string;
  closeMs: number;
  /** The cloud v2 document (created_at is filled in when it reaches the cloud). */
  document: Record<string, unknown>;
  /** `data` of the receipt webhook event. */
  webhook?: Record<string, unknown>;
  sale?: RungSale;
}

/** What a PAYBACK needs to know about the sale it refunds. */
export interface RungSale {
  number: number;
  lines: RungLine[];
  paymentSource: PaymentSource;
  extras: Record<string, unknown>;
  total: Kopecks;
}

export function createTerminal(spec: TerminalSpec): Terminal {
  const h = digits(spec.id, 24);
  return {
    id: spec.id,
    name: spec.name ?? `Касса ${spec.id.slice(-4)}`,
    storeId: spec.storeId,
    timezoneOffsetMs: spec.timezoneOffsetMs ?? 3 * 60 * 60 * 1000,
    imei: `35${h.slice(0, 13)}`,
    firmware: '4.9.9',
    online: spec.online ?? true,
    employeeId: uuidFrom(`employee:${spec.id}`),
    session: { id: randomUUID(), number: 1 + (Number(h.slice(0, 2)) % 50) },
    fiscal: {
      fnSerialNumber: `73824407${h.slice(0, 8)}`,
      kktSerialNumber: `00307900${h.slice(8, 14)}`,
      kktRegNumber: `000820060${h.slice(14, 21)}`,
      nextFiscalDocumentNumber: 100 + Number(h.slice(21, 24)),
      nextRegisterDocumentNumber: 1,
      receiptsInShift: 0,
    },
    nextDocumentNumber: 1,
    queue: [],
  };
}

export interface DocumentContext {
  userId: string;
  appId: string;
  closeMs: number;
}

export function openSessionDocument(t: Terminal, ctx: DocumentContext): TerminalDocument {
  const id = randomUUID();
  return {
    id,
    type: 'OPEN_SESSION',
    storeId: t.storeId,
    deviceId: t.id,
    closeMs: ctx.closeMs,
    document: header(t, ctx, id, 'OPEN_SESSION', {}, {}),
  };
}

export interface RingInput {
  type: 'SELL' | 'PAYBACK';
  lines: RungLine[];
  paymentSource: PaymentSource;
  extras: Record<string, unknown>;
  /** What the customer actually pays, when less than the lines add up to (a discount on the receipt). */
  amountOverride?: Kopecks;
  /** PAYBACK: the sale it refunds. */
  base?: { id: string; number: number };
  /** The fiscal drive did not print it (drive failure, cashier's mistake): no fiscal data in the documents. */
  unprinted?: boolean;
}

/** Rings a receipt: advances the fiscal drive's counters and builds both of its outside shapes. */
export function ringReceipt(t: Terminal, input: RingInput, ctx: DocumentContext): TerminalDocument {
  if (input.lines.length === 0) throw new RangeError('a receipt needs at least one line');
  const priced = input.lines.map((l, i) => {
    if (!(l.quantity > 0)) throw new RangeError(`line ${i + 1}: quantity must be positive`);
    const price = rublesToKopecks(l.price, `line ${i + 1} price`);
    return { line: l, price, sum: lineTotal(price, l.quantity), percent: vatPercent(l.vatRate) };
  });
  const total = priced.reduce((s, p) => s + p.sum, 0);
  const payable = input.amountOverride ?? total;
  if (!Number.isSafeInteger(payable) || payable < 0 || payable > total) {
    throw new RangeError('amountOverride must be between 0 and the sum of the lines');
  }
  const discounts = distribute(total - payable, priced.map((p) => p.sum));

  const id = randomUUID();
  const fiscal = t.fiscal;
  const fiscalDocumentNumber = fiscal.nextFiscalDocumentNumber++;
  const registerDocumentNumber = fiscal.nextRegisterDocumentNumber++;
  const receiptNumber = ++fiscal.receiptsInShift;
  const local = new Date(ctx.closeMs + t.timezoneOffsetMs);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const payment = CLOUD_PAYMENT[input.paymentSource];
  const rub = kopecksToRubleNumber;

  const lines = priced.map((p, i) => {
    const resultSum = p.sum - discounts[i]!;
    return { ...p, discount: discounts[i]!, resultSum, tax: vatIncluded(p.sum, p.percent), resultTax: vatIncluded(resultSum, p.percent) };
  });

  const positions = lines.map((p, i) => ({
    id: i + 1,
    uuid: randomUUID(),
    product_id: p.line.product?.id ?? null,
    product_name: p.line.name,
    product_type: p.line.product?.type ?? 'NORMAL',
    code: p.line.product?.code ?? null,
    measure_name: measureOf(p.line),
    quantity: p.line.quantity,
    price: rub(p.price),
    cost_price: 0,
    result_price: rub(Math.round(p.resultSum / p.line.quantity)),
    sum: rub(p.sum),
    result_sum: rub(p.resultSum),
    tax: { type: taxTag(p.line.vatRate), sum: rub(p.tax), result_sum: rub(p.resultTax) },
    print_group_id: DEFAULT_PRINT_GROUP_ID,
    settlement_method: { type: 'CHECKOUT_FULL' },
    ...(p.discount > 0
      ? { doc_distributed_discount: { discount_type: 'SUM', discount_sum: rub(p.discount), discount_percent: percentOf(p.discount, p.sum) } }
      : {}),
  }));

  const body: Record<string, unknown> = {
    positions,
    doc_discounts:
      payable < total ? [{ discount_type: 'SUM', discount_sum: rub(total - payable), discount_percent: percentOf(total - payable, total) }] : [],
    payments: [
      {
        id: randomUUID(),
        sum: rub(payable),
        type: payment.type,
        parts: [{ print_group_id: DEFAULT_PRINT_GROUP_ID, part_sum: rub(payable), change: 0 }],
        app_info: { name: payment.name },
      },
    ],
    print_groups: [
      { id: DEFAULT_PRINT_GROUP_ID, type: 'CASH_RECEIPT', org_name: null, org_inn: null, org_address: null, taxation_system: null },
    ],
    // A drive that failed to print leaves the cloud document without fiscal data.
    ...(input.unprinted ? {} : { pos_print_results: [
      {
        receipt_number: receiptNumber,
        document_number: registerDocumentNumber,
        session_number: t.session.number,
        receipt_date: `${pad(local.getUTCDate())}${pad(local.getUTCMonth() + 1)}${local.getUTCFullYear()}`,
        receipt_time: `${pad(local.getUTCHours())}${pad(local.getUTCMinutes())}`,
        fn_reg_number: null,
        fiscal_sign_doc_number: fiscalSign(fiscal.fnSerialNumber, fiscalDocumentNumber),
        fiscal_document_number: fiscalDocumentNumber,
        fn_serial_number: fiscal.fnSerialNumber,
        kkt_serial_number: fiscal.kktSerialNumber,
        kkt_reg_number: fiscal.kktRegNumber,
        print_group_id: DEFAULT_PRINT_GROUP_ID,
        check_sum: rub(payable),
      },
    ] }),
    sum: rub(total),
    result_sum: rub(payable),
  };
  if (input.base) {
    body.base_document_id = input.base.id;
    body.base_document_number = input.base.number;
  }

  const extrasInCloud = Object.keys(input.extras).length > 0 ? { [ctx.appId]: input.extras } : {};
  const document = header(t, ctx, id, input.type, body, extrasInCloud);

  const webhook = {
    id,
    deviceId: t.id,
    storeId: t.storeId,
    dateTime: evotorDate(ctx.closeMs),
    type: input.type,
    shiftId: String(t.session.number),
    employeeId: t.employeeId,
    paymentSource: input.paymentSource,
    items: lines.map((p) => ({
      // The Evotor product uuid (not our product id: that is the product's `code`).
      id: p.line.product?.id ?? uuidFrom(`free-price:${p.line.name}`),
      name: p.line.name,
      itemType: p.line.product?.type ?? 'NORMAL',
      measureName: measureOf(p.line),
      quantity: p.line.quantity,
      price: rub(p.price),
      costPrice: 0,
      sumPrice: rub(p.sum),
      tax: rub(p.resultTax),
      taxPercent: p.percent,
      discount: rub(p.discount),
    })),
    totalTax: rub(lines.reduce((s, p) => s + p.resultTax, 0)),
    totalDiscount: rub(total - payable),
    totalAmount: rub(payable),
    extras: input.extras,
  };

  return {
    id,
    type: input.type,
    storeId: t.storeId,
    deviceId: t.id,
    closeMs: ctx.closeMs,
    document,
    webhook,
    sale: {
      number: document.number as number,
      lines: input.lines,
      paymentSource: input.paymentSource,
      extras: input.extras,
      total: payable,
    },
  };
}

/** "2026-01-23T10:48:57.000+0000": how the Evotor cloud writes instants. */
export function evotorDate(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

function header(
  t: Terminal,
  ctx: DocumentContext,
  id: string,
  type: string,
  body: Record<string, unknown>,
  extras: Record<string, unknown>,
): Record<string, unknown> {
  return {
    type,
    id,
    extras,
    number: t.nextDocumentNumber++,
    close_date: evotorDate(ctx.closeMs),
    time_zone_offset: t.timezoneOffsetMs,
    session_id: t.session.id,
    session_number: t.session.number,
    close_user_id: t.employeeId,
    device_id: t.id,
    store_id: t.storeId,
    user_id: ctx.userId,
    body,
    version: 'V2',
  };
}

function measureOf(line: RungLine): string {
  return line.measureName ?? line.product?.measureName ?? 'шт';
}

/** Evotor's tax tag for a Bitrix VAT fraction: null → NO_VAT, 0.22 → VAT_22 (the 22 % tag name is unconfirmed). */
export function taxTag(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? 'NO_VAT' : `VAT_${vatPercent(rate)}`;
}

function vatPercent(rate: number | null | undefined): number {
  if (rate === null || rate === undefined) return 0;
  if (!Number.isFinite(rate) || rate < 0 || rate >= 1) throw new RangeError(`vatRate must be a fraction (0.22) or null, got ${rate}`);
  return Math.round(rate * 100);
}

/** VAT contained in a VAT-inclusive amount, half-up to the kopeck. */
function vatIncluded(sum: Kopecks, percent: number): Kopecks {
  if (percent === 0) return 0;
  return Math.floor((2 * sum * percent + (100 + percent)) / (2 * (100 + percent)));
}

/** Splits `amount` over `weights` proportionally, to the kopeck, largest remainders first. */
function distribute(amount: Kopecks, weights: Kopecks[]): Kopecks[] {
  const total = weights.reduce((s, w) => s + w, 0);
  if (amount === 0 || total === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (amount * w) / total);
  const out = exact.map(Math.floor);
  let rest = amount - out.reduce((s, x) => s + x, 0);
  const order = exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).sort((a, b) => b.frac - a.frac);
  for (const { i } of order) {
    if (rest <= 0) break;
    out[i]! += 1;
    rest -= 1;
  }
  return out;
}

function percentOf(part: Kopecks, whole: Kopecks): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 100 * 100_000) / 100_000;
}

/** A 10-digit fiscal sign (ФПД is a 32-bit number), stable for a given drive and document. */
function fiscalSign(fn: string, fd: number): string {
  return String(createHash('sha256').update(`${fn}:${fd}`).digest().readUInt32BE(0));
}

function digits(seed: string, n: number): string {
  let out = '';
  for (let i = 0; out.length < n; i++) {
    for (const byte of createHash('sha256').update(`${seed}:${i}`).digest()) out += String(byte % 10);
  }
  return out.slice(0, n);
}

/** A uuid-shaped id derived from a name, so the same name always gets the same id. */
export function uuidFrom(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
