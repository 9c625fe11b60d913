/**
 * OFD.ru Ferma receipt validation as the service answers it: the first offending field, by its JSON path
 * under `Request`. Written from Ferma's API description, independent of our client and its schemas.
 */

export interface ValidationFailure {
  field: string;
  reason: string;
}

export const RECEIPT_TYPES = new Set(['Income', 'IncomeReturn']);
/** Types Ferma has that this simulator does not process. */
export const OTHER_RECEIPT_TYPES = new Set([
  'IncomePrepayment', 'IncomeReturnPrepayment', 'IncomeCorrection', 'IncomeReturnCorrection',
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
const MONEY = /^\d{1,11}(\.\d{1,2})?$/;
const QUANTITY = /^\d{1,8}(\.\d{1,6})?$/;
const INN = /^(\d{10}|\d{12})$/;
const PHONE = /^\+?\d{10,15}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

class Invalid extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
  }
}

/** The first problem with a `/kkt/cloud/receipt` body, or null when Ferma would accept it. */
export function validateReceiptBody(body: unknown, opts: { inns?: ReadonlySet<string> } = {}): ValidationFailure | null {
  try {
    check(body, opts.inns);
    return null;
  } catch (e) {
    if (e instanceof Invalid) return { field: e.field, reason: e.reason };
    throw e;
  }
}

/** The key of a `/kkt/cloud/status` body, or the problem with it. */
export function validateStatusBody(body: unknown): { receiptId: string } | { invoiceId: string } | ValidationFailure {
  try {
    const request = object(object(body, '').Request, 'Request');
    const receiptId = optionalString(request.ReceiptId, 'Request.ReceiptId', 64);
    const invoiceId = optionalString(request.InvoiceId, 'Request.InvoiceId', 64);
    if (receiptId) return { receiptId };
    if (invoiceId) return { invoiceId };
    return { field: 'Request.ReceiptId', reason: 'ReceiptId or InvoiceId is required' };
  } catch (e) {
    if (e instanceof Invalid) return { field: e.field, reason: e.reason };
    throw e;
  }
}

/** Rubles with ≤2 decimals → kopecks (only for values that passed the money check). */
export function toKopecks(rubles: number): number {
  return Math.round(rubles * 100);
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

  const items = array(receipt.Items, `${at}.Items`, 1, 100);
  let itemsTotal = 0;
  items.forEach((raw, i) => {
    const path = `${at}.Items[${i}]`;
    const item = object(raw, path);
    const label = optionalString(item.Label, `${path}.Label`, 128);
    if (!label) throw new Invalid(`${path}.Label`, 'required');
    const price = money(item.Price, `${path}.Price`);
    const quantity = item.Quantity;
    if (typeof quantity !== 'number' || !QUANTITY.test(String(quantity)) || quantity <= 0) {
      throw new Invalid(`${path}.Quantity`, 'number > 0 with ≤6 decimals');
    }
    const amount = money(item.Amount, `${path}.Amount`);
    if (!amountMatches(price, quantity, amount)) throw new Invalid(`${path}.Amount`, 'Amount ≠ Price × Quantity');
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

/** Money as kopecks after checking it is a JSON number with ≤2 decimals. */
function money(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !MONEY.test(String(value))) {
    throw new Invalid(field, 'amount ≥ 0 with at most 2 decimals');
  }
  return toKopecks(value);
}

/** Amount must be Price × Quantity rounded to the kopeck (either way). */
function amountMatches(price: number, quantity: number, amount: number): boolean {
  const [whole, frac = ''] = String(quantity).split('.');
  const micro = BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, '0'));
  const diff = BigInt(amount) * 1_000_000n - BigInt(price) * micro;
  return diff > -1_000_000n && diff < 1_000_000n;
}

function isIntIn(value: unknown, min: number, max: number): boolean {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Invalid(field || 'body', 'required object');
  return value as Record<string, unknown>;
}

function array(value: unknown, field: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) throw new Invalid(field, 'required array');
  if (value.length < min || value.length > max) throw new Invalid(field, `${min}..${max} elements`);
  return value;
}

function optionalString(value: unknown, field: string, max: number): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Invalid(field, 'must be a string');
  if (value.length > max) throw new Invalid(field, `longer than ${max} characters`);
  return value;
}
