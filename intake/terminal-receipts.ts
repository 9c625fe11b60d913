import type { Client } from '@temporalio/client';
import { findAwaitingOrders } from './order-lookup';
import type { TerminalPayment } from '../domain/payment';
import { walkInReceiptOf, type ReceiptLine } from '../domain/walk-in';
import { durationMs, type PosConfig } from '../lib/config';
import { receiptIntake, storeOfPayment, type IntakeOutcome } from './receipts';
import { mapLimit, walkInIntake, type WalkInSale } from './walk-ins';

/** A receipt a terminal reported, whichever door it came through. */
export interface TerminalReceipt {
  payment: TerminalPayment;
  /** SELL, PAYBACK, or another document type that carries money. */
  type: string;
  lines: ReceiptLine[];
  /** Our store (POS_CONFIG id), when the sender names it (middleware); otherwise found from the terminal store. */
  storeId?: string;
  /** PAYBACK: the receipt id of the sale it refunds, when the sender names it. */
  baseReceiptId?: string;
}

/**
 * The one place that decides where a terminal receipt goes — order payment, refund, walk-in sale, or its own
 * receipt workflow to be matched or held — for the Evotor webhook and the middleware batch alike. Doors
 * authenticate, parse and answer; this hands over. Walk-ins of one call (and of concurrent calls) are queued
 * together. `onForeignOrder`: a payment for another store's order is answered "rejected" (a sender that reads
 * the answer, the middleware) or held for a person in its receipt workflow (Evotor, which only retries).
 */
export function terminalReceiptIntake(client: Client, config: PosConfig, opts: { concurrency: number; onForeignOrder: 'reject' | 'hold' }) {
  const intake = receiptIntake(client);
  // Middleware walk-ins have no cloud document to be read back from once their receipt workflows are past the
  // namespace's retention: their sales are kept in sales books for the return period.
  const walkIns = walkInIntake(client, { concurrency: opts.concurrency, books: { keepMs: durationMs(config.refunds.walkInReturnPeriod) } });

  /** A sale whose lines leave the shelf with no order: the middleware says so (no order id or number), or no order of its store awaits it. */
  async function isWalkIn(receipt: TerminalReceipt, storeId: string | undefined): Promise<boolean> {
    const { payment } = receipt;
    if (receipt.type !== 'SELL' || payment.orderId || !storeId || receipt.lines.length === 0) return false;
    if (payment.terminalKind === 'middleware') return !payment.accountNumber;
    const match = await findAwaitingOrders(client, config, { storeId, amount: payment.amount, accountNumber: payment.accountNumber });
    return match.candidates.length === 0;
  }

  async function route(receipt: TerminalReceipt, storeId: string | undefined): Promise<IntakeOutcome> {
    const { payment, lines } = receipt;
    if (receipt.type === 'PAYBACK')
      // The sale it refunds is named by the sender, or in the receipt's cloud document (the refund workflow reads it).
      return intake.toRefund(payment, lines, { ...(receipt.baseReceiptId ? { baseReceiptId: receipt.baseReceiptId } : {}), ...(receipt.storeId ? { storeId: receipt.storeId } : {}) });
    if (receipt.type === 'SELL' && payment.orderId) return intake.toOrder({ ...payment, orderId: payment.orderId }, { storeId, onForeign: opts.onForeignOrder });
    // A sale to match to an order (by store, amount and number), or a document type we do not process.
    return intake.toReceiptWorkflow(payment, receipt.type, lines, receipt.storeId ? { storeId: receipt.storeId } : {});
  }

  return async function take(receipts: TerminalReceipt[]): Promise<IntakeOutcome[]> {
    const results = new Array<IntakeOutcome>(receipts.length);
    const sales: { i: number; sale: WalkInSale }[] = [];
    await mapLimit(receipts, opts.concurrency, async (receipt, i) => {
      const storeId = receipt.storeId ?? storeOfPayment(config, receipt.payment);
      if (storeId && (await isWalkIn(receipt, storeId))) sales.push({ i, sale: { payment: receipt.payment, receipt: walkInReceiptOf(receipt.payment, storeId, receipt.lines) } });
      else results[i] = await route(receipt, storeId);
    });
    const outcomes = await walkIns(sales.map((s) => s.sale));
    sales.forEach(({ i }, k) => (results[i] = outcomes[k]));
    return results;
  };
}
