import { condition, workflowInfo } from '@temporalio/workflow';
import type { LedgerDecision, SaleFacts } from '../../domain/refund';
import { refundLedgerWorkflowId } from '../../domain/workflow-ids';
import { claimRefundSignal } from '../refund-ledger';
import { signalOrStart } from '../signal-or-start';
import type { RefundRun } from './run';

const LEDGER_ANSWER_MS = 5 * 60_000;

export type Reservation = Extract<LedgerDecision, { outcome: 'reserved' }>;

/**
 * Asks the sale's ledger to reserve this refund (never more than was sold or paid); over that it is stopped
 * for a person. What the ledger reserved is what the refund reverses.
 */
export async function claimFromLedger(run: RefundRun, sale: SaleFacts): Promise<Reservation> {
  const reserved = await reserve(run, sale);
  run.state.decision = reserved;
  run.state.lines = reserved.lines;
  return reserved;
}

async function reserve({ refund, state, ledger, needsAttention }: RefundRun, sale: SaleFacts): Promise<Reservation> {
  const ledgerId = refundLedgerWorkflowId(sale.saleKey);
  for (;;) {
    ledger.decision = undefined;
    await signalOrStart(
      ledgerId,
      claimRefundSignal,
      { sale, claim: { refundId: refund.receiptId, lines: state.lines, amount: refund.amount, replyTo: workflowInfo().workflowId } },
      'refundLedgerWorkflow',
      { args: [{ saleKey: sale.saleKey }], staticSummary: `Refunds of ${sale.kind === 'order' ? `order ${sale.orderId}` : `walk-in sale ${sale.saleKey}`}` },
    );
    if (!(await condition(() => ledger.decision !== undefined, LEDGER_ANSWER_MS))) {
      await needsAttention('ask the sale\'s ledger', `${ledgerId} did not answer`, `Check the workflow ${ledgerId}, then retry.`);
      continue;
    }
    const answer = ledger.decision!;
    if (answer.outcome === 'reserved') {
      ledger.reservedWith = ledgerId;
      return answer;
    }
    await needsAttention(
      'check the refund against the sale',
      `stopped: ${answer.reason}`,
      'Nothing was changed in Bitrix or ATOL. Check the refund at the terminal: if the money did go back, settle the difference by hand and resolve with a note; retry once the sale or its earlier refunds are corrected.',
    );
  }
}
