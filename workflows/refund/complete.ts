import { getExternalWorkflowHandle, log } from '@temporalio/workflow';
import type { RefundResult } from '../../domain/refund';
import { Finish } from '../attention';
import { refundCompletedSignal } from '../refund-ledger';
import type { RefundRun } from './run';

/** Everything reversed: the sale's ledger is told (its reservation becomes a refund), and the refund is done. */
export async function complete(run: RefundRun): Promise<RefundResult> {
  await reportCompleted(run);
  run.enter('COMPLETED');
  return { ...run.state, outcome: 'COMPLETED' };
}

/** A person closed the refund with a note (Finish): the ledger is told all the same. Anything else is rethrown. */
export async function ended(run: RefundRun, err: unknown): Promise<RefundResult> {
  if (!(err instanceof Finish)) throw err;
  const { state, refund } = run;
  state.problem = undefined;
  state.resolution = err.message;
  await reportCompleted(run);
  run.enter('COMPLETED');
  log.info('refund closed by hand', { refundId: refund.receiptId });
  return { ...state, outcome: 'RESOLVED_BY_HAND' };
}

async function reportCompleted({ refund, ledger }: RefundRun): Promise<void> {
  if (!ledger.reservedWith) return;
  try {
    await getExternalWorkflowHandle(ledger.reservedWith).signal(refundCompletedSignal, { refundId: refund.receiptId });
  } catch (err) {
    log.warn('could not tell the ledger the refund is done', { refundId: refund.receiptId, error: (err as Error).message });
  }
}
