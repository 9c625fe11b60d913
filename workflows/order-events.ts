import {
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { BitrixActivities } from '../activities/bitrix/activities';
import { orderCancellationWorkflow } from './order-cancellation';
import { orderSavedInBitrixSignal, posPaymentWorkflow } from './pos-payment';
import { PosOrderId } from '../domain/search-attributes';
import { OUTSIDE_SYSTEM_RETRY } from './support-actions';
import { TASK_QUEUES, orderCancellationWorkflowId, posPaymentWorkflowId } from '../domain/workflow-ids';

export interface BitrixOrderEvent {
  event: string;
  /** Bitrix's `ts` (unix seconds) as received. */
  ts?: string;
  receivedAt: string;
}

export const bitrixOrderEventSignal = defineSignal<[BitrixOrderEvent]>('bitrixOrderEvent');

export type OrderEventsOutcome =
  | 'forwarded-to-payment-workflow'
  | 'payment-workflow-started'
  | 'payment-workflow-exists'
  | 'not-a-pos-order'
  | 'order-cancelled'
  | 'refund-requested'
  | 'already-paid-and-deducted'
  | 'order-not-found';

const bitrix = proxyActivities<BitrixActivities>({
  taskQueue: TASK_QUEUES.bitrix,
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1h',
  retry: OUTSIDE_SYSTEM_RETRY,
});

/** How long an intake run stays open for more events of the same order (they come in bursts). */
const LINGER = '5s';

/**
 * One short-lived run per burst of ONSALEORDERSAVED events of an order (started by signalWithStart).
 * The event carries only the id, so this decides: forward to the running payment workflow, start one
 * for a POS order, or record why nothing was done. Results stay in Temporal for reconciliation.
 */
export async function bitrixOrderEventsWorkflow(orderId: string): Promise<{ orderId: string; events: number; outcomes: OrderEventsOutcome[] }> {
  let pending = 0;
  let events = 0;
  const outcomes: OrderEventsOutcome[] = [];
  upsertSearchAttributes([{ key: PosOrderId, value: orderId }]);
  setHandler(bitrixOrderEventSignal, () => {
    pending++;
    events++;
  });

  for (;;) {
    if (!(await condition(() => pending > 0, LINGER))) break;
    pending = 0;
    outcomes.push(await handleOrderSaved(orderId));
  }
  log.info('order events handled', { orderId, events, outcomes });
  return { orderId, events, outcomes };
}

async function handleOrderSaved(orderId: string): Promise<OrderEventsOutcome> {
  const paymentWorkflowId = posPaymentWorkflowId(orderId);
  try {
    await getExternalWorkflowHandle(paymentWorkflowId).signal(orderSavedInBitrixSignal);
    return 'forwarded-to-payment-workflow';
  } catch {
    // Not running: decide from the order itself.
  }
  const ctx = await bitrix.loadOrderContext(orderId);
  if (!ctx.found) return 'order-not-found';
  if (!ctx.posPayment) return 'not-a-pos-order';
  const cancelRequested = ctx.order.canceled || (ctx.statuses.cancelRequested !== undefined && ctx.order.statusId === ctx.statuses.cancelRequested);
  // Paid at our terminal (psInvoiceId = its receipt) and cancelled afterwards: the money goes back at the terminal.
  if (cancelRequested && ctx.posPayment.paid && ctx.posPayment.psInvoiceId && patched('refund-on-cancel-after-payment')) {
    try {
      await startChild(orderCancellationWorkflow, {
        workflowId: orderCancellationWorkflowId(orderId),
        args: [{ orderId, reason: ctx.order.canceled ? 'the paid order was cancelled in Bitrix' : 'a manager asked in Bitrix to cancel the paid order', requestedBy: 'bitrix' }],
        taskQueue: TASK_QUEUES.workflows,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // Asked once: a later save of the same cancelled order does not ask for a second refund.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: `Refund of cancelled paid order ${orderId} at the terminal`,
      });
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
    return 'refund-requested';
  }
  if (ctx.order.canceled) return 'order-cancelled';
  if (ctx.posPayment.paid && ctx.order.deducted) return 'already-paid-and-deducted';
  try {
    await startChild(posPaymentWorkflow, {
      workflowId: paymentWorkflowId,
      args: [{ orderId, trigger: 'bitrix-event' }],
      taskQueue: TASK_QUEUES.workflows,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A completed order is never paid twice; a failed or terminated run may be started again.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      staticSummary: `POS payment of Bitrix order ${orderId}`,
    });
    return 'payment-workflow-started';
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return 'payment-workflow-exists';
    throw e;
  }
}
