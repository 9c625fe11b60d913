import type { RefundInput, RefundResult } from '../domain/refund';
import { claimFromLedger } from './refund/claim';
import { complete, ended } from './refund/complete';
import { confirmInBitrix } from './refund/confirm';
import { fiscalize } from './refund/fiscalize';
import { locateSale } from './refund/locate-sale';
import { returnStock } from './refund/return-stock';
import { startRefundRun } from './refund/run';

export { refundStatusQuery, retryRefundUpdate, resolveRefundUpdate } from './refund/messages';

/**
 * One per refund receipt (PAYBACK), keyed by store + receipt, so a redelivered webhook is a duplicate.
 * Finds the sale it refunds (and waits for it when the sale is not through its own workflow yet), reserves
 * the refunded goods and money with the sale's ledger (never more than was sold or paid), then reverses
 * exactly what the sale did, in the reverse order, each step once: stock back, the Bitrix payment returned
 * and the order settled, the fiscal refund receipt. The steps are in workflows/refund/.
 */
export async function refundWorkflow(input: RefundInput): Promise<RefundResult> {
  const run = startRefundRun(input);
  try {
    const sale = await locateSale(run);
    const reserved = await claimFromLedger(run, sale.facts);
    // Reversed in the reverse order of the sale: stock, then the payment and the order, then the fiscal receipt.
    await returnStock(run, sale, reserved);
    if (sale.kind === 'order') await confirmInBitrix(run, sale, reserved);
    await fiscalize(run, sale, reserved);
    return await complete(run);
  } catch (err) {
    return ended(run, err);
  } finally {
    await run.noticesSent();
  }
}
