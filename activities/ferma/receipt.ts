import { kopecksToRubleNumber, lineTotal, type Kopecks } from '../../domain/money';
import type { OrderItem, OrderSnapshot } from '../../domain/order';
import { atolVatTag, type AtolVatTag } from '../../domain/vat';
import type { AtolCompany, AtolReceiptKind, AtolRefundLine } from '../atol/receipt';
import type { AtolSno } from '../atol/wire';
import {
  FERMA_VAT_BY_TAG, FermaPaymentKind, FermaPaymentMethod, FermaPaymentObject,
  type FermaItem, type FermaMeasure, type FermaReceiptRequest, type FermaReceiptType, type FermaTaxationSystem,
} from './wire';

/** The store's seller data (POS_CONFIG `company`), the same block ATOL receipts are built from. */
export type FermaCompany = AtolCompany;

/** `full_payment`: paid at the terminal (PaymentItems type 1); `prepayment_offset`: 100% prepaid online (type 2). */
export type FermaReceiptKind = AtolReceiptKind;

export interface FermaIncomeReceiptInput {
  order: OrderSnapshot;
  /** Idempotency key, unique per Ferma account across receipt types; ≤64 chars. */
  invoiceId: string;
  receiptTime: Date;
  /** The store's IANA time zone: its calendar day decides the VAT rate. */
  timeZone: string;
  company: FermaCompany;
  kind: FermaReceiptKind;
  callbackUrl?: string;
}

export interface FermaIncomeReturnReceiptInput extends FermaIncomeReceiptInput {
  /** When the refunded sale was made: its VAT rate applies (a 2025 sale is refunded with Vat20). */
  saleTime: Date;
  /** What goes back; omitted = the whole order. `kind` must be the one of the sale receipt. */
  lines?: AtolRefundLine[];
}

const TAXATION_BY_SNO: Readonly<Record<AtolSno, FermaTaxationSystem>> = {
  osn: 'Common',
  usn_income: 'SimpleIn',
  usn_income_outcome: 'SimpleInOut',
  esn: 'UnifiedAgricultural',
  patent: 'Patent',
};

/** OKEI measure code (Bitrix basketItems[].measureCode) → Ferma `Measure`. */
const MEASURE_BY_OKEI: Readonly<Record<string, FermaMeasure>> = {
  '796': 'PIECE',
  '163': 'GRAM',
  '166': 'KILOGRAM',
  '168': 'TON',
  '004': 'CENTIMETER',
  '006': 'METER',
  '055': 'SQUARE_METER',
  '111': 'MILLILITER',
  '112': 'LITER',
  '113': 'CUBIC_METER',
  '356': 'HOUR',
};

const MAX_LABEL = 128;
const MAX_ITEMS = 100;
const MAX_INVOICE_ID = 64;

/** `Income` for a pickup payment: every order line, paid by card or by offsetting the prepayment. */
export function buildFermaIncomeReceipt(input: FermaIncomeReceiptInput): FermaReceiptRequest {
  const lines = input.order.items.map((item) => ({ item, quantity: item.quantity }));
  const body = buildBody('Income', input, lines, input.receiptTime);
  const receiptTotal = sumOf(lines.map(({ item, quantity }) => lineTotal(item.price, quantity)));
  if (receiptTotal !== input.order.total) {
    throw new RangeError(
      `order ${input.order.accountNumber}: items add up to ${receiptTotal} kopecks but the order total is ` +
      `${input.order.total} (delivery or an order-level discount is not in the basket); cannot fiscalize it as is`,
    );
  }
  return body;
}

/** `IncomeReturn` for some or all of an order's lines, with the sale's payment form and VAT. */
export function buildFermaIncomeReturnReceipt(input: FermaIncomeReturnReceiptInput): FermaReceiptRequest {
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
  return buildBody('IncomeReturn', input, lines, input.saleTime);
}

function buildBody(
  type: FermaReceiptType,
  input: FermaIncomeReceiptInput,
  lines: { item: OrderItem; quantity: number }[],
  vatDate: Date,
): FermaReceiptRequest {
  const { order } = input;
  if (!input.invoiceId || input.invoiceId.length > MAX_INVOICE_ID) {
    throw new RangeError(`invoiceId must be 1..${MAX_INVOICE_ID} characters`);
  }
  if (lines.length === 0) throw new RangeError(`order ${order.accountNumber}: a receipt needs at least one item`);
  if (lines.length > MAX_ITEMS) {
    throw new RangeError(`order ${order.accountNumber}: ${lines.length} items, Ferma takes at most ${MAX_ITEMS} per receipt here`);
  }
  const items = lines.map(({ item, quantity }) => buildItem(order, item, quantity, vatDate, input.timeZone));
  const total: Kopecks = sumOf(lines.map(({ item, quantity }) => lineTotal(item.price, quantity)));
  const paymentKind = input.kind === 'prepayment_offset' ? FermaPaymentKind.prepaymentOffset : FermaPaymentKind.electronic;

  return {
    Request: {
      Inn: input.company.inn,
      Type: type,
      InvoiceId: input.invoiceId,
      ...(input.callbackUrl ? { CallbackUrl: input.callbackUrl } : {}),
      CustomerReceipt: {
        TaxationSystem: TAXATION_BY_SNO[input.company.sno],
        ...buyerContact(order),
        BillAddress: input.company.paymentAddress,
        Items: items,
        PaymentItems: [{ PaymentType: paymentKind, Sum: kopecksToRubleNumber(total) }],
      },
    },
  };
}

function buildItem(order: OrderSnapshot, item: OrderItem, quantity: number, vatDate: Date, timeZone: string): FermaItem {
  const where = `order ${order.accountNumber}, basket item ${item.basketId}`;
  if (!Number.isSafeInteger(item.price) || item.price < 0) throw new RangeError(`${where}: price must be whole kopecks ≥ 0`);
  if (!(quantity > 0) || Math.abs(quantity * 1000 - Math.round(quantity * 1000)) > 1e-6) {
    throw new RangeError(`${where}: quantity ${quantity} must be > 0 with at most 3 decimals`);
  }
  if (!item.vatIncluded && item.vatRate) {
    throw new RangeError(`${where}: price excludes VAT (vatIncluded = N); receipts need VAT-inclusive prices`);
  }
  const label = truncate(item.name.trim(), MAX_LABEL);
  if (!label) throw new RangeError(`${where}: item has no name`);

  let tag: AtolVatTag;
  try {
    tag = atolVatTag(item.vatRate, vatDate, { timeZone });
  } catch (e) {
    throw new RangeError(`${where}: ${(e as Error).message}`);
  }
  return {
    Label: label,
    Price: kopecksToRubleNumber(item.price),
    Quantity: Math.round(quantity * 1000) / 1000,
    Amount: kopecksToRubleNumber(lineTotal(item.price, quantity)),
    Vat: FERMA_VAT_BY_TAG[tag],
    Measure: measureOf(item.measureCode),
    PaymentMethod: FermaPaymentMethod.fullPayment,
    PaymentType: FermaPaymentObject.goods,
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

function measureOf(okei: string | undefined): FermaMeasure {
  if (okei === undefined || okei.trim() === '') return 'PIECE';
  return MEASURE_BY_OKEI[okei.trim().padStart(3, '0')] ?? 'OTHER';
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Tag 1008: email preferred (the OFD sends the receipt there); the phone as +7XXXXXXXXXX otherwise. */
function buyerContact(order: OrderSnapshot): { Email: string } | { Phone: string } {
  const email = order.buyer.email?.trim();
  if (email && email.length <= 64 && EMAIL.test(email)) return { Email: email };
  const phone = normalizePhone(order.buyer.phone);
  if (phone) return { Phone: phone };
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
