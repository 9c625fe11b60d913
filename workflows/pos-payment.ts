import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { BitrixActivities, OrderContext } from '../activities/bitrix/activities';
import type { EvotorActivities } from '../activities/evotor/activities';
import type { FiscalAttributes } from '../domain/fiscal';
import { kopecksToRubles } from '../domain/money';
import {
  TASK_QUEUES,
  type PaymentStage,
  type PosPaymentInput,
  type PosPaymentResult,
  type PosPaymentStatus,
  type Problem,
  type TerminalPayment,
} from '../domain/payment';
import { fiscalSummary, terminalOrderPayload } from '../domain/terminal-payload';
import { PosFiscalMode, PosOrderId, PosStage, PosStageSince, PosStore, PosTerminal } from './search-attributes';

export const paymentReceivedSignal = defineSignal<[TerminalPayment]>('paymentReceived');
/** Bitrix saved the order (ONSALEORDERSAVED): look again, e.g. for a cancellation. */
export const orderSavedInBitrixSignal = defineSignal('orderSavedInBitrix');
export const statusQuery = defineQuery<PosPaymentStatus>('status');
export const cancelUpdate = defineUpdate<PosPaymentStatus, [{ reason: string }]>('cancel');
export const retryUpdate = defineUpdate<PosPaymentStatus, []>('retry');
export const resolveUpdate = defineUpdate<PosPaymentStatus, [{ note: string }]>('resolve');

// Retryable outside-system errors are retried for up to an hour; after that a person is asked (NEEDS_ATTENTION).
const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } as const;
const bitrix = proxyActivities<BitrixActivities>({
  taskQueue: TASK_QUEUES.bitrix,
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1h',
  retry,
});
const evotor = proxyActivities<EvotorActivities>({
  taskQueue: TASK_QUEUES.evotor,
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10m',
  retry,
});

/** Ends the workflow early with an outcome chosen by a person or by Bitrix. */
class Finish extends Error {
  constructor(readonly outcome: PosPaymentResult['outcome'], message: string) {
    super(message);
  }
}

const FISCAL_POLL_INITIAL_MS = 5_000;
const FISCAL_POLL_MAX_MS = 5 * 60_000;

export async function posPaymentWorkflow(input: PosPaymentInput): Promise<PosPaymentResult> {
  const { orderId } = input;
  const now = () => new Date(Date.now()).toISOString();
  const state: PosPaymentStatus = {
    orderId,
    stage: 'LOADING',
    stageSince: now(),
    paidAmount: 0,
    payments: [],
    alreadyPaidInBitrix: false,
    timeline: [],
  };
  const seenReceipts = new Set<string>();
  let bitrixSaves = 0;
  let requested: { kind: 'retry' } | { kind: 'resolve'; note: string } | { kind: 'cancel'; reason: string } | undefined;

  setHandler(statusQuery, () => state);
  setHandler(paymentReceivedSignal, (payment) => {
    // Signals are not deduplicated by the server: the receipt id is.
    if (seenReceipts.has(payment.receiptId)) return;
    seenReceipts.add(payment.receiptId);
    state.payments.push(payment);
    state.paidAmount += payment.amount;
    log.info('payment received', { orderId, receiptId: payment.receiptId, amount: payment.amount });
    describe();
  });
  setHandler(orderSavedInBitrixSignal, () => {
    bitrixSaves++;
  });
  setHandler(
    cancelUpdate,
    ({ reason }) => {
      requested = { kind: 'cancel', reason };
      return state;
    },
    {
      validator: (arg) => {
        if (!arg || typeof arg.reason !== 'string' || !arg.reason.trim()) throw new Error('reason: a non-empty text is required');
        if (isFinal(state.stage)) throw new Error(`the order's workflow has already ended (${state.stage})`);
        if (state.payments.length > 0) throw new Error('the order is already paid at the terminal: cancel it in Bitrix to start a refund');
      },
    },
  );
  setHandler(
    retryUpdate,
    () => {
      requested = { kind: 'retry' };
      return state;
    },
    {
      validator: () => {
        if (state.stage !== 'NEEDS_ATTENTION') throw new Error(`nothing to retry: the stage is ${state.stage}, not NEEDS_ATTENTION`);
      },
    },
  );
  setHandler(
    resolveUpdate,
    ({ note }) => {
      requested = { kind: 'resolve', note };
      return state;
    },
    {
      validator: (arg) => {
        if (!arg || typeof arg.note !== 'string' || !arg.note.trim()) throw new Error('note: a non-empty text is required');
        if (state.stage !== 'NEEDS_ATTENTION' && state.stage !== 'AWAITING_PAYMENT')
          throw new Error(`only an order in NEEDS_ATTENTION or AWAITING_PAYMENT can be resolved by hand (stage is ${state.stage})`);
      },
    },
  );

  function describe(): void {
    const lines = [
      `**Order ${state.accountNumber ?? orderId}** (Bitrix id ${orderId})${state.storeId ? ` at ${state.storeId}` : ''}`,
      `Stage: **${state.stage}** since ${state.stageSince}`,
    ];
    if (state.total !== undefined)
      lines.push(`Paid at terminal: ${kopecksToRubles(state.paidAmount)} of ${kopecksToRubles(state.total)} ${state.currency ?? ''}`.trim());
    if (state.waitingFor) lines.push(`Waiting for: ${state.waitingFor}${state.deadline ? ` (deadline ${state.deadline})` : ''}`);
    if (state.fiscal) lines.push(`Fiscal receipt: ${fiscalSummary(state.fiscal)}`);
    if (state.problem)
      lines.push(`Problem in "${state.problem.step}": ${state.problem.message}`, `What to do: ${state.problem.action}`);
    setCurrentDetails(lines.join('\n\n'));
  }

  function enter(stage: PaymentStage, waitingFor?: string, deadline?: string): void {
    state.stage = stage;
    state.stageSince = now();
    state.waitingFor = waitingFor;
    state.deadline = deadline;
    state.timeline.push({ stage, at: state.stageSince });
    upsertSearchAttributes([
      { key: PosStage, value: stage },
      { key: PosStageSince, value: new Date(Date.now()) },
    ]);
    describe();
  }

  /** Stops in NEEDS_ATTENTION until a person retries, resolves or cancels. */
  async function needsAttention(step: string, message: string, action: string): Promise<void> {
    const resumeStage = state.stage;
    const resumeWaiting = state.waitingFor;
    state.problem = { step, message, action, at: now() } satisfies Problem;
    log.warn('needs attention', { orderId, step, message });
    enter('NEEDS_ATTENTION', 'a person: retry, resolve or cancel');
    await condition(() => requested !== undefined);
    const action_ = requested!;
    requested = undefined;
    if (action_.kind === 'resolve') throw new Finish('RESOLVED_BY_HAND', action_.note);
    if (action_.kind === 'cancel') throw new Finish('CANCELLED', action_.reason);
    state.problem = undefined;
    enter(resumeStage, resumeWaiting);
  }

  /** Runs one step; an activity failure that retries could not fix becomes NEEDS_ATTENTION, then retry. */
  async function step<T>(name: string, action: string, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        const cause = err.cause;
        const message = cause instanceof ApplicationFailure || cause instanceof Error ? cause.message : err.message;
        await needsAttention(name, message, action);
      }
    }
  }

  async function loadContext(): Promise<Extract<OrderContext, { found: true }>> {
    for (;;) {
      const ctx = await step('load order', 'Check that Bitrix is reachable and BITRIX_REST_URL is right, then retry.', () =>
        bitrix.loadOrderContext(orderId),
      );
      if (ctx.found) return ctx;
      await needsAttention(
        'load order',
        `${ctx.reason} (order id ${orderId}); ${state.payments.length} terminal payment(s) are held here`,
        'Find the right order for the payment(s) in the status query; resolve with a note once handled by hand.',
      );
    }
  }

  try {
    upsertSearchAttributes([{ key: PosOrderId, value: orderId }]);
    enter('LOADING');
    let ctx = await loadContext();
    state.accountNumber = ctx.order.accountNumber;
    state.total = ctx.order.total;
    state.currency = ctx.order.currency;
    while (!ctx.posPayment || !ctx.store) {
      await needsAttention(
        'load order',
        !ctx.posPayment ? 'the order has no payment in a POS pay system' : (ctx.storeProblem ?? 'no pickup store'),
        !ctx.posPayment
          ? 'Check the order\'s pay system in Bitrix (POS_CONFIG bitrix.posPaySystemIds), then retry.'
          : 'Check the reservations of the order and the stores in POS_CONFIG, then retry.',
      );
      ctx = await loadContext();
    }
    const store = ctx.store!;
    const posPayment = ctx.posPayment!;
    state.storeId = store.id;
    state.fiscalMode = store.fiscalMode;
    state.terminal = store.evotorDeviceIds[0];
    upsertSearchAttributes([
      { key: PosStore, value: store.id },
      { key: PosFiscalMode, value: store.fiscalMode },
      ...(state.terminal ? [{ key: PosTerminal, value: state.terminal }] : []),
    ]);
    if (ctx.order.canceled && state.payments.length === 0) throw new Finish('CANCELLED', 'the order is cancelled in Bitrix');
    state.alreadyPaidInBitrix = posPayment.paid;

    if (!posPayment.paid) {
      await step('set awaiting-payment status', 'Check the status code in POS_CONFIG bitrix.statuses, then retry.', () =>
        bitrix.setOrderStatus({ orderId, statusId: ctx.statuses.awaitingPayment }),
      );
      const deadlineMs = Date.now() + ctx.paymentDeadlineMs;
      const deadline = new Date(deadlineMs).toISOString();
      try {
        await evotor.pushOrderToTerminal({
          deviceIds: store.evotorDeviceIds,
          payload: terminalOrderPayload({ ...ctx.order, buyer: {} }),
          activeTill: deadline,
        });
      } catch (err) {
        // Best effort: the cashier can find the order by its number.
        log.warn('push to terminal failed', { orderId, error: (err as Error).message });
      }
      enter('AWAITING_PAYMENT', `payment of ${kopecksToRubles(ctx.order.total)} ${ctx.order.currency} at the terminal`, deadline);
      let seenSaves = bitrixSaves;
      for (;;) {
        const remaining = deadlineMs - Date.now();
        const woke = await condition(
          () => state.paidAmount >= ctx.order.total || requested !== undefined || bitrixSaves !== seenSaves,
          Math.max(remaining, 1),
        );
        if (state.paidAmount >= ctx.order.total) break;
        if (requested?.kind === 'cancel') throw new Finish('CANCELLED', requested.reason);
        if (requested?.kind === 'resolve') throw new Finish('RESOLVED_BY_HAND', requested.note);
        if (!woke) {
          await step('cancel unpaid order', 'Cancel the order in Bitrix by hand, then resolve.', () =>
            bitrix.cancelOrder({ orderId, reason: `not paid at the pickup point by ${deadline}`, statusId: ctx.statuses.canceled }),
          );
          throw new Finish('CANCELLED', 'payment deadline passed');
        }
        if (bitrixSaves !== seenSaves) {
          seenSaves = bitrixSaves;
          const fresh = await loadContext();
          if (fresh.order.canceled && state.payments.length === 0) throw new Finish('CANCELLED', 'the order was cancelled in Bitrix');
          if (fresh.posPayment?.paid) {
            state.alreadyPaidInBitrix = true;
            break;
          }
        }
      }
      if (state.payments.length > 0) {
        const currencies = new Set(state.payments.map((p) => p.currency));
        if (state.paidAmount !== ctx.order.total || currencies.size !== 1 || !currencies.has(ctx.order.currency)) {
          await needsAttention(
            'check amount',
            `paid ${kopecksToRubles(state.paidAmount)} ${[...currencies].join('/')} for an order of ${kopecksToRubles(ctx.order.total)} ${ctx.order.currency}`,
            'Refund the difference at the terminal or correct the order, then retry or resolve with a note.',
          );
        }
      }
    }

    if (state.payments.length > 0 && store.fiscalMode === 'terminal') {
      const fiscalDeadlineMs = Date.now() + ctx.fiscalDeadlineMs;
      enter('FISCALIZING', 'fiscal data of the receipt from the Evotor cloud', new Date(fiscalDeadlineMs).toISOString());
      const receipt = state.payments[0];
      let delay = FISCAL_POLL_INITIAL_MS;
      for (;;) {
        const fiscal: FiscalAttributes | null = await step('read fiscal data', 'Check the Evotor cloud document of the receipt, then retry.', () =>
          evotor.fetchReceiptFiscalAttributes({ terminalStoreId: receipt.terminalStoreId, receiptId: receipt.receiptId }),
        );
        if (fiscal) {
          state.fiscal = fiscal;
          break;
        }
        if (Date.now() >= fiscalDeadlineMs) {
          await needsAttention(
            'read fiscal data',
            `the Evotor cloud has no fiscal data for receipt ${receipt.receiptId} after ${ctx.fiscalDeadlineMs / 60_000} min`,
            'Check that the terminal is online and printed the receipt; retry when the document is there.',
          );
          continue;
        }
        await sleep(Math.min(delay, Math.max(fiscalDeadlineMs - Date.now(), 1)));
        delay = Math.min(delay * 2, FISCAL_POLL_MAX_MS);
      }
    } else if (state.payments.length > 0) {
      await needsAttention(
        'fiscalize',
        `fiscal mode "${store.fiscalMode}" is not available in this version`,
        'Fiscalize the payment by hand, then resolve with the fiscal document number.',
      );
    }

    enter('CONFIRMING', 'Bitrix to record the payment');
    if (state.payments.length > 0) {
      const marked = await step('mark payment paid', 'Check the payment in Bitrix, then retry.', () =>
        bitrix.markPaymentPaid({
          orderId,
          paymentId: posPayment.id,
          paySystemId: posPayment.paySystemId,
          receiptIds: state.payments.map((p) => p.receiptId),
          paidAt: state.payments[state.payments.length - 1].paidAt,
          amount: state.paidAmount,
          currency: ctx.order.currency,
          fiscalMessage: state.fiscal ? fiscalSummary(state.fiscal) : undefined,
        }),
      );
      if (marked.outcome === 'paid-elsewhere') state.alreadyPaidInBitrix = true;
    }
    await step('set paid status', 'Check the status code in POS_CONFIG bitrix.statuses, then retry.', () =>
      bitrix.setOrderStatus({ orderId, statusId: ctx.statuses.paid }),
    );

    enter('DEDUCTING_STOCK', 'Bitrix to write the stock off');
    await step('deduct stock', 'Check stock at the pickup warehouse in Bitrix, then retry.', () => bitrix.deductOrderStock({ orderId }));

    enter('COMPLETED');
    return { ...state, outcome: 'COMPLETED' };
  } catch (err) {
    if (!(err instanceof Finish)) throw err;
    if (err.outcome === 'CANCELLED') enter('CANCELLED');
    else {
      state.problem = { step: 'resolved by hand', message: err.message, action: 'none', at: now() };
      enter('COMPLETED');
    }
    log.info('payment workflow finished', { orderId, outcome: err.outcome, reason: err.message });
    return { ...state, outcome: err.outcome };
  }
}

function isFinal(stage: PaymentStage): boolean {
  return stage === 'COMPLETED' || stage === 'CANCELLED';
}
