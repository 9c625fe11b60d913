import { kopecksToRubleNumber, lineTotal, type Kopecks } from '../../domain/money';
import type { OrderItem, OrderSnapshot } from '../../domain/order';
import { assertLinesMakeOrderTotal, buyerContact, checkedLineName, linesTotal, orderLines, refundLines, type ReceiptLineOfOrder } from '../../domain/receipt-lines';
import { atolVatTag, type AtolVatTag } from '../../domain/vat';
import { formatAtolDate, type AtolCompany, type AtolReceiptKind, type AtolRefundLine } from '../atol/receipt';
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
  const lines = orderLines(input.order);
  const body = buildBody('Income', input, lines, input.receiptTime);
  assertLinesMakeOrderTotal(input.order, lines);
  return body;
}

export interface FermaIncomeCorrectionInput extends FermaIncomeReceiptInput {
  /** When the buyer paid at the terminal (the settlement being corrected): its VAT rate applies. */
  settlementTime: Date;
  /** When the act was drawn up; its date in the store's zone is ReceiptDate. */
  actTime: Date;
  /** The act's number (domain/fiscal.ts correctionActNumber). */
  actNumber: string;
}

/**
 * `IncomeCorrection` for a pickup payment whose receipt was not issued at the time: the lines and payment of
 * the Income receipt (VAT as on the settlement date), CorrectionInfo SELF with the act's date and number.
 */
export function buildFermaIncomeCorrection(input: FermaIncomeCorrectionInput): FermaReceiptRequest {
  const lines = orderLines(input.order);
  const body = buildBody('IncomeCorrection', input, lines, input.settlementTime);
  assertLinesMakeOrderTotal(input.order, lines);
  if (!input.actNumber || input.actNumber.length > 32) throw new RangeError('actNumber must be 1..32 characters');
  body.Request.CustomerReceipt.CorrectionInfo = {
    Type: 'SELF',
    ReceiptDate: formatAtolDate(input.actTime, input.timeZone),
    ReceiptId: input.actNumber,
    // Tag 1177 is gone from FFD 1.2; Ferma's examples still send a description, so a short one goes along.
    Description: `Расчёт без чека, акт ${input.actNumber}`,
  };
  return body;
}

/** `IncomeReturn` for some or all of an order's lines, with the sale's payment form and VAT. */
export function buildFermaIncomeReturnReceipt(input: FermaIncomeReturnReceiptInput): FermaReceiptRequest {
  return buildBody('IncomeReturn', input, refundLines(input.order, input.lines), input.saleTime);
}

function buildBody(
  type: FermaReceiptType,
  input: FermaIncomeReceiptInput,
  lines: ReceiptLineOfOrder[],
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
  const total: Kopecks = linesTotal(lines);
  const paymentKind = input.kind === 'prepayment_offset' ? FermaPaymentKind.prepaymentOffset : FermaPaymentKind.electronic;

  return {
    Request: {
      Inn: input.company.inn,
      Type: type,
      InvoiceId: input.invoiceId,
      ...(input.callbackUrl ? { CallbackUrl: input.callbackUrl } : {}),
      CustomerReceipt: {
        TaxationSystem: TAXATION_BY_SNO[input.company.sno],
        ...fermaContact(order),
        BillAddress: input.company.paymentAddress,
        Items: items,
        PaymentItems: [{ PaymentType: paymentKind, Sum: kopecksToRubleNumber(total) }],
      },
    },
  };
}

function buildItem(order: OrderSnapshot, item: OrderItem, quantity: number, vatDate: Date, timeZone: string): FermaItem {
  const where = `order ${order.accountNumber}, basket item ${item.basketId}`;
  const label = checkedLineName(order, item, quantity, MAX_LABEL);

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

function measureOf(okei: string | undefined): FermaMeasure {
  if (okei === undefined || okei.trim() === '') return 'PIECE';
  return MEASURE_BY_OKEI[okei.trim().padStart(3, '0')] ?? 'OTHER';
}

/** Tag 1008 in Ferma's field names. */
function fermaContact(order: OrderSnapshot): { Email: string } | { Phone: string } {
  const contact = buyerContact(order);
  return 'email' in contact ? { Email: contact.email } : { Phone: contact.phone };
}
