import type { FiscalAttributes } from './fiscal';
import type { Kopecks } from './money';

/** A payment taken at a terminal, as our doors hand it to the workflows (whatever the terminal kind). */
export interface TerminalPayment {
  /** The terminal's receipt id (Evotor receipt uuid); unique within the terminal store. Our dedupe key. */
  receiptId: string;
  /** How it reached us: the Evotor cloud, or the signed middleware door (1C:Retail, a Windows service). */
  terminalKind: 'evotor' | 'middleware';
  /** The terminal vendor's store id (Evotor storeId). */
  terminalStoreId: string;
  deviceId: string;
  amount: Kopecks;
  currency: string;
  /** ISO 8601 UTC. */
  paidAt: string;
  paymentSource: string;
  /** Our order id as the terminal app put it into the receipt (extras). */
  orderId?: string;
  accountNumber?: string;
  /**
   * Set by reconciliation (ISO 8601 UTC, when it found the payment) for a sale that reached us without its
   * webhook: its receipt was not issued at the time, so a cloud register issues a correction receipt (54-FZ).
   */
  foundByReconciliationAt?: string;
}

export type PaymentStage =
  | 'LOADING'
  | 'AWAITING_PAYMENT'
  | 'FISCALIZING'
  | 'CONFIRMING'
  | 'DEDUCTING_STOCK'
  /** Cancelled after the money was taken: waiting for the refund at the terminal (order-cancellation workflow). */
  | 'AWAITING_REFUND'
  | 'COMPLETED'
  | 'CANCELLED'
  | 'NEEDS_ATTENTION';

export interface PosPaymentInput {
  orderId: string;
  /** What started it, for the Web UI summary. */
  trigger: 'bitrix-event' | 'terminal-receipt' | 'api' | 'reconciliation';
}

export interface Problem {
  step: string;
  message: string;
  /** What a support person should do. */
  action: string;
  at: string;
}

export interface PosPaymentStatus {
  orderId: string;
  accountNumber?: string;
  stage: PaymentStage;
  stageSince: string;
  storeId?: string;
  terminal?: string;
  fiscalMode?: string;
  total?: Kopecks;
  currency?: string;
  paidAmount: Kopecks;
  payments: TerminalPayment[];
  fiscal?: FiscalAttributes;
  alreadyPaidInBitrix: boolean;
  waitingFor?: string;
  deadline?: string;
  problem?: Problem;
  /** How it ended when a person or Bitrix ended it early (cancel reason, resolve note). */
  resolution?: string;
  /** Payments taken at another store than the order's: not counted, each held for a person in its receipt workflow. */
  foreignPayments?: TerminalPayment[];
  /** Stages passed, with the time each was entered. */
  timeline: { stage: PaymentStage; at: string }[];
}

export type PosPaymentResult = PosPaymentStatus & { outcome: 'COMPLETED' | 'CANCELLED' | 'RESOLVED_BY_HAND' };

/** Whether a payment was taken at this store's terminals (an order is paid only through its own store). */
export function paymentBelongsToStore(payment: Pick<TerminalPayment, 'terminalKind' | 'terminalStoreId'>, store: { id: string; evotorStoreId?: string }): boolean {
  return payment.terminalKind === 'evotor' ? store.evotorStoreId === payment.terminalStoreId : store.id === payment.terminalStoreId;
}

