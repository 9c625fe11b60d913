import {
  condition,
  defineQuery,
  defineUpdate,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { BitrixActivities } from '../activities/bitrix/activities';
import { kopecksToRubles } from '../domain/money';
import { posPaymentWorkflowId, TASK_QUEUES, type TerminalPayment } from '../domain/payment';
import { paymentReceivedSignal, posPaymentWorkflow } from './pos-payment';
import { PosOrderId, PosReceiptId, PosStage, PosStageSince, PosTerminal } from './search-attributes';

export interface TerminalReceiptInput {
  payment: TerminalPayment;
  receiptType: string;
  /** Set when the door already knows no order can take it (e.g. the order's workflow has ended). */
  heldReason?: string;
}

export interface TerminalReceiptState extends TerminalReceiptInput {
  stage: 'MATCHING' | 'NEEDS_ATTENTION' | 'COMPLETED';
  matchedOrderId?: string;
  candidates?: string[];
  reason?: string;
  resolution?: string;
}

export const terminalReceiptQuery = defineQuery<TerminalReceiptState>('status');
export const resolveReceiptUpdate = defineUpdate<TerminalReceiptState, [{ note: string }]>('resolve');

const bitrix = proxyActivities<BitrixActivities>({
  taskQueue: TASK_QUEUES.bitrix,
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/**
 * One per terminal receipt that carried no order id (or that no order workflow could take). A sale is
 * matched to the order awaiting payment at that store by number and amount; a match that is not unique
 * is never guessed. What cannot be matched is held in NEEDS_ATTENTION so nothing accepted is lost.
 */
export async function terminalReceiptWorkflow(input: TerminalReceiptInput): Promise<TerminalReceiptState> {
  const state: TerminalReceiptState = { ...input, stage: 'MATCHING' };
  const { payment } = input;
  setHandler(terminalReceiptQuery, () => state);
  setHandler(
    resolveReceiptUpdate,
    ({ note }) => {
      state.resolution = note;
      return state;
    },
    {
      validator: (arg) => {
        if (!arg || typeof arg.note !== 'string' || !arg.note.trim()) throw new Error('note: a non-empty text is required');
        if (state.stage !== 'NEEDS_ATTENTION') throw new Error(`nothing to resolve: the stage is ${state.stage}`);
      },
    },
  );
  upsertSearchAttributes([
    { key: PosReceiptId, value: payment.receiptId },
    { key: PosTerminal, value: payment.deviceId },
  ]);
  const stage = (s: TerminalReceiptState['stage']) => {
    state.stage = s;
    upsertSearchAttributes([
      { key: PosStage, value: s },
      { key: PosStageSince, value: new Date(Date.now()) },
    ]);
  };
  stage('MATCHING');

  let reason = input.heldReason;
  if (!reason && input.receiptType === 'SELL') {
    const match = await bitrix.findOrderForPayment({
      terminalStoreId: payment.terminalStoreId,
      amount: payment.amount,
      accountNumber: payment.accountNumber,
    });
    state.candidates = match.candidates;
    if (match.orderId) {
      await deliverToOrder(match.orderId, payment);
      state.matchedOrderId = match.orderId;
      upsertSearchAttributes([{ key: PosOrderId, value: match.orderId }]);
      stage('COMPLETED');
      log.info('receipt matched to order', { receiptId: payment.receiptId, orderId: match.orderId });
      return state;
    }
    reason =
      match.candidates.length > 1
        ? `several orders await ${kopecksToRubles(payment.amount)} at this store (${match.candidates.join(', ')}): not guessed`
        : 'no order awaits this payment at this store (a walk-in sale, or an order rung by hand)';
  }
  state.reason = reason ?? `${input.receiptType} receipts are not processed automatically yet`;
  stage('NEEDS_ATTENTION');
  setCurrentDetails(
    [
      `**Unmatched ${input.receiptType} receipt** ${payment.receiptId} from terminal ${payment.deviceId}`,
      `Amount: ${kopecksToRubles(payment.amount)} ${payment.currency}, paid ${payment.paidAt}`,
      `Why: ${state.reason}`,
      'What to do: find the order or sale this belongs to, handle it in Bitrix, then resolve with a note.',
    ].join('\n\n'),
  );
  log.warn('receipt held', { receiptId: payment.receiptId, reason: state.reason });
  await condition(() => state.resolution !== undefined);
  stage('COMPLETED');
  return state;
}

/** Hands the payment to the order's workflow, starting it when it is not running. */
async function deliverToOrder(orderId: string, payment: TerminalPayment): Promise<void> {
  const workflowId = posPaymentWorkflowId(orderId);
  const withOrder = { ...payment, orderId };
  try {
    await getExternalWorkflowHandle(workflowId).signal(paymentReceivedSignal, withOrder);
    return;
  } catch {
    // Not running: start it.
  }
  try {
    const child = await startChild(posPaymentWorkflow, {
      workflowId,
      args: [{ orderId, trigger: 'terminal-receipt' }],
      taskQueue: TASK_QUEUES.workflows,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      staticSummary: `POS payment of Bitrix order ${orderId}`,
    });
    await child.signal(paymentReceivedSignal, withOrder);
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    await getExternalWorkflowHandle(workflowId).signal(paymentReceivedSignal, withOrder);
  }
}
