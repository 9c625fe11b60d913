import {
  condition,
  defineQuery,
  defineUpdate,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BitrixActivities } from '../activities/bitrix/activities';
import type { RefundEvotorActivities } from '../activities/evotor/refund';
import { kopecksToRubles } from '../domain/money';
import { type CancellationStage, type LedgerView, type OrderCancellationInput, type OrderCancellationResult, type OrderCancellationStatus } from '../domain/refund';
import { ledgerChangedSignal, subscribeLedgerSignal } from './refund-ledger';
import { PosOrderId, PosOrderNumber, PosStore } from '../domain/search-attributes';
import { Finish, nowIso, stages } from './attention';
import { OUTSIDE_SYSTEM_RETRY, setSupportHandlers, stepRunner, type SupportRequest } from './support-actions';
import { TASK_QUEUES, orderSaleKey, refundLedgerWorkflowId } from '../domain/workflow-ids';

export const cancellationStatusQuery = defineQuery<OrderCancellationStatus>('status');
export const retryCancellationUpdate = defineUpdate<OrderCancellationStatus, []>('retry');
export const resolveCancellationUpdate = defineUpdate<OrderCancellationStatus, [{ note: string }]>('resolve');

const bitrix = proxyActivities<BitrixActivities>({
  taskQueue: TASK_QUEUES.bitrix,
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1h',
  retry: OUTSIDE_SYSTEM_RETRY,
});
// A push cannot be looked up before it is sent again, so it is sent at most once: best effort, never doubled.
const evotorPush = proxyActivities<RefundEvotorActivities>({ taskQueue: TASK_QUEUES.evotor, startToCloseTimeout: '30s', retry: { maximumAttempts: 1 } });

const DEFAULT_PAYBACK_DEADLINE_MS = 3 * 24 * 60 * 60_000;

/**
 * A paid order is cancelled (in Bitrix, by support, or in the middle of its payment): the money must go
 * back at the terminal — a card refund needs the card there, a cash refund is recorded by the cashier.
 * `order-cancellation:{orderId}` asks the store's terminals for the refund and waits, with a deadline, until
 * the order's refunds (PAYBACK receipts, each reversed by its refund workflow) add up to what was paid;
 * past the deadline a person is asked. It learns about refunds from the order's refund ledger.
 */
export async function orderCancellationWorkflow(input: OrderCancellationInput & { paybackDeadlineMs?: number }): Promise<OrderCancellationResult> {
  const { orderId } = input;
  const state: OrderCancellationStatus = { orderId, reason: input.reason, stage: 'AWAITING_REFUND', stageSince: nowIso(), paidAmount: input.paidAmount, refundedAmount: 0, refunds: [] };
  let ledger: LedgerView | undefined;
  let requested: SupportRequest | undefined;
  let currency = input.currency ?? 'RUB';
  let accountNumber = input.accountNumber;
  let storeId = input.storeId;

  const { describe, enter, stopForPerson, noticesSent } = stages<CancellationStage, OrderCancellationStatus>(state, () => ({
    head: [
      `**Cancellation of paid order ${accountNumber ?? orderId}** (Bitrix id ${orderId}): ${input.reason}`,
      `Stage: **${state.stage}** since ${state.stageSince}`,
      state.paidAmount !== undefined
        ? `Refunded at the terminal: ${kopecksToRubles(state.refundedAmount)} of ${kopecksToRubles(state.paidAmount)} ${currency}`
        : 'Paid amount: not known yet',
      ...state.refunds.map((r) => `- refund ${r.refundId}: ${kopecksToRubles(r.amount)}${r.completed ? '' : ' (being reversed)'}`),
    ],
  }), () => ({ subject: `Cancellation of paid order ${accountNumber ?? orderId} (Bitrix id ${orderId})`, orderId, storeId }));

  setHandler(cancellationStatusQuery, () => state);
  setHandler(ledgerChangedSignal, (view) => {
    ledger = view;
    state.refunds = view.refunds;
    state.refundedAmount = view.completedAmount;
    describe();
  });
  setSupportHandlers({ retry: retryCancellationUpdate, resolve: resolveCancellationUpdate }, state, (r) => (requested = r), {
    resolveRefusal: (stage) => (stage === 'COMPLETED' ? 'the cancellation has already ended' : undefined),
  });

  const refunded = () => ledger?.completedAmount ?? 0;
  const settled = () => state.paidAmount !== undefined && refunded() >= state.paidAmount;

  /** NEEDS_ATTENTION until a person retries (returns), resolves (throws Finish), or the refunds arrive after all. */
  async function needsAttention(step: string, message: string, action: string): Promise<void> {
    const decided = await stopForPerson({ step, message, action }, {
      waitingFor: 'a person: retry or resolve',
      log: { orderId },
      decided: () => requested,
      also: settled,
      resume: false,
    });
    requested = undefined;
    if (decided?.kind === 'resolve') throw new Finish('RESOLVED_BY_HAND', decided.note);
  }
  const step = stepRunner(needsAttention);

  try {
    upsertSearchAttributes([
      { key: PosOrderId, value: orderId },
      ...(accountNumber ? [{ key: PosOrderNumber, value: accountNumber }] : []),
      ...(input.storeId ? [{ key: PosStore, value: input.storeId }] : []),
    ]);
    enter('AWAITING_REFUND', 'the order from Bitrix');
    let deviceIds = input.deviceIds;
    let deadlineMs = input.paybackDeadlineMs;
    if (state.paidAmount === undefined || deviceIds === undefined || deadlineMs === undefined) {
      for (;;) {
        const ctx = await step('load order', 'Check that Bitrix is reachable, then retry.', () => bitrix.loadOrderContext(orderId));
        if (!ctx.found) {
          await needsAttention('load order', ctx.reason, 'Refund the payment at the terminal by hand, then resolve with a note.');
          continue;
        }
        state.paidAmount ??= ctx.posPayment?.paid ? ctx.posPayment.sum : 0;
        deviceIds ??= ctx.store?.evotorDeviceIds ?? [];
        deadlineMs ??= ctx.paybackDeadlineMs;
        currency = ctx.order.currency;
        accountNumber ??= ctx.order.accountNumber;
        storeId ??= ctx.store?.id;
        upsertSearchAttributes([
          { key: PosOrderNumber, value: ctx.order.accountNumber },
          ...(ctx.store ? [{ key: PosStore, value: ctx.store.id }] : []),
        ]);
        break;
      }
    }
    const paid = state.paidAmount ?? 0;
    const waitMs = deadlineMs ?? DEFAULT_PAYBACK_DEADLINE_MS;

    // Refunds made before this cancellation count too: the order's ledger answers with what it holds.
    try {
      await getExternalWorkflowHandle(refundLedgerWorkflowId(orderSaleKey(orderId))).signal(subscribeLedgerSignal, { workflowId: workflowInfo().workflowId });
    } catch {
      // No refund of the order yet; its ledger tells this workflow when one comes.
    }

    let deadlineAt = Date.now() + waitMs;
    if (paid > 0) {
      try {
        await evotorPush.pushRefundRequest({ deviceIds: deviceIds ?? [], orderId, accountNumber, amount: paid, currency, activeTill: new Date(deadlineAt).toISOString() });
      } catch (err) {
        log.warn('refund request push failed; the cashier can find the order by its number', { orderId, error: (err as Error).message });
      }
    }
    while (paid > 0 && !settled()) {
      const deadline = new Date(deadlineAt).toISOString();
      enter(
        'AWAITING_REFUND',
        `the refund of ${kopecksToRubles(paid - refunded())} ${currency} at the terminal (a card refund needs the buyer's card; a cash refund is recorded by the cashier)`,
        deadline,
      );
      await condition(() => settled() || requested !== undefined, Math.max(deadlineAt - Date.now(), 1));
      if (settled()) break;
      if (requested?.kind === 'resolve') throw new Finish('RESOLVED_BY_HAND', requested.note);
      requested = undefined;
      if (Date.now() < deadlineAt) continue;
      await needsAttention(
        'wait for the refund at the terminal',
        `no refund of the remaining ${kopecksToRubles(paid - refunded())} ${currency} was made at the terminal by ${deadline}`,
        'Have the cashier refund the order at the terminal (card: the buyer brings the card; cash: the cashier records the refund), then retry to wait again; or resolve with a note if it was settled another way.',
      );
      deadlineAt = Date.now() + waitMs;
    }
    state.resolution = paid > 0 ? `refunded ${kopecksToRubles(refunded())} ${currency} at the terminal` : 'nothing was paid at the terminal';
    enter('COMPLETED');
    return { ...state, outcome: 'REFUNDED' };
  } catch (err) {
    if (!(err instanceof Finish)) throw err;
    state.problem = undefined;
    state.resolution = err.message;
    enter('COMPLETED');
    return { ...state, outcome: 'RESOLVED_BY_HAND' };
  } finally {
    await noticesSent();
  }
}
