import { condition, defineQuery, defineUpdate, log, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { kopecksToRubles } from '../domain/money';
import type { TerminalPayment } from '../domain/payment';
import { PosReceiptId, PosStage, PosStageSince, PosTerminal } from './search-attributes';

export interface UnmatchedReceiptInput {
  payment: TerminalPayment;
  /** Why it could not be handed to an order's workflow. */
  reason: string;
  receiptType: string;
}

export interface UnmatchedReceiptState extends UnmatchedReceiptInput {
  stage: 'NEEDS_ATTENTION' | 'COMPLETED';
  resolution?: string;
}

export const unmatchedReceiptQuery = defineQuery<UnmatchedReceiptState>('status');
export const resolveUnmatchedUpdate = defineUpdate<UnmatchedReceiptState, [{ note: string }]>('resolve');

/**
 * Holds a terminal receipt that no workflow could take (no order id, order workflow already closed, a
 * receipt type not handled yet), so that nothing accepted at our door is lost: support and reconciliation
 * find it by stage and receipt id, and close it with a note.
 */
export async function unmatchedReceiptWorkflow(input: UnmatchedReceiptInput): Promise<UnmatchedReceiptState> {
  const state: UnmatchedReceiptState = { ...input, stage: 'NEEDS_ATTENTION' };
  setHandler(unmatchedReceiptQuery, () => state);
  setHandler(
    resolveUnmatchedUpdate,
    ({ note }) => {
      state.resolution = note;
      return state;
    },
    {
      validator: (arg) => {
        if (!arg || typeof arg.note !== 'string' || !arg.note.trim()) throw new Error('note: a non-empty text is required');
        if (state.resolution) throw new Error('already resolved');
      },
    },
  );
  upsertSearchAttributes([
    { key: PosStage, value: 'NEEDS_ATTENTION' },
    { key: PosStageSince, value: new Date(Date.now()) },
    { key: PosReceiptId, value: input.payment.receiptId },
    { key: PosTerminal, value: input.payment.deviceId },
  ]);
  setCurrentDetails(
    [
      `**Unmatched ${input.receiptType} receipt** ${input.payment.receiptId} from terminal ${input.payment.deviceId}`,
      `Amount: ${kopecksToRubles(input.payment.amount)} ${input.payment.currency}, paid ${input.payment.paidAt}`,
      `Why: ${input.reason}`,
      'What to do: find the order or sale this belongs to, handle it in Bitrix, then resolve with a note.',
    ].join('\n\n'),
  );
  log.warn('unmatched receipt held', { receiptId: input.payment.receiptId, reason: input.reason });
  await condition(() => state.resolution !== undefined);
  state.stage = 'COMPLETED';
  upsertSearchAttributes([
    { key: PosStage, value: 'COMPLETED' },
    { key: PosStageSince, value: new Date(Date.now()) },
  ]);
  return state;
}
