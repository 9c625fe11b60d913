import type { TerminalPayment } from '../../domain/payment';
import type { ReceiptLine } from '../../domain/walk-in';
import { documentClosedAtMs, fiscalAttributesFromDocument, parseEvotorDate } from '../../activities/evotor/documents';
import type { EvotorDocument } from '../../activities/evotor/schemas';
import { orderIdFromExtras } from '../../activities/evotor/webhook';

/** A receipt of the Evotor cloud in the shapes our doors hand to the workflows (as the receipt webhook would). */
export interface CloudReceipt {
  type: 'SELL' | 'PAYBACK';
  payment: TerminalPayment;
  lines: ReceiptLine[];
  /** When the terminal uploaded it (ms), when the cloud says. */
  uploadedAtMs?: number;
  /** The terminal's own fiscal drive printed it (pos_print_results). */
  fiscalPrinted: boolean;
  /** PAYBACK: the sale it refunds. */
  baseReceiptId?: string;
}

/** The cloud's payment types, as the receipt webhook names them. */
const PAYMENT_SOURCE: Record<string, string> = { CASH: 'PAY_CASH', ELECTRON: 'PAY_CARD' };

/**
 * Our terminal app's extras: the cloud keys them by app id, so every app's object is searched for our
 * order id (a flat object, as the webhook carries it, works too).
 */
function orderOf(extras: Record<string, unknown>): { orderId?: string; accountNumber?: string } {
  const flat = orderIdFromExtras(extras);
  if (flat.orderId) return flat;
  for (const v of Object.values(extras)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const nested = orderIdFromExtras(v as Record<string, unknown>);
      if (nested.orderId) return nested;
    }
  }
  return {};
}

/** undefined for documents that carry no money (sessions, inventory...). */
export function cloudReceipt(doc: EvotorDocument): CloudReceipt | undefined {
  const type = doc.type.toUpperCase();
  if (type !== 'SELL' && type !== 'PAYBACK') return undefined;
  const { orderId, accountNumber } = orderOf(doc.extras);
  const payment: TerminalPayment = {
    receiptId: doc.id,
    terminalKind: 'evotor',
    terminalStoreId: doc.store_id,
    deviceId: doc.device_id,
    amount: doc.body.result_sum ?? doc.body.sum ?? doc.body.payments.reduce((s, p) => s + p.sum, 0),
    currency: 'RUB',
    paidAt: new Date(documentClosedAtMs(doc)).toISOString(),
    paymentSource: PAYMENT_SOURCE[doc.body.payments[0]?.type ?? ''] ?? 'OTHER',
    ...(orderId ? { orderId } : {}),
    ...(accountNumber ? { accountNumber } : {}),
  };
  let uploadedAtMs: number | undefined;
  try {
    uploadedAtMs = doc.created_at ? parseEvotorDate(doc.created_at) : undefined;
  } catch {
    uploadedAtMs = undefined;
  }
  return {
    type,
    payment,
    lines: doc.body.positions.map((p) => ({ terminalProductId: p.product_id, name: p.product_name ?? '', quantity: p.quantity })),
    uploadedAtMs,
    fiscalPrinted: fiscalAttributesFromDocument(doc) !== null,
    baseReceiptId: doc.body.base_document_id,
  };
}
