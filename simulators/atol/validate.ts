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
  const root = checkEnvelope(body);
  checkDocument(object(root.receipt, 'receipt'), 'receipt', true);
}

/**
 * The first problem with a sell_correction body (FFD 1.2), or null: the receipt's blocks under `correction`,
 * plus `correction_info` — type self | instruction, base_date dd.MM.yyyy (a real date, not after the
 * document's timestamp), base_number (required for instruction, ≤32 characters). The buyer's contact is
 * optional on a correction receipt.
 */
export function validateCorrectionBody(body: unknown): ValidationFailure | null {
  return firstFailure(() => {
    const root = checkEnvelope(body);
    if (root.receipt !== undefined) throw new Invalid('receipt', 'a correction carries its data in `correction`, not `receipt`');
    const correction = object(root.correction, 'correction');
    const info = object(correction.correction_info, 'correction.correction_info');
    if (info.type !== 'self' && info.type !== 'instruction') throw new Invalid('correction.correction_info.type', 'self or instruction');
    if (typeof info.base_date !== 'string') throw new Invalid('correction.correction_info.base_date', 'required string dd.MM.yyyy');
    const baseDate = parseDate(info.base_date);
    if (!baseDate) throw new Invalid('correction.correction_info.base_date', 'not dd.MM.yyyy');
    const documentDate = parseTimestamp(root.timestamp as string)!;
    if (dayNumber(baseDate) > dayNumber(documentDate)) throw new Invalid('correction.correction_info.base_date', 'after the document\'s timestamp');
    const number = optionalString(info.base_number, 'correction.correction_info.base_number', 32);
    if (info.type === 'instruction' && !number) throw new Invalid('correction.correction_info.base_number', 'required for a correction by instruction');
    checkDocument(correction, 'correction', false);
    return null;
  });
}

/** Parses `dd.MM.yyyy` into its calendar parts, or null when it is not a real day. */
export function parseDate(text: string): { year: number; month: number; day: number } | null {
  return /^\d{2}\.\d{2}\.\d{4}$/.test(text) ? parseTimestamp(`${text} 00:00:00`) : null;
}

const dayNumber = (d: { year: number; month: number; day: number }) => Date.UTC(d.year, d.month - 1, d.day);

/** external_id, timestamp and service, the same on every registration. */
function checkEnvelope(body: unknown): Record<string, unknown> {
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
  return root;
}

/** The receipt's own blocks (client, company, items, payments, vats, total) under `at`. */
function checkDocument(receipt: Record<string, unknown>, at: string, clientRequired: boolean): void {
  if (clientRequired || receipt.client !== undefined) {
    const client = object(receipt.client, `${at}.client`);
    const email = optionalString(client.email, `${at}.client.email`, 64);
    const phone = optionalString(client.phone, `${at}.client.phone`, 64);
    if (!email && !phone) throw new Invalid(`${at}.client`, 'email or phone is required');
    if (email && !EMAIL.test(email)) throw new Invalid(`${at}.client.email`, 'not an email address');
    if (phone && !PHONE.test(phone)) throw new Invalid(`${at}.client.phone`, 'digits with an optional leading +');
  }

  const company = object(receipt.company, `${at}.company`);
  const companyEmail = optionalString(company.email, `${at}.company.email`, 64);
  if (!companyEmail) throw new Invalid(`${at}.company.email`, 'required');
  if (company.sno !== undefined && (typeof company.sno !== 'string' || !SNO.has(company.sno))) {
    throw new Invalid(`${at}.company.sno`, `one of ${[...SNO].join(', ')}`);
  }
  if (typeof company.inn !== 'string' || !INN.test(company.inn)) throw new Invalid(`${at}.company.inn`, '10 or 12 digits');
  const address = optionalString(company.payment_address, `${at}.company.payment_address`, 256);
  if (!address) throw new Invalid(`${at}.company.payment_address`, 'required');

  const items = array(receipt.items, `${at}.items`, 1, 100);
  let itemsTotal = 0;
  items.forEach((raw, i) => {
    const path = `${at}.items[${i}]`;
    const item = object(raw, path);
    const name = optionalString(item.name, `${path}.name`, 128);
    if (!name) throw new Invalid(`${path}.name`, 'required');
    const price = money(item.price, `${path}.price`);
    const qty = quantity(item.quantity, `${path}.quantity`);
    const sum = money(item.sum, `${path}.sum`);
    if (!sumMatches(price, qty, sum)) throw new Invalid(`${path}.sum`, 'sum ≠ price × quantity');
    if (!Number.isInteger(item.measure) || !MEASURES.has(item.measure as number)) throw new Invalid(`${path}.measure`, 'not a v5 measure code');
    if (typeof item.payment_method !== 'string' || !PAYMENT_METHODS.has(item.payment_method)) {
      throw new Invalid(`${path}.payment_method`, 'not a payment method');
    }
    if (!Number.isInteger(item.payment_object) || !PAYMENT_OBJECTS.has(item.payment_object as number)) {
      throw new Invalid(`${path}.payment_object`, 'not a v5 payment object code');
    }
    const vat = object(item.vat, `${path}.vat`);
    if (typeof vat.type !== 'string' || !VAT_TYPES.has(vat.type)) throw new Invalid(`${path}.vat.type`, 'not a VAT type');
    if (vat.sum !== undefined) money(vat.sum, `${path}.vat.sum`);
    itemsTotal += sum;
  });

  const payments = array(receipt.payments, `${at}.payments`, 1, 10);
  let paid = 0;
  payments.forEach((raw, i) => {
    const payment = object(raw, `${at}.payments[${i}]`);
    if (!Number.isInteger(payment.type) || (payment.type as number) < 0 || (payment.type as number) > 9) {
      throw new Invalid(`${at}.payments[${i}].type`, 'integer 0..9');
    }
    paid += money(payment.sum, `${at}.payments[${i}].sum`);
  });

  if (receipt.vats !== undefined) {
    array(receipt.vats, `${at}.vats`, 1, 12).forEach((raw, i) => {
      const vat = object(raw, `${at}.vats[${i}]`);
      if (typeof vat.type !== 'string' || !VAT_TYPES.has(vat.type)) throw new Invalid(`${at}.vats[${i}].type`, 'not a VAT type');
      money(vat.sum, `${at}.vats[${i}].sum`);
    });
  }

  const total = money(receipt.total, `${at}.total`);
  if (total !== itemsTotal) throw new Invalid(`${at}.total`, 'total ≠ sum of items');
  if (total !== paid) throw new Invalid(`${at}.payments`, 'sum of payments ≠ total');
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
