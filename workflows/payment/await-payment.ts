import { condition, log } from '@temporalio/workflow';
import { kopecksToRubles } from '../../domain/money';
import { terminalOrderPayload } from '../../domain/terminal-payload';
import { Finish } from '../attention';
import { bitrix, terminalPush } from './activities';
import { loadContext } from './load';
import { Compensate, type PaymentOutcome, type PaymentRun, type ReadyOrder } from './run';

/**
 * AWAITING_PAYMENT: the order's status set in Bitrix, the order offered to the store's terminals, then the
 * terminal payment(s) awaited until the deadline — or a cancellation, or the payment seen in Bitrix.
 */
export async function awaitPayment(run: PaymentRun, ctx: ReadyOrder): Promise<void> {
  const { orderId, state, events } = run;
  const { store } = ctx;
  await run.step('set awaiting-payment status', 'Check the status code in POS_CONFIG bitrix.statuses, then retry.', () =>
    bitrix.setOrderStatus({ orderId, statusId: ctx.statuses.awaitingPayment }),
  );
  const deadlineMs = Date.now() + ctx.paymentDeadlineMs;
  const deadline = new Date(deadlineMs).toISOString();
  try {
    // The push expires by itself at the deadline (Evotor cannot withdraw a push).
    await terminalPush.pushOrderToTerminal({ storeId: store.id, deviceIds: store.evotorDeviceIds, payload: terminalOrderPayload({ ...ctx.order, buyer: {} }), activeTill: deadline });
  } catch (err) {
    log.warn('push to terminal failed; the cashier can find the order by its number', { orderId, error: (err as Error).message });
  }
  run.enter('AWAITING_PAYMENT', `payment of ${kopecksToRubles(ctx.order.total)} ${ctx.order.currency} at the terminal`, deadline);
  let seenSaves = events.bitrixSaves;
  for (;;) {
    const woke = await condition(
      () => state.paidAmount >= ctx.order.total || events.requested !== undefined || events.bitrixSaves !== seenSaves,
      Math.max(deadlineMs - Date.now(), 1),
    );
    if (state.paidAmount >= ctx.order.total) return;
    const requested = events.requested;
    if (requested?.kind === 'cancel') {
      const { reason } = requested;
      if (state.payments.length > 0) throw new Compensate(reason);
      await run.step('cancel order in Bitrix', 'Cancel the order in Bitrix by hand, then resolve.', () =>
        bitrix.cancelOrder({ orderId, reason: `cancelled by support: ${reason}`, statusId: ctx.statuses.canceled }),
      );
      throw new Finish<PaymentOutcome>('CANCELLED', reason);
    }
    if (requested?.kind === 'resolve') throw new Finish<PaymentOutcome>('RESOLVED_BY_HAND', requested.note);
    if (!woke) {
      if (state.payments.length > 0) {
        await run.needsAttention(
          'check amount',
          `only ${kopecksToRubles(state.paidAmount)} of ${kopecksToRubles(ctx.order.total)} ${ctx.order.currency} was paid by the deadline`,
          'Take the rest at the terminal or refund what was paid, then resolve with a note.',
        );
        continue;
      }
      await run.step('cancel unpaid order', 'Cancel the order in Bitrix by hand, then resolve.', () =>
        bitrix.cancelOrder({ orderId, reason: `not paid at the pickup point by ${deadline}`, statusId: ctx.statuses.canceled }),
      );
      throw new Finish<PaymentOutcome>('CANCELLED', 'payment deadline passed');
    }
    seenSaves = events.bitrixSaves;
    const fresh = await loadContext(run);
    if (fresh.order.canceled && state.payments.length === 0) throw new Finish<PaymentOutcome>('CANCELLED', 'the order was cancelled in Bitrix');
    if (fresh.posPayment?.paid) {
      state.alreadyPaidInBitrix = true;
      run.describe();
      return;
    }
  }
}

/** What was paid at the terminal must be exactly the order's total, in its currency. */
export async function checkAmount(run: PaymentRun, order: { total: number; currency: string }): Promise<void> {
  const { state } = run;
  if (state.payments.length === 0) return;
  const currencies = new Set(state.payments.map((p) => p.currency));
  if (state.paidAmount === order.total && currencies.size === 1 && currencies.has(order.currency)) return;
  await run.needsAttention(
    'check amount',
    `paid ${kopecksToRubles(state.paidAmount)} ${[...currencies].join('/')} in ${state.payments.length} payment(s) for an order of ${kopecksToRubles(order.total)} ${order.currency}`,
    'Refund the difference at the terminal or correct the order, then retry or resolve with a note.',
  );
}
