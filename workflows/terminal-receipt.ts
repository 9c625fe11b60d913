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
  type ChildWorkflowOptions,
  type SignalDefinition,
  type Workflow,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { TemporalActivities } from '../activities/temporal/activities';
import { kopecksToRubles } from '../domain/money';
import { posPaymentWorkflowId, TASK_QUEUES, type TerminalPayment } from '../domain/payment';
import type { DeductionOutcome, QueuedDeduction, ReceiptLine } from '../domain/walk-in';
import { paymentReceivedSignal, posPaymentWorkflow } from './pos-payment';
import { PosOrderId, PosReceiptId, PosStage, PosStageSince, PosStore, PosTerminal } from './search-attributes';
import { deductionOutcomeSignal, queueDeductionSignal, walkInDeductionsWorkflow, walkInDeductionsWorkflowId } from './walk-in-deductions';

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
}

export type ReceiptStage = 'MATCHING' | 'DEDUCTING_STOCK' | 'NEEDS_ATTENTION' | 'COMPLETED';

export interface TerminalReceiptState {
  receiptId: string;
  receiptType: string;
  stage: ReceiptStage;
  storeId?: string;
  amount: number;
  matchedOrderId?: string;
  candidates?: string[];
  /** Walk-in sale: the Bitrix store document that wrote the lines off. */
  documentId?: string;
  reason?: string;
  resolution?: string;
}

export const terminalReceiptQuery = defineQuery<TerminalReceiptState>('status');
export const resolveReceiptUpdate = defineUpdate<TerminalReceiptState, [{ note: string }]>('resolve');
export const retryReceiptUpdate = defineUpdate<TerminalReceiptState, []>('retry');

const temporal = proxyActivities<TemporalActivities>({
  taskQueue: TASK_QUEUES.workflows,
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** A walk-in deduction not confirmed within this time is shown to a person (it may still arrive). */
const DEDUCTION_DEADLINE_MS = 60 * 60_000;

/**
 * One per terminal receipt that carried no order id (or that no order workflow could take), keyed by
 * store + receipt. A sale is matched to the one order awaiting that amount at that store (and number,
 * when known); with no candidate it is a walk-in sale and its lines leave the store's warehouse; with
 * several it is never guessed. Whatever cannot be done waits in NEEDS_ATTENTION: nothing is dropped.
 */
export async function terminalReceiptWorkflow(input: TerminalReceiptInput): Promise<TerminalReceiptState> {
  const { payment } = input;
  const state: TerminalReceiptState = { receiptId: payment.receiptId, receiptType: input.receiptType, stage: 'MATCHING', amount: payment.amount, storeId: input.storeId };
  let outcome: DeductionOutcome | undefined;
  let requested: 'retry' | { note: string } | undefined;

  setHandler(terminalReceiptQuery, () => state);
  setHandler(deductionOutcomeSignal, (o) => {
    outcome = o;
  });
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
  setHandler(
    retryReceiptUpdate,
    () => {
      requested = 'retry';
      return state;
    },
    {
      validator: () => {
        if (state.stage !== 'NEEDS_ATTENTION' || state.documentId || !input.lines?.length || outcome === undefined || outcome.outcome !== 'rejected')
          throw new Error('only a walk-in sale whose deduction Bitrix refused can be retried');
      },
    },
  );

  const enter = (stage: ReceiptStage, reason?: string) => {
    state.stage = stage;
    state.reason = reason;
    upsertSearchAttributes([
      { key: PosStage, value: stage },
      { key: PosStageSince, value: new Date(Date.now()) },
    ]);
    const lines = [
      `**${input.receiptType} receipt** ${payment.receiptId} from terminal ${payment.deviceId}${state.storeId ? ` at ${state.storeId}` : ''}`,
      `Amount: ${kopecksToRubles(payment.amount)} ${payment.currency}, paid ${payment.paidAt}; stage **${stage}**`,
    ];
    if (state.matchedOrderId) lines.push(`Paid order ${state.matchedOrderId}`);
    if (state.documentId) lines.push(`Stock written off by Bitrix store document ${state.documentId}`);
    if (reason) lines.push(`Why: ${reason}`, 'What to do: find the order or sale this belongs to, handle it in Bitrix, then resolve with a note.');
    if (state.resolution) lines.push(`Closed: ${state.resolution}`);
    setCurrentDetails(lines.join('\n\n'));
  };

  /** Waits in NEEDS_ATTENTION for a person (or, with `orOutcome`, for a late deduction outcome). */
  async function hold(reason: string, orOutcome = false): Promise<void> {
    enter('NEEDS_ATTENTION', reason);
    log.warn('receipt held', { receiptId: payment.receiptId, reason });
    requested = undefined;
    await condition(() => requested !== undefined || (orOutcome && outcome !== undefined));
  }

  upsertSearchAttributes([
    { key: PosReceiptId, value: payment.receiptId },
    { key: PosTerminal, value: payment.deviceId },
  ]);
  enter('MATCHING');

  let reason = input.heldReason;
  if (!reason && input.receiptType !== 'SELL') reason = `${input.receiptType} receipts are not processed automatically yet`;
  if (!reason && input.matchOrders === false && input.storeId) {
    upsertSearchAttributes([{ key: PosStore, value: input.storeId }]);
  } else if (!reason) {
    const match = await temporal.findAwaitingOrders({
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
    // A walk-in sale: its lines leave the store's warehouse, batched with other receipts of the store.
    const key = `${payment.terminalStoreId}:${payment.receiptId}`;
    for (;;) {
      outcome = undefined;
      enter('DEDUCTING_STOCK');
      await queueWalkIn(state.storeId!, {
        receipt: { key, receiptId: payment.receiptId, storeId: state.storeId!, terminalStoreId: payment.terminalStoreId, lines: input.lines! },
        replyTo: `terminal-receipt:${key}`,
      });
      if (!(await condition(() => outcome !== undefined, DEDUCTION_DEADLINE_MS)))
        await hold(`Bitrix has not confirmed the write-off within ${DEDUCTION_DEADLINE_MS / 60_000} min (it is still queued)`, true);
      // Set by the signal handler while we waited (a plain read would be narrowed to undefined).
      const result = outcome as DeductionOutcome | undefined;
      if (result?.outcome === 'deducted') {
        state.documentId = result.documentId;
        enter('COMPLETED');
        return state;
      }
      if (result?.outcome === 'rejected') await hold(`Bitrix refused the write-off: ${result.reason}`);
      if (requested !== 'retry') break;
    }
  } else await hold(reason);
  state.resolution = typeof requested === 'object' ? requested.note : undefined;
  enter('COMPLETED', state.reason);
  return state;
}

/** Hands the payment to the order's workflow, starting it when it is not running. */
async function deliverToOrder(orderId: string, payment: TerminalPayment): Promise<void> {
  await signalOrStart(posPaymentWorkflowId(orderId), paymentReceivedSignal, { ...payment, orderId }, posPaymentWorkflow, {
    args: [{ orderId, trigger: 'terminal-receipt' }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    staticSummary: `POS payment of Bitrix order ${orderId}`,
  });
}

async function queueWalkIn(storeId: string, item: QueuedDeduction): Promise<void> {
  await signalOrStart(walkInDeductionsWorkflowId(storeId), queueDeductionSignal, item, walkInDeductionsWorkflow, {
    args: [{ storeId, queue: [item] }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    staticSummary: `Walk-in stock deductions of store ${storeId}`,
    startCarriesSignal: true,
  });
}

/** Signals a running workflow; when none runs, starts it (another starter may win the race: then signal). */
async function signalOrStart<A, W extends Workflow>(
  workflowId: string,
  signal: SignalDefinition<[A]>,
  arg: A,
  workflow: W,
  opts: { args: Parameters<W>; workflowIdReusePolicy: WorkflowIdReusePolicy; staticSummary: string; startCarriesSignal?: boolean },
): Promise<void> {
  try {
    await getExternalWorkflowHandle(workflowId).signal(signal, arg);
    return;
  } catch {
    // Not running: start it.
  }
  try {
    const options: ChildWorkflowOptions & { args: unknown[] } = {
      workflowId,
      args: opts.args,
      taskQueue: TASK_QUEUES.workflows,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: opts.workflowIdReusePolicy,
      staticSummary: opts.staticSummary,
    };
    const child = await startChild(workflow.name, options);
    if (!opts.startCarriesSignal) await child.signal(signal, arg);
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    await getExternalWorkflowHandle(workflowId).signal(signal, arg);
  }
}
