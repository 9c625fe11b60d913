import {
  EMAIL, INN, Invalid, array, firstFailure, money, object, optionalString, quantity, sumMatches, type ValidationFailure,
} from '../shared/validation';

/**
 * ATOL Online v5 (FFD 1.2) receipt validation as the real service answers it: the first offending field,
 * by its JSON path, for error code 32. Written from the protocol description, independent of our client.
 */

export { toKopecks } from '../shared/validation';
export type { ValidationFailure } from '../shared/validation';

export const VAT_TYPES = new Set(['none', 'vat0', 'vat5', 'vat7', 'vat10', 'vat22', 'vat105', 'vat107', 'vat110', 'vat122', 'vat20', 'vat120']);
const SNO = new Set(['osn', 'usn_income', 'usn_income_outcome', 'esn', 'patent']);
const PAYMENT_METHODS = new Set(['full_payment', 'full_prepayment', 'prepayment', 'advance', 'partial_payment', 'credit', 'credit_payment']);
const MEASURES = new Set([0, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 70, 71, 72, 73, 80, 81, 82, 83, 255]);
const PAYMENT_OBJECTS = new Set([...range(1, 27), 30, 31, 32, 33]);
const TIMESTAMP = /^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})$/;
const CALLBACK_URL = /^https?:\/\/[0-9a-zA-Zа-яА-Я]([-.\w]*[0-9a-zA-Zа-яА-Я])*(:\d+)?(\/[^\s]*)?$/;
const PHONE = /^\+?\d{1,19}$/;

/** The first problem with a sell/sell_refund body, or null when ATOL would accept it. */
export function validateReceiptBody(body: unknown): ValidationFailure | null {
  return firstFailure(() => {
    check(body);
    return null;
  });
}

/** Parses `dd.MM.yyyy HH:mm:ss` into its calendar parts, or null when it is not a real moment. */
export function parseTimestamp(text: string): { year: number; month: number; day: number } | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const [, dd, mm, yyyy, hh, mi, ss] = m.map(Number);
  if (mm < 1 || mm > 12 || dd < 1 || hh > 23 || mi > 59 || ss > 59) return null;
  if (dd > new Date(Date.UTC(yyyy, mm, 0)).getUTCDate()) return null;
  return { year: yyyy, month: mm, day: dd };
}

function check(body: unknown): void {
  const root = object(body, '');
  const externalId = root.external_id;
  if (typeof externalId !== 'string' || externalId.length === 0) throw new Invalid('external_id', 'required string');
  if (externalId.length > 128) throw new Invalid('external_id', 'longer than 128 characters');
  if (typeof root.timestamp !== 'string') throw new Invalid('timestamp', 'required string dd.MM.yyyy HH:mm:ss');
  if (!parseTimestamp(root.timestamp)) throw new Invalid('timestamp', 'not dd.MM.yyyy HH:mm:ss');

  if (root.service !== undefined) {
    const service = object(root.service, 'service');
    if (service.callback_url !== undefined) {
      const url = service.callback_url;
      if (typeof url !== 'string' || url.length > 256 || (url !== '' && !CALLBACK_URL.test(url))) {
        throw new Invalid('service.callback_url', 'not a valid http(s) URL of ≤256 characters');
      }
    }
  }

  const receipt = object(root.receipt, 'receipt');
  const client = object(receipt.client, 'receipt.client');
  const email = optionalString(client.email, 'receipt.client.email', 64);
  const phone = optionalString(client.phone, 'receipt.client.phone', 64);
  if (!email && !phone) throw new Invalid('receipt.client', 'email or phone is required');
  if (email && !EMAIL.test(email)) throw new Invalid('receipt.client.email', 'not an email address');
  if (phone && !PHONE.test(phone)) throw new Invalid('receipt.client.phone', 'digits with an optional leading +');

  const company = object(receipt.company, 'receipt.company');
  const companyEmail = optionalString(company.email, 'receipt.company.email', 64);
  if (!companyEmail) throw new Invalid('receipt.company.email', 'required');
  if (company.sno !== undefined && (typeof company.sno !== 'string' || !SNO.has(company.sno))) {
    throw new Invalid('receipt.company.sno', `one of ${[...SNO].join(', ')}`);
  }
  if (typeof company.inn !== 'string' || !INN.test(company.inn)) throw new Invalid('receipt.company.inn', '10 or 12 digits');
  const address = optionalString(company.payment_address, 'receipt.company.payment_address', 256);
  if (!address) throw new Invalid('receipt.company.payment_address', 'required');

  const items = array(receipt.items, 'receipt.items', 1, 100);
  let itemsTotal = 0;
  items.forEach((raw, i) => {
    const at = `receipt.items[${i}]`;
    const item = object(raw, at);
    const name = optionalString(item.name, `${at}.name`, 128);
    if (!name) throw new Invalid(`${at}.name`, 'required');
    const price = money(item.price, `${at}.price`);
    const qty = quantity(item.quantity, `${at}.quantity`);
    const sum = money(item.sum, `${at}.sum`);
    if (!sumMatches(price, qty, sum)) throw new Invalid(`${at}.sum`, 'sum ≠ price × quantity');
    if (!Number.isInteger(item.measure) || !MEASURES.has(item.measure as number)) throw new Invalid(`${at}.measure`, 'not a v5 measure code');
    if (typeof item.payment_method !== 'string' || !PAYMENT_METHODS.has(item.payment_method)) {
      throw new Invalid(`${at}.payment_method`, 'not a payment method');
    }
    if (!Number.isInteger(item.payment_object) || !PAYMENT_OBJECTS.has(item.payment_object as number)) {
      throw new Invalid(`${at}.payment_object`, 'not a v5 payment object code');
    }
    const vat = object(item.vat, `${at}.vat`);
    if (typeof vat.type !== 'string' || !VAT_TYPES.has(vat.type)) throw new Invalid(`${at}.vat.type`, 'not a VAT type');
    if (vat.sum !== undefined) money(vat.sum, `${at}.vat.sum`);
    itemsTotal += sum;
  });

  const payments = array(receipt.payments, 'receipt.payments', 1, 10);
  let paid = 0;
  payments.forEach((raw, i) => {
    const payment = object(raw, `receipt.payments[${i}]`);
    if (!Number.isInteger(payment.type) || (payment.type as number) < 0 || (payment.type as number) > 9) {
      throw new Invalid(`receipt.payments[${i}].type`, 'integer 0..9');
    }
    paid += money(payment.sum, `receipt.payments[${i}].sum`);
  });

  if (receipt.vats !== undefined) {
    array(receipt.vats, 'receipt.vats', 1, 12).forEach((raw, i) => {
      const vat = object(raw, `receipt.vats[${i}]`);
      if (typeof vat.type !== 'string' || !VAT_TYPES.has(vat.type)) throw new Invalid(`receipt.vats[${i}].type`, 'not a VAT type');
      money(vat.sum, `receipt.vats[${i}].sum`);
    });
  }

  const total = money(receipt.total, 'receipt.total');
  if (total !== itemsTotal) throw new Invalid('receipt.total', 'total ≠ sum of items');
  if (total !== paid) throw new Invalid('receipt.payments', 'sum of payments ≠ total');
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
