import type { TerminalPayment } from './payment';

/** A line of a terminal receipt as it must leave a Bitrix warehouse. */
export interface ReceiptLine {
  /** Bitrix product id, when the sender knows it (middleware); otherwise mapped from `terminalProductId`. */
  bitrixProductId?: string;
  /** The terminal vendor's product id (Evotor product uuid), mapped by the configured catalog key. */
  terminalProductId?: string;
  name: string;
  quantity: number;
}

/** A sale that left goods at a pickup point without a Bitrix order: its lines are deducted from stock. */
export interface WalkInReceipt {
  /** `store:receipt`, unique; the dedupe key everywhere. */
  key: string;
  receiptId: string;
  /** Our store id (POS_CONFIG). */
  storeId: string;
  /** The terminal vendor's store id, for product look-ups. */
  terminalStoreId?: string;
  lines: ReceiptLine[];
}

/** The walk-in sale of a terminal payment: keyed `terminal store:receipt`, as its receipt workflow is. */
export function walkInReceiptOf(payment: Pick<TerminalPayment, 'terminalStoreId' | 'receiptId'>, storeId: string, lines: ReceiptLine[]): WalkInReceipt {
  return { key: `${payment.terminalStoreId}:${payment.receiptId}`, receiptId: payment.receiptId, storeId, terminalStoreId: payment.terminalStoreId, lines };
}

export interface QueuedDeduction {
  receipt: WalkInReceipt;
  /**
   * A workflow waiting for the outcome (a receipt retried by support). Absent for the usual hand-over:
   * the deductions workflow then owns the receipt, and a refusal opens a walk-in problem workflow.
   */
  replyTo?: string;
}

export type DeductionOutcome =
  | { receiptKey: string; outcome: 'deducted'; documentId: string }
  | { receiptKey: string; outcome: 'rejected'; reason: string };

/** Commands in one Bitrix `batch` call, and how many of them are left for lines (document add + conduct). */
export const BITRIX_BATCH_LIMIT = 50;
export const ELEMENTS_PER_DOCUMENT = BITRIX_BATCH_LIMIT - 2;

function lineKey(line: ReceiptLine): string {
  return line.bitrixProductId ? `b:${line.bitrixProductId}` : `t:${line.terminalProductId ?? line.name}`;
}

/**
 * Takes whole receipts off the front of the queue while their distinct products fit in one store
 * document written by one batch call. Lines of the same product from many receipts become one element,
 * so a call carries as many receipt lines as possible. A receipt with more products than a document
 * holds goes alone (the activity splits it).
 */
export function takeBatch<T extends { receipt: WalkInReceipt }>(queue: T[], maxElements = ELEMENTS_PER_DOCUMENT, maxBytes = BATCH_INPUT_BYTES): T[] {
  const products = new Set<string>();
  let taken = 0;
  let bytes = 0;
  for (const item of queue) {
    const keys = item.receipt.lines.map(lineKey);
    const added = keys.filter((k) => !products.has(k));
    if (taken > 0 && products.size + new Set(added).size > maxElements) break;
    // The batch is one activity's input: it must stay well under Temporal's 2 MB payload limit.
    bytes += utf8Bytes(JSON.stringify(item.receipt));
    if (taken > 0 && bytes > maxBytes) break;
    for (const k of keys) products.add(k);
    taken++;
    if (products.size >= maxElements) break;
  }
  return queue.splice(0, taken);
}

/** What one write-off batch (an activity's input) may weigh: a receipt within the door's limits is ~0.4 MB at most. */
export const BATCH_INPUT_BYTES = 1_000_000;

/** The UTF-8 size of a string (workflow code has no Buffer). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

export function distinctProducts(receipts: WalkInReceipt[]): number {
  return new Set(receipts.flatMap((r) => r.lines.map(lineKey))).size;
}

export function walkInLineCount(receipts: WalkInReceipt[]): number {
  return receipts.reduce((n, r) => n + r.lines.length, 0);
}
