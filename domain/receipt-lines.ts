import { lineTotal, type Kopecks } from './money';
import type { OrderItem, OrderSnapshot } from './order';

/** One line of a fiscal receipt built from a Bitrix order: the basket item and how much of it. */
export interface ReceiptLineOfOrder {
  item: OrderItem;
  quantity: number;
}

/** Every basket item of the order, whole: what a sale receipt lists. */
export function orderLines(order: OrderSnapshot): ReceiptLineOfOrder[] {
  return order.items.map((item) => ({ item, quantity: item.quantity }));
}

export function linesTotal(lines: ReceiptLineOfOrder[]): Kopecks {
  return lines.reduce((sum, { item, quantity }) => sum + lineTotal(item.price, quantity), 0);
}

/** A sale receipt must come to the order total; delivery or an order-level discount outside the basket cannot. */
export function assertLinesMakeOrderTotal(order: OrderSnapshot, lines: ReceiptLineOfOrder[]): void {
  const receiptTotal = linesTotal(lines);
  if (receiptTotal !== order.total) {
    throw new RangeError(
      `order ${order.accountNumber}: items add up to ${receiptTotal} kopecks but the order total is ` +
        `${order.total} (delivery or an order-level discount is not in the basket); cannot fiscalize it as is`,
    );
  }
}

/** The lines a refund receipt lists: the requested basket items and quantities (default: the whole order). */
export function refundLines(order: OrderSnapshot, requested?: { basketId: string; quantity: number }[]): ReceiptLineOfOrder[] {
  const byId = new Map(order.items.map((item) => [item.basketId, item]));
  const wanted = requested ?? order.items.map((item) => ({ basketId: item.basketId, quantity: item.quantity }));
  const seen = new Set<string>();
  return wanted.map(({ basketId, quantity }) => {
    const item = byId.get(basketId);
    if (!item) throw new RangeError(`refund line: basket item ${basketId} is not in order ${order.accountNumber}`);
    if (seen.has(basketId)) throw new RangeError(`refund line: basket item ${basketId} is listed twice`);
    seen.add(basketId);
    if (!(quantity > 0) || quantity > item.quantity) {
      throw new RangeError(`refund line: quantity ${quantity} of basket item ${basketId} must be > 0 and ≤ ${item.quantity}`);
    }
    return { item, quantity };
  });
}

/** Checks what every register requires of a line; returns its printable name (at most `maxName` characters). */
export function checkedLineName(order: OrderSnapshot, item: OrderItem, quantity: number, maxName: number): string {
  const where = `order ${order.accountNumber}, basket item ${item.basketId}`;
  if (!Number.isSafeInteger(item.price) || item.price < 0) throw new RangeError(`${where}: price must be whole kopecks ≥ 0`);
  if (!(quantity > 0) || Math.abs(quantity * 1000 - Math.round(quantity * 1000)) > 1e-6) {
    throw new RangeError(`${where}: quantity ${quantity} must be > 0 with at most 3 decimals`);
  }
  if (!item.vatIncluded && item.vatRate) {
    throw new RangeError(`${where}: price excludes VAT (vatIncluded = N); receipts need VAT-inclusive prices`);
  }
  const name = truncate(item.name.trim(), maxName);
  if (!name) throw new RangeError(`${where}: item has no name`);
  return name;
}

/** At most `max` UTF-16 units, never splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Tag 1008: email preferred (the OFD sends the receipt there); the phone as +7XXXXXXXXXX otherwise. */
export function buyerContact(order: OrderSnapshot): { email: string } | { phone: string } {
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
