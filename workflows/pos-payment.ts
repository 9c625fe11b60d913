import { log } from '@temporalio/workflow';
import type { PosPaymentInput, PosPaymentResult } from '../domain/payment';
import { Finish } from './attention';
import { awaitPayment, checkAmount } from './payment/await-payment';
import { compensateAfterPayment, stopIfCancelled } from './payment/cancellation';
import { confirmInBitrix, deductStock, recordSaleForRefunds } from './payment/confirm';
import { fiscalize } from './payment/fiscalize';
import { loadOrder } from './payment/load';
import { Compensate, startPaymentRun, type PaymentOutcome, type PaymentRun } from './payment/run';

export * from './payment/messages';

/**
 * One order paid at its pickup point (`pos-payment:{orderId}`): load it from Bitrix, wait for the payment at
 * the store's terminal, check the amount, get the 54-FZ receipt, confirm the payment in Bitrix, take the stock
 * off the warehouse. Every wait has a deadline; whatever needs a person stops in NEEDS_ATTENTION (retry,
 * resolve or cancel); a cancellation after the money was taken asks the terminal for the refund (saga).
 * The steps live in workflows/payment/, one file each.
 */
export async function posPaymentWorkflow(input: PosPaymentInput): Promise<PosPaymentResult> {
  const run = startPaymentRun(input.orderId);
  const { state, events } = run;
  const paidAtTerminal = () => state.payments.length > 0;
  try {
    const order = await loadOrder(run);
    if (!order.posPayment.paid) await awaitPayment(run, order);
    await checkAmount(run, order.order);
    const savesAfterPayment = events.bitrixSaves;
    events.checkedSaves = savesAfterPayment;
    if (paidAtTerminal()) await stopIfCancelled(run, order.statuses);

    if (paidAtTerminal()) {
      state.fiscal = await fiscalize(run, order.store, order.fiscalDeadlineMs);
      run.describe();
      await stopIfCancelled(run, order.statuses);
    }

    await confirmInBitrix(run, order);
    if (paidAtTerminal()) await stopIfCancelled(run, order.statuses);

    await deductStock(run, order, savesAfterPayment);
    await recordSaleForRefunds(run);
    run.enter('COMPLETED');
    return { ...state, outcome: 'COMPLETED' };
  } catch (err) {
    return ended(run, err);
  } finally {
    await run.noticesSent();
  }
}

/** How the run ended early: a cancellation after payment becomes the refund saga; a person's or Bitrix's decision closes it. */
async function ended(run: PaymentRun, err: unknown): Promise<PosPaymentResult> {
  if (err instanceof Compensate) return compensateAfterPayment(run, err.message);
  if (!(err instanceof Finish)) throw err;
  const outcome = err.outcome as PaymentOutcome;
  run.state.problem = undefined;
  run.state.resolution = err.message;
  run.enter(outcome === 'CANCELLED' ? 'CANCELLED' : 'COMPLETED');
  log.info('payment workflow finished', { orderId: run.orderId, outcome });
  return { ...run.state, outcome };
}
