import { log, patched } from '@temporalio/workflow';
import { fiscalSummary } from '../../domain/terminal-payload';
import { nowIso } from '../attention';
import { bitrix, saleRecords } from './activities';
import { REFUND_ON_CANCEL, stopIfCancelled } from './cancellation';
import { loadContext } from './load';
import type { PaymentRun, ReadyOrder } from './run';

/** On completion the sale is recorded into the order's refund ledger, which outlives this workflow's retention. */
const RECORD_SALE_FOR_REFUNDS = 'record-sale-for-refunds';

/**
 * CONFIRMING: the POS payment marked paid with the terminal's receipt ids and fiscal attributes (a payment
 * Bitrix already shows paid is recorded, never marked twice), the order's "paid" status, the CRM deals.
 */
export async function confirmInBitrix(run: PaymentRun, ctx: ReadyOrder): Promise<void> {
  const { orderId, state } = run;
  const { order, posPayment } = ctx;
  run.enter('CONFIRMING', 'Bitrix to record the payment');
  if (state.payments.length > 0) {
    const marked = await run.step('mark payment paid', 'Check the payment in Bitrix, then retry.', () =>
      bitrix.markPaymentPaid({
        orderId,
        paymentId: posPayment.id,
        paySystemId: posPayment.paySystemId,
        receiptIds: state.payments.map((p) => p.receiptId),
        paidAt: state.payments[state.payments.length - 1].paidAt,
        amount: state.paidAmount,
        currency: order.currency,
        fiscalMessage: state.fiscal ? fiscalSummary(state.fiscal) : undefined,
      }),
    );
    // Paid by someone else too (1C exchange, a manager): recorded, never marked twice.
    if (marked.outcome === 'paid-elsewhere') state.alreadyPaidInBitrix = true;
  }
  await run.step('set paid status', 'Check the status code in POS_CONFIG bitrix.statuses, then retry.', () => bitrix.setOrderStatus({ orderId, statusId: ctx.statuses.paid }));
  if (ctx.paidDealStageId) {
    const stageId = ctx.paidDealStageId;
    await run.step('move CRM deal', 'Check the deal stage id in POS_CONFIG bitrix.crm, then retry.', () => bitrix.moveOrderDealsToStage({ orderId, stageId }));
  }
}

/**
 * DEDUCTING_STOCK: Bitrix writes the order's items off the warehouse they were reserved at. A cancellation
 * in Bitrix since the payment is then looked at once more (`savesAfterPayment`: the Bitrix saves seen then).
 */
export async function deductStock(run: PaymentRun, ctx: ReadyOrder, savesAfterPayment: number): Promise<void> {
  const { orderId, state, events } = run;
  run.enter('DEDUCTING_STOCK', 'Bitrix to write the stock off');
  await run.step('deduct stock', 'Check stock at the pickup warehouse in Bitrix, then retry.', () => bitrix.deductOrderStock({ orderId }));
  if (state.payments.length > 0 && patched(REFUND_ON_CANCEL)) await stopIfCancelled(run, ctx.statuses);
  else if (events.bitrixSaves !== savesAfterPayment) {
    const fresh = await loadContext(run);
    if (fresh.order.canceled)
      await run.needsAttention(
        'order cancelled after payment',
        'the order was cancelled in Bitrix after it was paid at the terminal',
        'Refund the payment at the terminal (the card is needed for card payments), then resolve with a note.',
      );
  }
}

/**
 * A refund finds its sale through this workflow, which vanishes when the namespace's retention has passed
 * after it closed: the sale's facts go into the order's ledger, which stays open. Best effort — while this
 * workflow is kept, refunds read it directly; a record that could not be written is logged, not a failure.
 */
export async function recordSaleForRefunds(run: PaymentRun): Promise<void> {
  const { orderId, state } = run;
  if (state.payments.length === 0 || !patched(RECORD_SALE_FOR_REFUNDS)) return;
  try {
    await saleRecords.recordOrderSale({
      orderId,
      accountNumber: state.accountNumber,
      storeId: state.storeId,
      stage: 'COMPLETED',
      paidAmount: state.paidAmount,
      currency: state.currency,
      payments: state.payments.map((p) => ({ receiptId: p.receiptId, paidAt: p.paidAt })),
      fiscal: state.fiscal,
      recordedAt: nowIso(),
    });
  } catch (err) {
    log.warn('could not record the sale in its refund ledger', { orderId, error: (err as Error).message });
  }
}
