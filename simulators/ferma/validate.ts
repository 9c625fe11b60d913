import {
  EMAIL, INN, Invalid, array, firstFailure, money, object, optionalString, quantity, sumMatches, type ValidationFailure,
} from '../shared/validation';

/**
 * OFD.ru Ferma receipt validation as the service answers it: the first offending field, by its JSON path
 * under `Request`. Written from Ferma's API description, independent of our client and its schemas.
 */

export { toKopecks } from '../shared/validation';
export type { ValidationFailure } from '../shared/validation';

export const RECEIPT_TYPES = new Set(['Income', 'IncomeReturn', 'IncomeCorrection']);
/** Types Ferma has that this simulator does not process. */
export const OTHER_RECEIPT_TYPES = new Set([
  'IncomePrepayment', 'IncomeReturnPrepayment', 'IncomeReturnCorrection',
  'BuyCorrection', 'ExpenseReturnCorrection', 'Expense', 'ExpenseReturn',
]);
export const VATS = new Set([
  'VatNo', 'Vat0', 'Vat5', 'Vat7', 'Vat10', 'Vat20', 'Vat22',
  'CalculatedVat5105', 'CalculatedVat7107', 'CalculatedVat10110', 'CalculatedVat20120', 'CalculatedVat22122',
]);
/** Names and the numeric-string forms newer document versions also accept. */
const TAXATION = new Set(['Common', 'SimpleIn', 'SimpleInOut', 'Unified', 'UnifiedAgricultural', 'Patent', '0', '1', '2', '3', '4', '5']);
const MEASURES = new Set([
  'PIECE', 'GRAM', 'KILOGRAM', 'TON', 'CENTIMETER', 'DECIMETER', 'METER', 'SQUARE_CENTIMETER', 'SQUARE_DECIMETER',
  'SQUARE_METER', 'MILLILITER', 'LITER', 'CUBIC_METER', 'KILOWATT_HOUR', 'GIGACALORIE', 'DAY', 'HOUR', 'MINUTE',
  'SECOND', 'KILOBYTE', 'MEGABYTE', 'GIGABYTE', 'TERABYTE', 'OTHER',
]);
const CALLBACK_URL = /^https?:\/\/[0-9a-zA-Z]([-.\w]*[0-9a-zA-Z])*(:\d+)?(\/[^\s]*)?$/;
const PHONE = /^\+?\d{10,15}$/;

/** The first problem with a `/kkt/cloud/receipt` body, or null when Ferma would accept it. */
export function validateReceiptBody(body: unknown, opts: { inns?: ReadonlySet<string> } = {}): ValidationFailure | null {
  return firstFailure(() => {
    check(body, opts.inns);
    return null;
  });
}

/** The key of a `/kkt/cloud/status` body, or the problem with it. */
export function validateStatusBody(body: unknown): { receiptId: string } | { invoiceId: string } | ValidationFailure {
  return firstFailure((): { receiptId: string } | { invoiceId: string } | ValidationFailure => {
    const request = object(object(body, '').Request, 'Request');
    const receiptId = optionalString(request.ReceiptId, 'Request.ReceiptId', 64);
    const invoiceId = optionalString(request.InvoiceId, 'Request.InvoiceId', 64);
    if (receiptId) return { receiptId };
    if (invoiceId) return { invoiceId };
    return { field: 'Request.ReceiptId', reason: 'ReceiptId or InvoiceId is required' };
  });
}

function check(body: unknown, inns: ReadonlySet<string> | undefined): void {
  const request = object(object(body, '').Request, 'Request');
  if (typeof request.Inn !== 'string' || !INN.test(request.Inn)) throw new Invalid('Request.Inn', '10 or 12 digits');
  if (inns && !inns.has(request.Inn)) throw new Invalid('Request.Inn', 'no cash register of this INN in the account');
  if (typeof request.Type !== 'string') throw new Invalid('Request.Type', 'required string');
  if (!RECEIPT_TYPES.has(request.Type)) {
    throw new Invalid('Request.Type', OTHER_RECEIPT_TYPES.has(request.Type) ? `${request.Type} is not simulated` : 'unknown receipt type');
  }
  const invoiceId = optionalString(request.InvoiceId, 'Request.InvoiceId', 64);
  if (!invoiceId) throw new Invalid('Request.InvoiceId', 'required');
  if (request.CallbackUrl !== undefined && request.CallbackUrl !== null) {
    const url = request.CallbackUrl;
    if (typeof url !== 'string' || url.length > 256 || !CALLBACK_URL.test(url)) {
      throw new Invalid('Request.CallbackUrl', 'not a valid http(s) URL of ≤256 characters');
    }
  }

  const receipt = object(request.CustomerReceipt, 'Request.CustomerReceipt');
  const at = 'Request.CustomerReceipt';
  if (typeof receipt.TaxationSystem !== 'string' || !TAXATION.has(receipt.TaxationSystem)) {
    throw new Invalid(`${at}.TaxationSystem`, 'one of Common, SimpleIn, SimpleInOut, Unified, UnifiedAgricultural, Patent');
  }
  const email = optionalString(receipt.Email, `${at}.Email`, 64);
  const phone = optionalString(receipt.Phone, `${at}.Phone`, 19);
  if (!email && !phone) throw new Invalid(`${at}.Email`, 'Email or Phone is required');
  if (email && !EMAIL.test(email)) throw new Invalid(`${at}.Email`, 'not an email address');
  if (phone && !PHONE.test(phone)) throw new Invalid(`${at}.Phone`, '10 to 15 digits with an optional leading +');
  optionalString(receipt.BillAddress, `${at}.BillAddress`, 256);
  if (request.Type === 'IncomeCorrection') checkCorrectionInfo(receipt.CorrectionInfo, `${at}.CorrectionInfo`);
  else if (receipt.CorrectionInfo !== undefined && receipt.CorrectionInfo !== null) throw new Invalid(`${at}.CorrectionInfo`, 'only for correction receipts');

  const items = array(receipt.Items, `${at}.Items`, 1, 100);
  let itemsTotal = 0;
  items.forEach((raw, i) => {
    const path = `${at}.Items[${i}]`;
    const item = object(raw, path);
    const label = optionalString(item.Label, `${path}.Label`, 128);
    if (!label) throw new Invalid(`${path}.Label`, 'required');
    const price = money(item.Price, `${path}.Price`);
    const qty = quantity(item.Quantity, `${path}.Quantity`);
    const amount = money(item.Amount, `${path}.Amount`);
    if (!sumMatches(price, qty, amount)) throw new Invalid(`${path}.Amount`, 'Amount ≠ Price × Quantity');
    if (typeof item.Vat !== 'string' || !VATS.has(item.Vat)) throw new Invalid(`${path}.Vat`, 'not a Vat value');
    if (typeof item.Measure !== 'string' || !MEASURES.has(item.Measure)) throw new Invalid(`${path}.Measure`, 'required for FFD 1.2: PIECE, KILOGRAM, ...');
    if (!isIntIn(item.PaymentMethod, 1, 7)) throw new Invalid(`${path}.PaymentMethod`, 'integer 1..7');
    if (item.PaymentType !== undefined && !isIntIn(item.PaymentType, 1, 33)) throw new Invalid(`${path}.PaymentType`, 'integer 1..33');
    itemsTotal += amount;
  });

  if (receipt.PaymentItems !== undefined && receipt.PaymentItems !== null) {
    let paid = 0;
    array(receipt.PaymentItems, `${at}.PaymentItems`, 1, 10).forEach((raw, i) => {
      const payment = object(raw, `${at}.PaymentItems[${i}]`);
      if (!isIntIn(payment.PaymentType, 0, 4)) throw new Invalid(`${at}.PaymentItems[${i}].PaymentType`, 'integer 0..4');
      paid += money(payment.Sum, `${at}.PaymentItems[${i}].Sum`);
    });
    if (paid !== itemsTotal) throw new Invalid(`${at}.PaymentItems`, 'sum of payments ≠ sum of items');
  }
}

/** The basis of a correction receipt: Type SELF | INSTRUCTION, ReceiptDate dd.MM.yyyy (a real day), ReceiptId (required by INSTRUCTION). */
function checkCorrectionInfo(value: unknown, at: string): void {
  const info = object(value, at);
  if (info.Type !== 'SELF' && info.Type !== 'INSTRUCTION') throw new Invalid(`${at}.Type`, 'SELF or INSTRUCTION');
  if (typeof info.ReceiptDate !== 'string' || !isRealDate(info.ReceiptDate)) throw new Invalid(`${at}.ReceiptDate`, 'required date dd.MM.yyyy');
  const number = optionalString(info.ReceiptId, `${at}.ReceiptId`, 32);
  if (info.Type === 'INSTRUCTION' && !number) throw new Invalid(`${at}.ReceiptId`, 'required for a correction by instruction');
  optionalString(info.Description, `${at}.Description`, 256);
}

function isRealDate(text: string): boolean {
  const m = /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(text);
  if (!m) return false;
  const [, dd, mm, yyyy] = m.map(Number);
  return mm >= 1 && mm <= 12 && dd >= 1 && dd <= new Date(Date.UTC(yyyy, mm, 0)).getUTCDate();
}

function isIntIn(value: unknown, min: number, max: number): boolean {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}
