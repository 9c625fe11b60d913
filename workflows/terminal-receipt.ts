import {
  condition,
  defineQuery,
  defineUpdate,
  log,
  ParentClosePolicy,
  patched,
  proxyLocalActivities,
  proxyActivities,
  startChild,
  setHandler,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type SearchAttributeUpdatePair } from '@temporalio/common';
import type { TemporalActivities } from '../cross-system/order-lookup';
import { kopecksToRubles } from '../domain/money';
import { type TerminalPayment } from '../domain/payment';
import { walkInReceiptOf, type QueuedDeduction, type ReceiptLine } from '../domain/walk-in';
import { paymentReceivedSignal } from './pos-payment';
import { PosOrderId, PosReceiptId, PosStore, PosTerminal } from '../domain/search-attributes';
import { nowIso, stages } from './attention';
import { signalOrStart } from './signal-or-start';
import { queueDeductionSignal } from './walk-in-deductions';
import { TASK_QUEUES, posPaymentWorkflowId, refundWorkflowId, walkInDeductionsWorkflowId } from '../domain/workflow-ids';

export interface TerminalReceiptInput {
  payment: TerminalPayment;
  receiptType: string;
  /** What left the shelf; needed when the sale turns out to be a walk-in sale. */
  lines?: ReceiptLine[];
  /** Our store id, when the sender knows it (middleware); otherwise from the terminal store id. */
  storeId?: string;
  /** Set when the door already knows no order can take it (e.g. the order's workflow has ended). */
  heldReason?: string;
  /**
   * false: the sender says it is a walk-in sale (middleware reports order payments with an order id or
   * number), so no awaiting order is looked for. Default true: a cashier may ring an order by hand.
   */
  matchOrders?: boolean;
  /**
   * The door has handed the walk-in sale to the store's deductions workflow itself, in one call with the
   * rest of its batch (api/routes/middleware.ts): this workflow only records the receipt (its id keeps a
   * redelivery out; support finds it by PosReceiptId).
   */
  queuedByDoor?: boolean;
}

export type ReceiptStage = 'MATCHING' | 'QUEUED_FOR_DEDUCTION' | 'NEEDS_ATTENTION' | 'COMPLETED';

export interface TerminalReceiptState {
  receiptId: string;
  receiptType: string;
  stage: ReceiptStage;
  stageSince: string;
  storeId?: string;
  amount: number;
  matchedOrderId?: string;
  candidates?: string[];
  reason?: string;
  resolution?: string;
}

const HELD_ACTION = 'find the order or sale this belongs to, handle it in Bitrix, then resolve with a note.';

export const terminalReceiptQuery = defineQuery<TerminalReceiptState>('status');
export const resolveReceiptUpdate = defineUpdate<TerminalReceiptState, [{ note: string }]>('resolve');

const temporalLocal = proxyLocalActivities<TemporalActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});
const temporal = proxyActivities<TemporalActivities>({
  taskQueue: TASK_QUEUES.workflows,
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});


/**
 * One per terminal receipt that carried no order id (or that no order workflow could take), keyed by
 * store + receipt. A sale is matched to the one order awaiting that amount at that store (and number,
 * when known); with no candidate it is a walk-in sale and its lines leave the store's warehouse; with
 * several it is never guessed. Whatever cannot be done waits in NEEDS_ATTENTION: nothing is dropped.
 */
export async function terminalReceiptWorkflow(input: TerminalReceiptInput): Promise<TerminalReceiptState> {
  const { payment } = input;
  const state: TerminalReceiptState = { receiptId: payment.receiptId, receiptType: input.receiptType, stage: 'MATCHING', stageSince: nowIso(), amount: payment.amount, storeId: input.storeId };
  let requested: { note: string } | undefined;

  setHandler(terminalReceiptQuery, () => state);
  setHandler(
    resolveReceiptUpdate,
    ({ note }) => {
      requested = { note };
      return state;
    },
    {
      validator: (arg) => {
        if (!arg || typeof arg.note !== 'string' || !arg.note.trim()) throw new Error('note: a non-empty text is required');
        if (state.stage !== 'NEEDS_ATTENTION') throw new Error(`nothing to resolve: the stage is ${state.stage}`);
      },
    },
  );
  const staged = stages<ReceiptStage, TerminalReceiptState>(state, () => {
    const head = [
      `**${input.receiptType} receipt** ${payment.receiptId} from terminal ${payment.deviceId}${state.storeId ? ` at ${state.storeId}` : ''}`,
      `Amount: ${kopecksToRubles(payment.amount)} ${payment.currency}, paid ${payment.paidAt}; stage **${state.stage}**`,
    ];
    if (state.matchedOrderId) head.push(`Paid order ${state.matchedOrderId}`);
    if (state.reason) head.push(`Why: ${state.reason}`, `What to do: ${HELD_ACTION}`);
    return { head };
  }, () => ({
    subject: `${input.receiptType} receipt ${payment.receiptId} of ${kopecksToRubles(payment.amount)} ${payment.currency}${state.storeId ? ` at ${state.storeId}` : ''}`,
    orderId: payment.orderId,
    storeId: state.storeId,
    problem: { step: 'match the terminal receipt', message: state.reason ?? 'held for a person', action: HELD_ACTION },
  }));
  /** Enters a stage; search attributes go out in one upsert (each one is a history event and an index write). */
  const enter = (stage: ReceiptStage, reason?: string, extra: SearchAttributeUpdatePair[] = []) => {
    state.reason = reason;
    staged.enter(stage, undefined, undefined, extra);
  };

  /** Waits in NEEDS_ATTENTION until a person resolves it. */
  async function hold(reason: string): Promise<void> {
    enter('NEEDS_ATTENTION', reason);
    log.warn('receipt held', { receiptId: payment.receiptId, reason });
    await condition(() => requested !== undefined);
  }

  const identity: SearchAttributeUpdatePair[] = [
    { key: PosReceiptId, value: payment.receiptId },
    { key: PosTerminal, value: payment.deviceId },
    ...(input.storeId ? [{ key: PosStore, value: input.storeId }] : []),
  ];
  // A refund receipt has its own workflow, which reverses what its sale did (workflows/refund.ts).
  if (!input.heldReason && input.receiptType === 'PAYBACK' && patched('payback-to-refund-workflow')) {
    const refundId = await handToRefund(input);
    state.resolution = `handed to ${refundId}`;
    enter('COMPLETED', undefined, identity);
    return state;
  }
  let reason = input.heldReason;
  if (!reason && input.receiptType !== 'SELL') reason = `${input.receiptType} receipts are not processed automatically yet`;
  const walkInNow = !reason && input.matchOrders === false && Boolean(input.storeId);
  if (walkInNow && input.queuedByDoor) {
    enter('QUEUED_FOR_DEDUCTION', undefined, identity);
    return state;
  }
  if (!walkInNow) enter('MATCHING', undefined, identity);
  if (!reason && !walkInNow) {
    // A local activity: one marker in the history instead of an activity task through the server — an
    // offline burst brings thousands of these at once.
    const match = await (patched('local-order-matching') ? temporalLocal : temporal).findAwaitingOrders({
      terminalStoreId: payment.terminalStoreId,
      storeId: input.storeId,
      amount: payment.amount,
      accountNumber: payment.accountNumber,
    });
    state.storeId = match.storeId;
    state.candidates = match.candidates;
    if (match.storeId) upsertSearchAttributes([{ key: PosStore, value: match.storeId }]);
    if (!match.storeId) reason = `terminal store ${payment.terminalStoreId} is not in POS_CONFIG`;
    else if (match.candidates.length === 1) {
      await deliverToOrder(match.candidates[0], payment);
      state.matchedOrderId = match.candidates[0];
      upsertSearchAttributes([{ key: PosOrderId, value: match.candidates[0] }]);
      enter('COMPLETED');
      return state;
    } else if (match.candidates.length > 1)
      reason = `several orders await ${kopecksToRubles(payment.amount)} at this store (${match.candidates.join(', ')}): not guessed`;
    else if (!input.lines?.length) reason = 'no order awaits this payment and the receipt has no lines to write off';
  }

  if (!reason) {
    // A walk-in sale: handed to the store's deductions workflow, which owns it from here (batched with the
    // store's other receipts; a refusal opens a walk-in-problem workflow). Its history holds the receipt.
    const item: QueuedDeduction = { receipt: walkInReceiptOf(payment, state.storeId!, input.lines!) };
    await signalOrStart(walkInDeductionsWorkflowId(state.storeId!), queueDeductionSignal, item, 'walkInDeductionsWorkflow', {
      args: [{ storeId: state.storeId!, queue: [item] }],
      staticSummary: `Walk-in stock deductions of store ${state.storeId}`,
      taskQueue: TASK_QUEUES.deductions,
      startCarriesSignal: true,
    });
    enter('QUEUED_FOR_DEDUCTION', undefined, walkInNow ? identity : []);
    return state;
  }
  await hold(reason);
  state.resolution = requested?.note;
  enter('COMPLETED', state.reason);
  await staged.noticesSent();
  return state;
}

/** Starts the refund receipt's own workflow (already started = handed over already). */
async function handToRefund(input: TerminalReceiptInput): Promise<string> {
  const workflowId = refundWorkflowId(input.payment.terminalStoreId, input.payment.receiptId);
  try {
    await startChild('refundWorkflow', {
      workflowId,
      args: [{ refund: input.payment, lines: input.lines ?? [], storeId: input.storeId }],
      taskQueue: TASK_QUEUES.workflows,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      staticSummary: `Refund receipt ${input.payment.receiptId} from terminal ${input.payment.deviceId}`,
    });
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
  }
  return workflowId;
}

/** Hands the payment to the order's workflow, starting it when it is not running. */
async function deliverToOrder(orderId: string, payment: TerminalPayment): Promise<void> {
  await signalOrStart(posPaymentWorkflowId(orderId), paymentReceivedSignal, { ...payment, orderId }, 'posPaymentWorkflow', {
    args: [{ orderId, trigger: 'terminal-receipt' }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    staticSummary: `POS payment of Bitrix order ${orderId}`,
  });
}
