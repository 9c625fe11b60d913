import type { PickupStore } from '../../activities/bitrix/activities';
import type { FiscalAttributes } from '../../domain/fiscal';
import { fiscalizeByCloudRegister } from './fiscalize-cloud';
import { fiscalizeBy1c } from './fiscalize-1c';
import { fiscalizeAtTerminal } from './fiscalize-terminal';
import type { PaymentRun } from './run';

/** The fiscal step's deadline, as each mode shows and checks it. */
export interface FiscalDeadline {
  at: number;
  iso: string;
  minutes: number;
  /** Time left, at least 1 ms (a timer of 0 would not wait). */
  left(): number;
}

/** FISCALIZING: the 54-FZ receipt's fiscal attributes, by the store's fiscal mode (one file per mode). */
export async function fiscalize(run: PaymentRun, store: PickupStore, fiscalDeadlineMs: number): Promise<FiscalAttributes> {
  const at = Date.now() + fiscalDeadlineMs;
  const deadline: FiscalDeadline = { at, iso: new Date(at).toISOString(), minutes: Math.round(fiscalDeadlineMs / 60_000), left: () => Math.max(at - Date.now(), 1) };
  if (store.fiscalMode === 'terminal') return fiscalizeAtTerminal(run, deadline);
  if (store.fiscalMode === '1c') return fiscalizeBy1c(run, deadline);
  return fiscalizeByCloudRegister(run, store, deadline);
}
