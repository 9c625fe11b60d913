import { executeChild, log, ParentClosePolicy, patched } from '@temporalio/workflow';
import { kopecksToRubles } from '../../domain/money';
import type { PosPaymentResult } from '../../domain/payment';
import { orderCancellationWorkflowId, TASK_QUEUES } from '../../domain/workflow-ids';
import { orderCancellationWorkflow } from '../order-cancellation';
import { loadContext } from './load';
import { Compensate, type PaymentRun, type ReadyOrder } from './run';

/** Cancellation after payment asks the terminal for a refund and reverses what was done (saga) instead of stopping. */
export const REFUND_ON_CANCEL = 'refund-on-cancel-after-payment';

/**
 * Between the steps after payment: a cancellation (by support, or in Bitrix: the order cancelled or set to
 * the "cancel requested" status) stops the flow here — the steps not done yet are never started.
 */
export async function stopIfCancelled(run: PaymentRun, statuses: ReadyOrder['statuses']): Promise<void> {
  const { events } = run;
  if (!patched(REFUND_ON_CANCEL)) return;
  if (events.requested?.kind === 'cancel') throw new Compensate(events.requested.reason);
  if (events.bitrixSaves === events.checkedSaves) return;
  events.checkedSaves = events.bitrixSaves;
  const fresh = await loadContext(run);
  if (fresh.order.canceled) throw new Compensate('the order was cancelled in Bitrix after it was paid at the terminal');
  if (statuses.cancelRequested && fresh.order.statusId === statuses.cancelRequested)
    throw new Compensate(`the order was set to "${statuses.cancelRequested}" (cancel requested) in Bitrix after it was paid at the terminal`);
}

/**
 * The saga's compensation: the terminal must give the money back first (it is the only one who can), so
 * `order-cancellation:{orderId}` asks for the refund and waits for it; each PAYBACK's refund workflow then
 * reverses what this workflow did (stock, payment, status, fiscal receipt), in the reverse order.
 */
export async function compensateAfterPayment(run: PaymentRun, reason: string): Promise<PosPaymentResult> {
  const { orderId, state } = run;
  state.problem = undefined;
  log.info('cancelled after payment: refund requested at the terminal', { orderId });
  run.enter('AWAITING_REFUND', `the refund of ${kopecksToRubles(state.paidAmount)} at the terminal (workflow ${orderCancellationWorkflowId(orderId)})`);
  const result = await executeChild(orderCancellationWorkflow, {
    workflowId: orderCancellationWorkflowId(orderId),
    taskQueue: TASK_QUEUES.workflows,
    args: [
      {
        orderId,
        reason,
        requestedBy: 'payment-workflow',
        paidAmount: state.paidAmount,
        currency: state.currency,
        accountNumber: state.accountNumber,
        storeId: state.storeId,
        deviceIds: run.loaded?.store?.evotorDeviceIds,
        paybackDeadlineMs: run.loaded?.paybackDeadlineMs,
      },
    ],
    // The refund is awaited even if this workflow is terminated by hand.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `Refund of cancelled paid order ${orderId} at the terminal`,
  });
  state.resolution = result.outcome === 'REFUNDED' ? `cancelled after payment (${reason}); ${result.resolution ?? 'refunded'}` : result.resolution;
  run.enter(result.outcome === 'REFUNDED' ? 'CANCELLED' : 'COMPLETED');
  const outcome = result.outcome === 'REFUNDED' ? 'CANCELLED' : 'RESOLVED_BY_HAND';
  log.info('payment workflow finished', { orderId, outcome });
  return { ...state, outcome };
}
