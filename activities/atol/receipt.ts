import { kopecksToRubleNumber, lineTotal, type Kopecks } from '../../domain/money';
import type { OrderItem, OrderSnapshot } from '../../domain/order';
import { atolVatTag, vatAmount, type AtolVatTag } from '../../domain/vat';
import { formatAtolDateTime } from './time';
import {
  AtolMeasure, AtolPaymentObject, AtolPaymentType,
  type AtolItem, type AtolReceiptRequest, type AtolSno,
} from './wire';

/** The seller's data ATOL prints on every receipt (per store, from POS_CONFIG). */
export interface AtolCompany {
  email: string;
  sno: AtolSno;
  inn: string;
  /** Место расчётов (tag 1187): the shop's site or the pickup point's address. */
  paymentAddress: string;
}

/**
 * `full_payment`: the buyer pays at the terminal (payments type 1).
 * `prepayment_offset`: the order was 100% prepaid online; handing it over offsets the prepayment (type 2).
 */
export type AtolReceiptKind = 'full_payment' | 'prepayment_offset';

export interface AtolSellReceiptInput {
  order: OrderSnapshot;
  /** Idempotency key, unique within the ATOL group across all operations; ≤128 chars. */
  externalId: string;
  receiptTime: Date;
  /** The store's IANA time zone, e.g. Europe/Moscow; `timestamp` is rendered in it. */
  timeZone: string;
  company: AtolCompany;
  kind: AtolReceiptKind;
  callbackUrl?: string;
}

export interface AtolRefundLine {
  basketId: string;
  quantity: number;
}

export interface AtolRefundReceiptInput extends AtolSellReceiptInput {
  /** When the refunded sale was made: its VAT rate applies (a 2025 sale is refunded with vat20). */
  saleTime: Date;
  /** What goes back; omitted = the whole order. `kind` must be the one of the sale receipt. */
  lines?: AtolRefundLine[];
}

/** OKEI measure code (Bitrix basketItems[].measureCode) → ATOL v5 `measure`. */
const MEASURE_BY_OKEI: Readonly<Record<string, number>> = {
  '796': AtolMeasure.piece,
  '163': AtolMeasure.gram,
  '166': AtolMeasure.kilogram,
  '006': AtolMeasure.meter,
  '055': AtolMeasure.squareMeter,
  '111': AtolMeasure.milliliter,
  '112': AtolMeasure.liter,
  '113': AtolMeasure.cubicMeter,
  '356': AtolMeasure.hour,
};

const MAX_NAME = 128;
const MAX_ITEMS = 100;
const MAX_EXTERNAL_ID = 128;

/** Body of a v5 `sell` for a pickup payment: every order line, paid by card or by offsetting the prepayment. */
export function buildAtolSellReceipt(input: AtolSellReceiptInput): AtolReceiptRequest {
  const lines = input.order.items.map((item) => ({ item, quantity: item.quantity }));
  const body = buildBody(input, lines, input.receiptTime);
  const receiptTotal = sumOf(lines.map(({ item, quantity }) => lineTotal(item.price, quantity)));
  if (receiptTotal !== input.order.total) {
    throw new RangeError(
      `order ${input.order.accountNumber}: items add up to ${receiptTotal} kopecks but the order total is ` +
      `${input.order.total} (delivery or an order-level discount is not in the basket); cannot fiscalize it as is`,
    );
  }
  return body;
}

/** Body of a v5 `sell_refund` for some or all of an order's lines, with the sale's payment type and VAT. */
export function buildAtolRefundReceipt(input: AtolRefundReceiptInput): AtolReceiptRequest {
  const byId = new Map(input.order.items.map((item) => [item.basketId, item]));
  const requested = input.lines ?? input.order.items.map((item) => ({ basketId: item.basketId, quantity: item.quantity }));
  const seen = new Set<string>();
  const lines = requested.map(({ basketId, quantity }) => {
    const item = byId.get(basketId);
    if (!item) throw new RangeError(`refund line: basket item ${basketId} is not in order ${input.order.accountNumber}`);
    if (seen.has(basketId)) throw new RangeError(`refund line: basket item ${basketId} is listed twice`);
    seen.add(basketId);
    if (!(quantity > 0) || quantity > item.quantity) {
      throw new RangeError(`refund line: quantity ${quantity} of basket item ${basketId} must be > 0 and ≤ ${item.quantity}`);
    }
    return { item, quantity };
  });
  return buildBody(input, lines, input.saleTime);
}

function buildBody(
  input: AtolSellReceiptInput,
  lines: { item: OrderItem; quantity: number }[],
  vatDate: Date,
): AtolReceiptRequest {
  const { order } = input;
  if (!input.externalId || input.externalId.length > MAX_EXTERNAL_ID) {
    throw new RangeError(`externalId must be 1..${MAX_EXTERNAL_ID} characters`);
  }
  if (lines.length === 0) throw new RangeError(`order ${order.accountNumber}: a receipt needs at least one item`);
  if (lines.length > MAX_ITEMS) {
    throw new RangeError(`order ${order.accountNumber}: ${lines.length} items, ATOL takes at most ${MAX_ITEMS} per receipt`);
  }

  const items: AtolItem[] = lines.map(({ item, quantity }) => buildItem(order, item, quantity, vatDate));
  const total: Kopecks = sumOf(lines.map(({ item, quantity }) => lineTotal(item.price, quantity)));
  const paymentType = input.kind === 'prepayment_offset' ? AtolPaymentType.prepaymentOffset : AtolPaymentType.electronic;

  return {
    external_id: input.externalId,
    timestamp: formatAtolDateTime(input.receiptTime, input.timeZone),
    ...(input.callbackUrl ? { service: { callback_url: input.callbackUrl } } : {}),
    receipt: {
      client: buyerContact(order),
      company: {
        email: input.company.email,
        sno: input.company.sno,
        inn: input.company.inn,
        payment_address: input.company.paymentAddress,
      },
      items,
      payments: [{ type: paymentType, sum: kopecksToRubleNumber(total) }],
      total: kopecksToRubleNumber(total),
    },
  };
}

function buildItem(order: OrderSnapshot, item: OrderItem, quantity: number, vatDate: Date): AtolItem {
  const where = `order ${order.accountNumber}, basket item ${item.basketId}`;
  if (!Number.isSafeInteger(item.price) || item.price < 0) throw new RangeError(`${where}: price must be whole kopecks ≥ 0`);
  if (!(quantity > 0) || Math.abs(quantity * 1000 - Math.round(quantity * 1000)) > 1e-6) {
    throw new RangeError(`${where}: quantity ${quantity} must be > 0 with at most 3 decimals`);
  }
  if (!item.vatIncluded && item.vatRate) {
    throw new RangeError(`${where}: price excludes VAT (vatIncluded = N); receipts need VAT-inclusive prices`);
  }
  const name = truncate(item.name.trim(), MAX_NAME);
  if (!name) throw new RangeError(`${where}: item has no name`);

  let vatType: AtolVatTag;
  try {
    vatType = atolVatTag(item.vatRate, vatDate);
  } catch (e) {
    throw new RangeError(`${where}: ${(e as Error).message}`);
  }
  const sum = lineTotal(item.price, quantity);
  return {
    name,
    price: kopecksToRubleNumber(item.price),
    quantity: Math.round(quantity * 1000) / 1000,
    sum: kopecksToRubleNumber(sum),
    measure: measureOf(item.measureCode),
    payment_method: 'full_payment',
    payment_object: AtolPaymentObject.goods,
    vat: { type: vatType, sum: kopecksToRubleNumber(vatAmount(sum, vatType)) },
  };
}

/** At most `max` UTF-16 units, never splitting a surrogate pair. */
function truncate(text: string, max: number): string {
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}

function measureOf(okei: string | undefined): number {
  if (okei === undefined || okei.trim() === '') return AtolMeasure.piece;
  const code = okei.trim().padStart(3, '0');
  return MEASURE_BY_OKEI[code] ?? AtolMeasure.other;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Tag 1008: email preferred (the OFD sends the receipt there); the phone as +7XXXXXXXXXX otherwise. */
function buyerContact(order: OrderSnapshot): { email: string } | { phone: string } {
  const email = order.buyer.email?.trim();
  if (email && email.length <= 64 && EMAIL.test(email)) return { email };
  const phone = normalizePhone(order.buyer.phone);
  if (phone) return { phone };
  throw new RangeError(
    `order ${order.accountNumber}: a fiscal receipt needs the buyer's email or phone ` +
    `(order property EMAIL or PHONE is empty or invalid)`,
  );
}

function normalizePhone(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const plus = raw.trim().startsWith('+');
  let digits = raw.replace(/\D/g, '');
  if (!plus && digits.length === 11 && digits.startsWith('8')) digits = `7${digits.slice(1)}`;
  if (!plus && digits.length === 10) digits = `7${digits}`;
  if (digits.length < 10 || digits.length > 15) return undefined;
  return `+${digits}`;
}

function sumOf(values: Kopecks[]): Kopecks {
  return values.reduce((a, b) => a + b, 0);
}
