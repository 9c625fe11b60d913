import { kopecksToRubleNumber, lineTotal, type Kopecks } from '../../domain/money';
import type { OrderItem, OrderSnapshot } from '../../domain/order';
import { assertLinesMakeOrderTotal, buyerContact, checkedLineName, linesTotal, orderLines, refundLines, type ReceiptLineOfOrder } from '../../domain/receipt-lines';
import { atolVatTag, vatAmount, type AtolVatTag } from '../../domain/vat';
import { formatAtolDateTime } from './time';
import {
  AtolMeasure, AtolPaymentObject, AtolPaymentType,
  type AtolCorrectionRequest, type AtolItem, type AtolReceiptRequest, type AtolSno,
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

export interface AtolCorrectionReceiptInput extends AtolSellReceiptInput {
  /** When the buyer paid at the terminal (the settlement being corrected): its VAT rate applies. */
  settlementTime: Date;
  /** When the act was drawn up (reconciliation found the payment); its date in the store's zone is base_date. */
  actTime: Date;
  /** The act's number (domain/fiscal.ts correctionActNumber). */
  actNumber: string;
}

/**
 * Body of a v5 `sell_correction` (FFD 1.2) for a pickup payment whose receipt was not issued at the time:
 * the same items and payment as the sale receipt would have had (VAT as on the settlement date), under
 * `correction`, with the basis "self" (corrected on the seller's own initiative) and the act's date and number.
 * The buyer's contact stays in (tag 1008 is allowed on a correction receipt in FFD 1.2; the docs we could read
 * do not list `client` under `correction` either way — our choice, see docs/external-apis.md §4).
 */
export function buildAtolCorrectionReceipt(input: AtolCorrectionReceiptInput): AtolCorrectionRequest {
  const lines = orderLines(input.order);
  const { receipt, ...rest } = buildBody(input, lines, input.settlementTime);
  assertLinesMakeOrderTotal(input.order, lines);
  if (!input.actNumber || input.actNumber.length > 32) throw new RangeError('actNumber must be 1..32 characters');
  return {
    ...rest,
    correction: {
      ...receipt,
      correction_info: { type: 'self', base_date: formatAtolDate(input.actTime, input.timeZone), base_number: input.actNumber },
    },
  };
}

/** `dd.MM.yyyy` of an instant in `timeZone` (ATOL's date format, e.g. base_date). */
export function formatAtolDate(date: Date, timeZone: string): string {
  return formatAtolDateTime(date, timeZone).slice(0, 10);
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
  const lines = orderLines(input.order);
  const body = buildBody(input, lines, input.receiptTime);
  assertLinesMakeOrderTotal(input.order, lines);
  return body;
}

/** Body of a v5 `sell_refund` for some or all of an order's lines, with the sale's payment type and VAT. */
export function buildAtolRefundReceipt(input: AtolRefundReceiptInput): AtolReceiptRequest {
  return buildBody(input, refundLines(input.order, input.lines), input.saleTime);
}

function buildBody(
  input: AtolSellReceiptInput,
  lines: ReceiptLineOfOrder[],
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
  const total: Kopecks = linesTotal(lines);
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
  const name = checkedLineName(order, item, quantity, MAX_NAME);

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

function measureOf(okei: string | undefined): number {
  if (okei === undefined || okei.trim() === '') return AtolMeasure.piece;
  const code = okei.trim().padStart(3, '0');
  return MEASURE_BY_OKEI[code] ?? AtolMeasure.other;
}
