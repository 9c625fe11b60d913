import { condition } from '@temporalio/workflow';
import type { FiscalAttributes } from '../../domain/fiscal';
import type { FiscalDeadline } from './fiscalize';
import type { PaymentRun } from './run';

/** 1C:Retail printed the receipt: its confirmation comes through the middleware door (the confirmFiscal Update). */
export async function fiscalizeBy1c(run: PaymentRun, deadline: FiscalDeadline): Promise<FiscalAttributes> {
  const { events, waiting } = run;
  run.enter('FISCALIZING', 'a fiscal confirmation from 1C:Retail', deadline.iso);
  waiting.confirmation = true;
  for (;;) {
    if (await condition(() => events.confirmedBy1c !== undefined, deadline.left())) {
      waiting.confirmation = false;
      return events.confirmedBy1c!;
    }
    await run.needsAttention(
      'wait for 1C:Retail',
      `1C:Retail has not confirmed the fiscal receipt within ${deadline.minutes} min`,
      'Check the 1C:Retail middleware at the store; retry to wait again, or resolve once the receipt is printed.',
    );
  }
}
