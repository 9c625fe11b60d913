import { kopecksToRubles } from './money';
import type { OrderSnapshot } from './order';

/**
 * What our terminal app receives in a push: enough to ring the sale and put our order id into the
 * receipt's extras. Amounts as ruble strings, the way the terminal app shows them.
 */
export interface TerminalOrderPayload {
  kind: 'bitrix-order';
  orderId: string;
  accountNumber: string;
  currency: string;
  total: string;
  items: { basketId: string; productId: string; name: string; price: string; quantity: number; vatRate: number | null }[];
}

export function terminalOrderPayload(order: OrderSnapshot): TerminalOrderPayload {
  return {
    kind: 'bitrix-order',
    orderId: order.id,
    accountNumber: order.accountNumber,
    currency: order.currency,
    total: kopecksToRubles(order.total),
    items: order.items.map((i) => ({
      basketId: i.basketId,
      productId: i.productId,
      name: i.name,
      price: kopecksToRubles(i.price),
      quantity: i.quantity,
      vatRate: i.vatRate,
    })),
  };
}

/** One line for the Bitrix payment (psStatusMessage) so the manager sees the fiscal receipt. */
export function fiscalSummary(f: {
  fnNumber: string;
  fiscalDocumentNumber: string;
  fiscalSign: string;
  receiptDateTime: string;
  ofdUrl?: string;
  correction?: { actDate: string; actNumber: string };
}): string {
  const parts = [`ФН ${f.fnNumber}`, `ФД ${f.fiscalDocumentNumber}`, `ФП ${f.fiscalSign}`, f.receiptDateTime];
  if (f.ofdUrl) parts.push(f.ofdUrl);
  if (f.correction) parts.unshift(`correction receipt (self-initiated, act ${f.correction.actNumber} of ${f.correction.actDate})`);
  return parts.join(' · ');
}
