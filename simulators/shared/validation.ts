/**
 * The building blocks of the simulators' receipt validation: the first offending field, by its JSON path,
 * as the real services answer it. The field names, limits and messages of each API stay in its validate.ts.
 */

export interface ValidationFailure {
  field: string;
  reason: string;
}

export const MONEY = /^\d{1,11}(\.\d{1,2})?$/;
export const QUANTITY = /^\d{1,8}(\.\d{1,6})?$/;
export const INN = /^(\d{10}|\d{12})$/;
export const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** Thrown by the checks at the first problem; `firstFailure` turns it into the answer. */
export class Invalid extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
  }
}

/** What `check` returns, or the first problem it threw. */
export function firstFailure<T>(check: () => T): T | ValidationFailure {
  try {
    return check();
  } catch (e) {
    if (e instanceof Invalid) return { field: e.field, reason: e.reason };
    throw e;
  }
}

/** Rubles with ≤2 decimals → kopecks (only for values that passed the money check). */
export function toKopecks(rubles: number): number {
  return Math.round(rubles * 100);
}

/** Money as kopecks after checking it is a JSON number with ≤2 decimals. */
export function money(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !MONEY.test(String(value))) {
    throw new Invalid(field, 'amount ≥ 0 with at most 2 decimals');
  }
  return toKopecks(value);
}

/** A quantity: a JSON number > 0 with ≤6 decimals. */
export function quantity(value: unknown, field: string): number {
  if (typeof value !== 'number' || !QUANTITY.test(String(value)) || value <= 0) {
    throw new Invalid(field, 'number > 0 with ≤6 decimals');
  }
  return value;
}

/** A line's sum (kopecks) must be price (kopecks) × quantity rounded to the kopeck (either way). */
export function sumMatches(price: number, qty: number, sum: number): boolean {
  const [whole, frac = ''] = String(qty).split('.');
  const micro = BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, '0'));
  const diff = BigInt(sum) * 1_000_000n - BigInt(price) * micro;
  return diff > -1_000_000n && diff < 1_000_000n;
}

export function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Invalid(field || 'body', 'required object');
  return value as Record<string, unknown>;
}

export function array(value: unknown, field: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) throw new Invalid(field, 'required array');
  if (value.length < min || value.length > max) throw new Invalid(field, `${min}..${max} elements`);
  return value;
}

/** undefined for an absent, null or empty value; else a string of at most `max` characters. */
export function optionalString(value: unknown, field: string, max: number): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Invalid(field, 'must be a string');
  if (value.length > max) throw new Invalid(field, `longer than ${max} characters`);
  return value;
}
