/** Money inside the system: an integer number of kopecks. Convert only at the edges. */
export type Kopecks = number;

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * Parses a ruble amount as Bitrix or Evotor send it (number or numeric string, e.g. 1234.5, "1234.50")
 * into kopecks without going through float arithmetic. Throws on anything that is not a decimal number
 * or carries fractions of a kopeck.
 */
export function rublesToKopecks(value: string | number, field = 'amount'): Kopecks {
  const text = typeof value === 'number' ? numberToPlainString(value) : value.trim();
  const m = DECIMAL.exec(text);
  if (!m) throw new RangeError(`${field}: not a decimal amount: ${JSON.stringify(value)}`);
  const [, sign, whole, frac = ''] = m;
  const fracTrimmed = frac.replace(/0+$/, '');
  if (fracTrimmed.length > 2) throw new RangeError(`${field}: more than two decimal places: ${JSON.stringify(value)}`);
  const kopecks = Number(whole) * 100 + Number(fracTrimmed.padEnd(2, '0'));
  if (!Number.isSafeInteger(kopecks)) throw new RangeError(`${field}: amount out of range`);
  return sign ? -kopecks : kopecks;
}

/** Renders kopecks as a ruble amount with two decimals ("1234.50"), as ATOL and Bitrix accept it. */
export function kopecksToRubles(k: Kopecks): string {
  if (!Number.isSafeInteger(k)) throw new RangeError(`not an integer number of kopecks: ${k}`);
  const sign = k < 0 ? '-' : '';
  const abs = Math.abs(k);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** The ruble amount as a JSON number with at most two decimals (ATOL's wire type). */
export function kopecksToRubleNumber(k: Kopecks): number {
  return Number(kopecksToRubles(k));
}

/** price × quantity in kopecks; quantity may be fractional (kg), rounded half-up to the kopeck. */
export function lineTotal(price: Kopecks, quantity: number): Kopecks {
  // Quantities have at most 3 decimals (grams); scale to avoid float drift.
  const milli = Math.round(quantity * 1000);
  return Math.round((price * milli) / 1000);
}

function numberToPlainString(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  // Round to 6 decimals to drop binary noise such as 0.1 + 0.2, then strip trailing zeros.
  const fixed = n.toFixed(6);
  return fixed.replace(/\.?0+$/, '') || '0';
}
