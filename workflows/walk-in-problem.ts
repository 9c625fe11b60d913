import { condition, defineQuery, defineUpdate, log, setHandler } from '@temporalio/workflow';
import type { DeductionOutcome, WalkInReceipt } from '../domain/walk-in';
import { PosReceiptId, PosStore } from '../domain/search-attributes';
import { nowIso, stages } from './attention';
import { deductionOutcomeSignal, queueDeductionSignal } from './walk-in-deductions';
import { signalOrStart } from './signal-or-start';
import { setSupportHandlers, type SupportRequest } from './support-actions';
import { TASK_QUEUES, walkInDeductionsWorkflowId, walkInProblemWorkflowId } from '../domain/workflow-ids';

export interface WalkInProblemInput {
  receipt: WalkInReceipt;
  reason: string;
}

export interface WalkInProblemState {
  receiptKey: string;
  storeId: string;
  stage: 'NEEDS_ATTENTION' | 'DEDUCTING_STOCK' | 'COMPLETED';
  stageSince: string;
  reason?: string;
  documentId?: string;
  resolution?: string;
}

const WHAT_TO_DO = 'fix the cause in Bitrix (product, stock) or in the terminal catalog, then retry; or resolve with a note.';

export const walkInProblemQuery = defineQuery<WalkInProblemState>('status');
export const retryWalkInUpdate = defineUpdate<WalkInProblemState, []>('retry');
export const resolveWalkInUpdate = defineUpdate<WalkInProblemState, [{ note: string }]>('resolve');

/**
 * A walk-in receipt whose write-off Bitrix refused (unknown product, no stock at the warehouse...): shown
 * to support in NEEDS_ATTENTION with the reason. `retry` sends it again after the cause is fixed;
 * `resolve` closes it with a note.
 */
export async function walkInProblemWorkflow(input: WalkInProblemInput): Promise<WalkInProblemState> {
  const { receipt } = input;
  const state: WalkInProblemState = { receiptKey: receipt.key, storeId: receipt.storeId, stage: 'NEEDS_ATTENTION', stageSince: nowIso(), reason: input.reason };
  let requested: SupportRequest | undefined;
  let outcome: DeductionOutcome | undefined;
  setHandler(walkInProblemQuery, () => state);
  setHandler(deductionOutcomeSignal, (o) => void (outcome = o));
  setSupportHandlers({ retry: retryWalkInUpdate, resolve: resolveWalkInUpdate }, state, (r) => (requested = r));

  const staged = stages<WalkInProblemState['stage'], WalkInProblemState>(state, () => ({
    head: [
      `**Walk-in sale ${receipt.receiptId}** at ${receipt.storeId}: ${receipt.lines.length} line(s)`,
      `Stage: **${state.stage}**`,
      ...(state.reason && state.stage === 'NEEDS_ATTENTION' ? [`Why: ${state.reason}`, `What to do: ${WHAT_TO_DO}`] : []),
      ...(state.documentId ? [`Written off by Bitrix store document ${state.documentId}`] : []),
    ],
  }), () => ({
    subject: `Walk-in sale ${receipt.receiptId} at ${receipt.storeId}`,
    storeId: receipt.storeId,
    problem: { step: 'write off the walk-in sale', message: `Bitrix refused the write-off: ${state.reason ?? 'no reason given'}`, action: WHAT_TO_DO },
  }));
  const enter = (stage: WalkInProblemState['stage']) =>
    staged.enter(stage, undefined, undefined, [
      { key: PosReceiptId, value: receipt.receiptId },
      { key: PosStore, value: receipt.storeId },
    ]);

  try {
    for (;;) {
      enter('NEEDS_ATTENTION');
      log.warn('walk-in receipt needs attention', { receiptKey: receipt.key, reason: state.reason });
      requested = undefined;
      await condition(() => requested !== undefined);
      const decision = requested as SupportRequest | undefined;
      if (decision?.kind !== 'retry') {
        state.resolution = decision?.note;
        enter('COMPLETED');
        return state;
      }
      outcome = undefined;
      enter('DEDUCTING_STOCK');
      await signalOrStart(walkInDeductionsWorkflowId(receipt.storeId), queueDeductionSignal, { receipt, replyTo: walkInProblemWorkflowId(receipt.key) }, 'walkInDeductionsWorkflow', {
        args: [{ storeId: receipt.storeId }],
        staticSummary: `Walk-in stock deductions of store ${receipt.storeId}`,
        taskQueue: TASK_QUEUES.deductions,
      });
      await condition(() => outcome !== undefined);
      const result = outcome as DeductionOutcome | undefined;
      if (result?.outcome === 'deducted') {
        state.documentId = result.documentId;
        enter('COMPLETED');
        return state;
      }
      state.reason = result?.outcome === 'rejected' ? result.reason : 'no outcome';
    }
  } finally {
    await staged.noticesSent();
  }
}
