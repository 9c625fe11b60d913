import type { FiscalAttributes } from './fiscal';
import { kopecksToRubles, type Kopecks } from './money';
import type { Problem, TerminalPayment } from './payment';
import type { ReceiptLine } from './walk-in';

/** A refund receipt (PAYBACK) from a terminal, as the doors hand it to its refund workflow. */
export interface RefundInput {
  /** The refund receipt itself: its id, terminal, amount and time (paidAt = when the money went back). */
  refund: TerminalPayment;
  /** What goes back to the shelf. */
  lines: ReceiptLine[];
  /** The sale it refunds, when the sender names it (middleware); Evotor names it in the cloud document. */
  baseReceiptId?: string;
  /** Our store id, when the sender knows it (middleware). */
  storeId?: string;
}

export type RefundStage = 'LOCATING_SALE' | 'RETURNING_STOCK' | 'CONFIRMING' | 'FISCALIZING' | 'COMPLETED' | 'NEEDS_ATTENTION';

/** A product line of a sale or refund, by Bitrix product id. */
export interface ProductQuantity {
  productId: string;
  quantity: number;
}

/** What one sale sold and was paid: the limits of everything refunded against it. */
export interface SaleFacts {
  /** `order:{orderId}` or `walk-in:{terminalStoreId}:{receiptId}`: one ledger per sale. */
  saleKey: string;
  kind: 'order' | 'walk-in';
  orderId?: string;
  storeId: string;
  sold: ProductQuantity[];
  paid: Kopecks;
  currency: string;
}

/**
 * What a later refund needs to know about an order's sale, recorded into the order's ledger
 * (`refund-ledger:order:{orderId}`, which stays open) when the payment workflow completes: the closed payment
 * workflow itself is gone once the namespace's retention has passed, the ledger is not.
 */
export interface OrderSaleRecord {
  orderId: string;
  accountNumber?: string;
  storeId?: string;
  /** The payment workflow's final stage. */
  stage: string;
  paidAmount: Kopecks;
  currency?: string;
  /** The terminal receipts that paid it (their ids are the Bitrix payment's psInvoiceId). */
  payments: Pick<TerminalPayment, 'receiptId' | 'paidAt'>[];
  /** The sale's fiscal receipt (`source: 'atol' | 'ferma'`: the refund receipt mirrors it). */
  fiscal?: FiscalAttributes;
  recordedAt: string;
}

/** A refund's request to its sale's ledger. */
export interface RefundClaim {
  /** The refund receipt id: a claim made twice is answered the same. */
  refundId: string;
  /** Empty = the whole sale (a refund receipt without lines). */
  lines: ProductQuantity[];
  amount: Kopecks;
  /** The refund workflow, for the ledger's answer. */
  replyTo: string;
}

export interface LedgerEntry {
  refundId: string;
  lines: ProductQuantity[];
  amount: Kopecks;
  completed: boolean;
}

export type LedgerDecision =
  | {
      refundId: string;
      outcome: 'reserved';
      /** This one refund takes back everything the sale sold, and nothing was refunded before it. */
      wholeSale: boolean;
      /** With this refund, everything sold is refunded. */
      fullyRefunded: boolean;
      /** The lines of this refund (the whole sale when the receipt had none). */
      lines: ProductQuantity[];
      /** Every refund of the sale up to and including this one, in order. */
      refunds: { refundId: string; amount: Kopecks }[];
      refundedAmount: Kopecks;
      paid: Kopecks;
    }
  | { refundId: string; outcome: 'refused'; reason: string };

/** What the ledger tells its subscribers (a cancellation waiting for the refund). */
export interface LedgerView {
  saleKey: string;
  paid: Kopecks;
  refundedAmount: Kopecks;
  completedAmount: Kopecks;
  fullyRefunded: boolean;
  refunds: LedgerEntry[];
}

const EPS = 1e-6;

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** Adds up lines by product. */
export function byProduct(lines: ProductQuantity[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) out.set(l.productId, round3((out.get(l.productId) ?? 0) + l.quantity));
  return out;
}

/**
 * Decides a claim against what the sale sold and what was already refunded: every product's refunded
 * quantity and the refunded money together never exceed what was sold and paid.
 */
export function decideClaim(sale: SaleFacts, entries: LedgerEntry[], claim: Omit<RefundClaim, 'replyTo'>): LedgerDecision {
  const refused = (reason: string): LedgerDecision => ({ refundId: claim.refundId, outcome: 'refused', reason });
  const sold = byProduct(sale.sold);
  const before = byProduct(entries.flatMap((e) => e.lines));
  const refundedBefore = entries.reduce((s, e) => s + e.amount, 0);
  let lines = claim.lines;
  if (lines.length === 0) {
    if (entries.length > 0 || claim.amount !== sale.paid)
      return refused(`the refund names no goods; only a refund of the whole sale (${sale.paid} kopecks, nothing refunded before) can do without them`);
    lines = sale.sold;
  }
  if (!Number.isSafeInteger(claim.amount) || claim.amount <= 0) return refused(`the refund amount ${claim.amount} is not a positive number of kopecks`);
  for (const [productId, quantity] of byProduct(lines)) {
    const have = sold.get(productId);
    if (have === undefined) return refused(`product ${productId} was not sold in this sale`);
    const already = before.get(productId) ?? 0;
    if (already + quantity > have + EPS)
      return refused(`product ${productId}: ${already} already refunded + ${quantity} now would exceed the ${have} sold`);
  }
  if (refundedBefore + claim.amount > sale.paid)
    return refused(`${refundedBefore} kopecks already refunded + ${claim.amount} now would exceed the ${sale.paid} paid`);
  const after = byProduct([...entries.flatMap((e) => e.lines), ...lines]);
  const fullyRefunded = [...sold].every(([productId, quantity]) => (after.get(productId) ?? 0) + EPS >= quantity);
  const mine = byProduct(lines);
  const wholeSale = entries.length === 0 && [...sold].every(([productId, quantity]) => (mine.get(productId) ?? 0) + EPS >= quantity);
  return {
    refundId: claim.refundId,
    outcome: 'reserved',
    wholeSale,
    fullyRefunded,
    lines,
    refunds: [...entries.map((e) => ({ refundId: e.refundId, amount: e.amount })), { refundId: claim.refundId, amount: claim.amount }],
    refundedAmount: refundedBefore + claim.amount,
    paid: sale.paid,
  };
}

export interface RefundStatus {
  refundId: string;
  terminalStoreId: string;
  stage: RefundStage;
  stageSince: string;
  amount: Kopecks;
  currency: string;
  refundedAt: string;
  storeId?: string;
  fiscalMode?: string;
  saleReceiptId?: string;
  sale?: { kind: 'order' | 'walk-in'; orderId?: string; accountNumber?: string };
  lines: ProductQuantity[];
  /** The ledger's answer: whole sale, fully refunded, all refunds of the sale so far. */
  decision?: Extract<LedgerDecision, { outcome: 'reserved' }>;
  /** What was reversed, step by step, as it happened. */
  done: string[];
  fiscal?: FiscalAttributes;
  waitingFor?: string;
  deadline?: string;
  problem?: Problem;
  resolution?: string;
  timeline: { stage: RefundStage; at: string }[];
}

export type RefundResult = RefundStatus & { outcome: 'COMPLETED' | 'RESOLVED_BY_HAND' };

export type CancellationStage = 'AWAITING_REFUND' | 'NEEDS_ATTENTION' | 'COMPLETED';

export interface OrderCancellationInput {
  orderId: string;
  reason: string;
  requestedBy: 'bitrix' | 'support' | 'payment-workflow';
  /** What the terminal took, when the caller knows it (the running payment workflow); else read from Bitrix. */
  paidAmount?: Kopecks;
  currency?: string;
  accountNumber?: string;
  storeId?: string;
  deviceIds?: string[];
}

export interface OrderCancellationStatus {
  orderId: string;
  reason: string;
  stage: CancellationStage;
  stageSince: string;
  paidAmount?: Kopecks;
  refundedAmount: Kopecks;
  refunds: LedgerEntry[];
  waitingFor?: string;
  deadline?: string;
  problem?: Problem;
  resolution?: string;
}

export type OrderCancellationResult = OrderCancellationStatus & { outcome: 'REFUNDED' | 'RESOLVED_BY_HAND' };

/** Title of the store document that returns a refund's goods: how a retried step finds what it did. */
export function refundDocumentTitle(refundReceiptId: string): string {
  return `POS refund ${refundReceiptId}`;
}

/**
 * The id a cloud register deduplicates a refund's receipt by (ATOL `external_id`, at most 128 characters;
 * Ferma `InvoiceId`, at most 64): from the refund receipt, so a resend gets the first receipt back.
 */
export function atolRefundExternalId(refundReceiptId: string, attempt: number, maxLength = 128): string {
  const suffix = attempt <= 1 ? '' : `-${attempt}`;
  const room = maxLength - 'pos-refund-'.length - suffix.length;
  // A long middleware receipt id keeps its start and a hash of the whole.
  const id = refundReceiptId.length <= Math.min(100, room) ? refundReceiptId : `${refundReceiptId.slice(0, Math.min(80, room - 9))}~${fnv1a(refundReceiptId)}`;
  return `pos-refund-${id}${suffix}`;
}

/** Ferma's InvoiceId of a refund's IncomeReturn (at most 64 characters). */
export function fermaRefundInvoiceId(refundReceiptId: string, attempt: number): string {
  return atolRefundExternalId(refundReceiptId, attempt, 64);
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

const COMMENT_PREFIX = 'POS refunds:';

/**
 * The Bitrix payment's payReturnComment: every refund of the payment by receipt id, and the total. A step
 * that writes it merges what is there with what it knows, so refunds written in any order add up.
 */
export function formatRefundComment(refunds: Map<string, Kopecks>, paid: Kopecks, currency: string): string {
  const total = [...refunds.values()].reduce((s, a) => s + a, 0);
  const list = [...refunds].map(([id, amount]) => `${id} ${kopecksToRubles(amount)}`).join('; ');
  return `${COMMENT_PREFIX} ${list} | total ${kopecksToRubles(total)} of ${kopecksToRubles(paid)} ${currency}`;
}

export function parseRefundComment(comment: string | undefined): Map<string, Kopecks> {
  const out = new Map<string, Kopecks>();
  if (!comment?.startsWith(COMMENT_PREFIX)) return out;
  const list = comment.slice(COMMENT_PREFIX.length).split('|')[0] ?? '';
  for (const part of list.split(';')) {
    const m = /^\s*(\S+) (\d+)\.(\d{2})\s*$/.exec(part);
    if (m) out.set(m[1]!, Number(m[2]) * 100 + Number(m[3]));
  }
  return out;
}
