import { sleep } from '@temporalio/workflow';
import type { FiscalAttributes } from '../../domain/fiscal';
import { POLL_INITIAL_MS, POLL_MAX_MS, terminal } from './activities';
import type { FiscalDeadline } from './fiscalize';
import type { PaymentRun } from './run';

/** The terminal's own fiscal drive printed the receipt: its attributes are read from the receipt's cloud document (documents lag). */
export async function fiscalizeAtTerminal(run: PaymentRun, deadline: FiscalDeadline): Promise<FiscalAttributes> {
  run.enter('FISCALIZING', 'fiscal data of the receipt in the Evotor cloud', deadline.iso);
  const receipt = run.state.payments[0];
  for (let delay = POLL_INITIAL_MS; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
    const found = await run.step('read fiscal data', 'Check the Evotor cloud document of the receipt, then retry.', () =>
      terminal.fetchReceiptFiscalAttributes({ terminalKind: receipt.terminalKind, terminalStoreId: receipt.terminalStoreId, receiptId: receipt.receiptId }),
    );
    if (found) return found;
    if (Date.now() >= deadline.at) {
      await run.needsAttention(
        'read fiscal data',
        `the Evotor cloud has no fiscal data for receipt ${receipt.receiptId} after ${deadline.minutes} min`,
        'Check that the terminal is online and printed the receipt; retry when its document is in the Evotor cloud.',
      );
      continue;
    }
    await sleep(Math.min(delay, deadline.left()));
  }
}
