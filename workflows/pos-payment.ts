import {
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { BitrixActivities, OrderContext, PickupStore } from '../activities/bitrix/activities';
import type { TerminalActivities } from '../activities/terminals/activities';
import type { FermaActivities } from '../activities/ferma/activities';
import type { AtolActivities } from '../activities/atol/activities';
import type { RefundLookupActivities } from '../cross-system/refund-lookup';
import { cloudSellExternalId, type FiscalAttributes } from '../domain/fiscal';
import { kopecksToRubles } from '../domain/money';
import { paymentBelongsToStore, type PaymentStage, type PosPaymentInput, type PosPaymentResult, type PosPaymentStatus, type TerminalPayment } from '../domain/payment';
import { fiscalSummary, terminalOrderPayload } from '../domain/terminal-payload';
import { orderCancellationWorkflow } from './order-cancellation';
import { OUTSIDE_SYSTEM_RETRY, setSupportHandlers, stepRunner } from './support-actions';
import { PosFiscalMode, PosOrderId, PosOrderNumber, PosStage, PosStageSince, PosStore, PosTerminal, PosTotal } from '../domain/search-attributes';
import { TASK_QUEUES, orderCancellationWorkflowId, terminalReceiptWorkflowId } from '../domain/workflow-ids';

export const paymentReceivedSignal = defineSignal<[TerminalPayment]>('paymentReceived');
/** Bitrix saved the order (ONSALEORDERSAVED): look again, e.g. for a cancellation. */
export const orderSavedInBitrixSignal = defineSignal('orderSavedInBitrix');
/** 1C:Retail fiscalized the payment (fiscal mode "1c"), reported through the middleware door. */
export const fiscalConfirmedSignal = defineSignal<[FiscalAttributes]>('fiscalConfirmed');
/** ATOL called back: a hint that the report is ready (the report itself is always re-read). */
export const atolReportReadySignal = defineSignal('atolReportReady');
/**
 * 1C:Retail's fiscal attributes (the middleware door): taken only while the order waits for them; the same
 * receipt again is "duplicate", a different one is refused by the validator (nothing enters the history).
 */
export const confirmFiscalUpdate = defineUpdate<'accepted' | 'duplicate', [FiscalAttributes]>('confirmFiscal');
/**
 * A cloud register's unsigned callback (ATOL, Ferma): a hint to read the report now. The validator takes it
 * only while the order waits for that register's report, one at a time and at most MAX_FISCAL_HINTS per
 * order — a refused Update writes nothing, so a flood of callbacks cannot grow the history.
 */
export const fiscalReportHintUpdate = defineUpdate<'accepted', ['atol' | 'ferma']>('fiscalReportHint');
export const MAX_FISCAL_HINTS = 5;
export const statusQuery = defineQuery<PosPaymentStatus>('status');
export const cancelUpdate = defineUpdate<PosPaymentStatus, [{ reason: string }]>('cancel');
export const retryUpdate = defineUpdate<PosPaymentStatus, []>('retry');
export const resolveUpdate = defineUpdate<PosPaymentStatus, [{ note: string }]>('resolve');

// Retryable outside-system errors are retried for up to an hour; after that a person is asked (NEEDS_ATTENTION).
const retry = OUTSIDE_SYSTEM_RETRY;
const bitrix = proxyActivities<BitrixActivities>({ taskQueue: TASK_QUEUES.bitrix, startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry });
const terminal = proxyActivities<TerminalActivities>({ taskQueue: TASK_QUEUES.evotor, startToCloseTimeout: '30s', scheduleToCloseTimeout: '10m', retry });
// A push cannot be looked up before it is sent again, so it is sent at most once: best effort, never doubled.
const terminalPush = proxyActivities<TerminalActivities>({ taskQueue: TASK_QUEUES.evotor, startToCloseTimeout: '30s', retry: { maximumAttempts: 1 } });
const fiscal = proxyActivities<AtolActivities>({ taskQueue: TASK_QUEUES.fiscal, startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry });
const ferma = proxyActivities<FermaActivities>({ taskQueue: TASK_QUEUES.fiscal, startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry });
const saleRecords = proxyActivities<Pick<RefundLookupActivities, 'recordOrderSale'>>({ taskQueue: TASK_QUEUES.workflows, startToCloseTimeout: '30s', scheduleToCloseTimeout: '1h', retry });

/** Ends the workflow early with an outcome chosen by a person or by Bitrix. */
class Finish extends Error {
  constructor(readonly outcome: PosPaymentResult['outcome'], message: string) {
    super(message);
  }
}

/** Cancelled after the money was taken: stop here, and reverse what was done once the terminal refunds it. */
class Compensate extends Error {}

/** Cancellation after payment asks the terminal for a refund and reverses what was done (saga) instead of stopping. */
const REFUND_ON_CANCEL = 'refund-on-cancel-after-payment';
/** On completion the sale is recorded into the order's refund ledger, which outlives this workflow's retention. */
const RECORD_SALE_FOR_REFUNDS = 'record-sale-for-refunds';

const POLL_INITIAL_MS = 2_000;
const POLL_MAX_MS = 60_000;

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
  let atolHints = 0;
  let confirmedBy1c: FiscalAttributes | undefined;
  let loaded: Extract<OrderContext, { found: true }> | undefined;
  let checkedSaves = 0;
  let requested: { kind: 'retry' } | { kind: 'resolve'; note: string } | { kind: 'cancel'; reason: string } | undefined;
  const paid = () => state.payments.length > 0 || state.alreadyPaidInBitrix;
  /** Payments through another store than the order's are not counted (patched: older runs counted every payment). */
  const storeScoped = patched('store-scoped-payments');
  let awaitingReportFrom: 'atol' | 'ferma' | undefined;
  let hintPending = false;
  let hintsTaken = 0;
  let awaiting1c = false;
  const foreign = (payment: TerminalPayment) => storeScoped && loaded?.store !== undefined && !paymentBelongsToStore(payment, loaded.store);

  setHandler(statusQuery, () => state);
  setHandler(paymentReceivedSignal, (payment) => {
    // Signals are not deduplicated by the server: the receipt id is.
    if (seenReceipts.has(payment.receiptId)) return;
    seenReceipts.add(payment.receiptId);
    if (foreign(payment)) {
      (state.foreignPayments ??= []).push(payment);
      log.warn('payment through another store refused', { orderId, receiptId: payment.receiptId });
      describe();
      return;
    }
    state.payments.push(payment);
    state.paidAmount += payment.amount;
    log.info('payment received', { orderId, receiptId: payment.receiptId, amount: payment.amount });
    describe();
  });
  setHandler(orderSavedInBitrixSignal, () => void bitrixSaves++);
  setHandler(atolReportReadySignal, () => void atolHints++);
  setHandler(fiscalConfirmedSignal, (attributes) => {
    confirmedBy1c ??= attributes;
  });
  setHandler(
    confirmFiscalUpdate,
    (attributes) => {
      if (confirmedBy1c) return 'duplicate' as const;
      confirmedBy1c = attributes;
      return 'accepted' as const;
    },
    {
      validator: (attributes) => {
        if (!attributes || typeof attributes.fnNumber !== 'string' || typeof attributes.fiscalDocumentNumber !== 'string' || typeof attributes.fiscalSign !== 'string')
          throw new Error('fiscal: fnNumber, fiscalDocumentNumber and fiscalSign are required');
        if (confirmedBy1c) {
          const same = confirmedBy1c.fnNumber === attributes.fnNumber && confirmedBy1c.fiscalDocumentNumber === attributes.fiscalDocumentNumber && confirmedBy1c.fiscalSign === attributes.fiscalSign;
          if (!same) throw new Error(`order ${orderId} is already confirmed by another receipt (ФД ${confirmedBy1c.fiscalDocumentNumber})`);
          return;
        }
        if (!awaiting1c) throw new Error(`order ${orderId} is not waiting for a fiscal confirmation (stage ${state.stage})`);
      },
    },
  );
  setHandler(
    fiscalReportHintUpdate,
    () => {
      hintPending = true;
      hintsTaken++;
      atolHints++;
      return 'accepted' as const;
    },
    {
      validator: (register) => {
        if (register !== awaitingReportFrom) throw new Error(`not waiting for a ${register} report`);
        if (hintPending) throw new Error('a hint is already pending');
        if (hintsTaken >= MAX_FISCAL_HINTS) throw new Error('enough hints taken: the report is polled');
      },
    },
  );
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
        // Money taken at our terminal is refunded there; a payment recorded elsewhere is not ours to refund.
        if (paid() && state.payments.length === 0) throw new Error('the order was paid outside the terminal (e.g. by the 1C exchange): cancel it in Bitrix');
      },
    },
  );
  setSupportHandlers({ retry: retryUpdate, resolve: resolveUpdate }, state, (r) => (requested = r), {
    resolveRefusal: (stage) =>
      stage === 'NEEDS_ATTENTION' || stage === 'AWAITING_PAYMENT'
        ? undefined
        : `only an order in NEEDS_ATTENTION or AWAITING_PAYMENT can be resolved by hand (stage is ${stage})`,
  });

  function describe(): void {
    const lines = [
      `**Order ${state.accountNumber ?? orderId}** (Bitrix id ${orderId})${state.storeId ? ` at ${state.storeId}` : ''}${state.fiscalMode ? `, fiscal mode ${state.fiscalMode}` : ''}`,
      `Stage: **${state.stage}** since ${state.stageSince}`,
    ];
    if (state.total !== undefined)
      lines.push(`Paid at terminal: ${kopecksToRubles(state.paidAmount)} of ${kopecksToRubles(state.total)} ${state.currency ?? ''}`.trim());
    if (state.alreadyPaidInBitrix) lines.push('Bitrix already showed the payment as paid (e.g. by the 1C exchange).');
    if (state.waitingFor) lines.push(`Waiting for: ${state.waitingFor}${state.deadline ? ` (deadline ${state.deadline})` : ''}`);
    if (state.fiscal) lines.push(`Fiscal receipt: ${fiscalSummary(state.fiscal)}`);
    if (state.problem) lines.push(`Problem in "${state.problem.step}": ${state.problem.message}`, `What to do: ${state.problem.action}`);
    if (state.resolution) lines.push(`Closed: ${state.resolution}`);
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

  /** Stops in NEEDS_ATTENTION until a person retries (returns), resolves or cancels (throws Finish). */
  async function needsAttention(step: string, message: string, action: string): Promise<void> {
    const resume = { stage: state.stage, waitingFor: state.waitingFor, deadline: state.deadline };
    state.problem = { step, message, action, at: now() };
    log.warn('needs attention', { orderId, step, message });
    enter('NEEDS_ATTENTION', 'a person: retry, resolve or cancel');
    await condition(() => requested !== undefined);
    const decision = requested!;
    requested = undefined;
    if (decision.kind === 'resolve') throw new Finish('RESOLVED_BY_HAND', decision.note);
    if (decision.kind === 'cancel') {
      if (state.payments.length > 0) throw new Compensate(decision.reason);
      throw new Finish('CANCELLED', decision.reason);
    }
    state.problem = undefined;
    enter(resume.stage, resume.waitingFor, resume.deadline);
  }

  const step = stepRunner(needsAttention);

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

  /** Waits for the terminal payment(s) until the deadline; handles cancellation and payment seen in Bitrix. */
  async function awaitPayment(ctx: Extract<OrderContext, { found: true }>, store: PickupStore): Promise<void> {
    await step('set awaiting-payment status', 'Check the status code in POS_CONFIG bitrix.statuses, then retry.', () =>
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
    enter('AWAITING_PAYMENT', `payment of ${kopecksToRubles(ctx.order.total)} ${ctx.order.currency} at the terminal`, deadline);
    let seenSaves = bitrixSaves;
    for (;;) {
      const woke = await condition(
        () => state.paidAmount >= ctx.order.total || requested !== undefined || bitrixSaves !== seenSaves,
        Math.max(deadlineMs - Date.now(), 1),
      );
      if (state.paidAmount >= ctx.order.total) return;
      if (requested?.kind === 'cancel') {
        const { reason } = requested;
        if (state.payments.length > 0) throw new Compensate(reason);
        await step('cancel order in Bitrix', 'Cancel the order in Bitrix by hand, then resolve.', () =>
          bitrix.cancelOrder({ orderId, reason: `cancelled by support: ${reason}`, statusId: ctx.statuses.canceled }),
        );
        throw new Finish('CANCELLED', reason);
      }
      if (requested?.kind === 'resolve') throw new Finish('RESOLVED_BY_HAND', requested.note);
      if (!woke) {
        if (state.payments.length > 0) {
          await needsAttention(
            'check amount',
            `only ${kopecksToRubles(state.paidAmount)} of ${kopecksToRubles(ctx.order.total)} ${ctx.order.currency} was paid by the deadline`,
            'Take the rest at the terminal or refund what was paid, then resolve with a note.',
          );
          continue;
        }
        await step('cancel unpaid order', 'Cancel the order in Bitrix by hand, then resolve.', () =>
          bitrix.cancelOrder({ orderId, reason: `not paid at the pickup point by ${deadline}`, statusId: ctx.statuses.canceled }),
        );
        throw new Finish('CANCELLED', 'payment deadline passed');
      }
      seenSaves = bitrixSaves;
      const fresh = await loadContext();
      if (fresh.order.canceled && state.payments.length === 0) throw new Finish('CANCELLED', 'the order was cancelled in Bitrix');
      if (fresh.posPayment?.paid) {
        state.alreadyPaidInBitrix = true;
        describe();
        return;
      }
    }
  }

  async function checkAmount(total: number, currency: string): Promise<void> {
    if (state.payments.length === 0) return;
    const currencies = new Set(state.payments.map((p) => p.currency));
    if (state.paidAmount === total && currencies.size === 1 && currencies.has(currency)) return;
    await needsAttention(
      'check amount',
      `paid ${kopecksToRubles(state.paidAmount)} ${[...currencies].join('/')} in ${state.payments.length} payment(s) for an order of ${kopecksToRubles(total)} ${currency}`,
      'Refund the difference at the terminal or correct the order, then retry or resolve with a note.',
    );
  }

  /**
   * Between the steps after payment: a cancellation (by support, or in Bitrix: the order cancelled or set to
   * the "cancel requested" status) stops the flow here — the steps not done yet are never started.
   */
  async function stopIfCancelled(statuses: Extract<OrderContext, { found: true }>['statuses']): Promise<void> {
    if (!patched(REFUND_ON_CANCEL)) return;
    if (requested?.kind === 'cancel') throw new Compensate(requested.reason);
    if (bitrixSaves === checkedSaves) return;
    checkedSaves = bitrixSaves;
    const fresh = await loadContext();
    if (fresh.order.canceled) throw new Compensate('the order was cancelled in Bitrix after it was paid at the terminal');
    if (statuses.cancelRequested && fresh.order.statusId === statuses.cancelRequested)
      throw new Compensate(`the order was set to "${statuses.cancelRequested}" (cancel requested) in Bitrix after it was paid at the terminal`);
  }

  /**
   * The saga's compensation: the terminal must give the money back first (it is the only one who can), so
   * `order-cancellation:{orderId}` asks for the refund and waits for it; each PAYBACK's refund workflow then
   * reverses what this workflow did (stock, payment, status, fiscal receipt), in the reverse order.
   */
  async function compensateAfterPayment(reason: string): Promise<PosPaymentResult> {
    state.problem = undefined;
    log.info('cancelled after payment: refund requested at the terminal', { orderId });
    enter('AWAITING_REFUND', `the refund of ${kopecksToRubles(state.paidAmount)} at the terminal (workflow ${orderCancellationWorkflowId(orderId)})`);
    const result = await executeChild(orderCancellationWorkflow, {
      workflowId: orderCancellationWorkflowId(orderId),
      taskQueue: TASK_QUEUES.workflows,
      args: [
        {
          orderId,
          reason,
          requestedBy: 'payment-workflow',
          paidAmount: state.paidAmount,
          currency: state.currency,
          accountNumber: state.accountNumber,
          storeId: state.storeId,
          deviceIds: loaded?.store?.evotorDeviceIds,
          paybackDeadlineMs: loaded?.paybackDeadlineMs,
        },
      ],
      // The refund is awaited even if this workflow is terminated by hand.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `Refund of cancelled paid order ${orderId} at the terminal`,
    });
    state.resolution = result.outcome === 'REFUNDED' ? `cancelled after payment (${reason}); ${result.resolution ?? 'refunded'}` : result.resolution;
    enter(result.outcome === 'REFUNDED' ? 'CANCELLED' : 'COMPLETED');
    const outcome = result.outcome === 'REFUNDED' ? 'CANCELLED' : 'RESOLVED_BY_HAND';
    log.info('payment workflow finished', { orderId, outcome });
    return { ...state, outcome };
  }

  /**
   * A payment taken at another store's terminal never pays this order: each is kept in its own receipt
   * workflow in NEEDS_ATTENTION for a person (nothing was changed in Bitrix or at a register for it).
   */
  async function holdForeignPayments(store: PickupStore): Promise<void> {
    for (let i = 0; ; i++) {
      await condition(() => (state.foreignPayments?.length ?? 0) > i);
      const payment = state.foreignPayments![i];
      try {
        await startChild('terminalReceiptWorkflow', {
          workflowId: terminalReceiptWorkflowId(payment.terminalStoreId, payment.receiptId),
          taskQueue: TASK_QUEUES.workflows,
          args: [{ payment, receiptType: 'SELL', lines: [], heldReason: `it names order ${orderId}, which belongs to store ${store.id}: an order is paid only through its own store` }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          staticSummary: `SELL receipt ${payment.receiptId} from terminal ${payment.deviceId} (another store's order)`,
        });
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      }
    }
  }

  /**
   * A refund finds its sale through this workflow, which vanishes when the namespace's retention has passed
   * after it closed: the sale's facts go into the order's ledger, which stays open. Best effort — while this
   * workflow is kept, refunds read it directly; a record that could not be written is logged, not a failure.
   */
  async function recordSaleForRefunds(): Promise<void> {
    try {
      await saleRecords.recordOrderSale({
        orderId,
        accountNumber: state.accountNumber,
        storeId: state.storeId,
        stage: 'COMPLETED',
        paidAmount: state.paidAmount,
        currency: state.currency,
        payments: state.payments.map((p) => ({ receiptId: p.receiptId, paidAt: p.paidAt })),
        fiscal: state.fiscal,
        recordedAt: now(),
      });
    } catch (err) {
      log.warn('could not record the sale in its refund ledger', { orderId, error: (err as Error).message });
    }
  }

  /** Gets the 54-FZ receipt's fiscal attributes by the store's fiscal mode. */
  async function fiscalize(store: PickupStore, fiscalDeadlineMs: number): Promise<FiscalAttributes> {
    const deadlineAt = Date.now() + fiscalDeadlineMs;
    const deadline = new Date(deadlineAt).toISOString();
    const minutes = Math.round(fiscalDeadlineMs / 60_000);
    const untilDeadline = () => Math.max(deadlineAt - Date.now(), 1);

    if (store.fiscalMode === 'terminal') {
      enter('FISCALIZING', 'fiscal data of the receipt in the Evotor cloud', deadline);
      const receipt = state.payments[0];
      for (let delay = POLL_INITIAL_MS; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
        const found = await step('read fiscal data', 'Check the Evotor cloud document of the receipt, then retry.', () =>
          terminal.fetchReceiptFiscalAttributes({ terminalKind: receipt.terminalKind, terminalStoreId: receipt.terminalStoreId, receiptId: receipt.receiptId }),
        );
        if (found) return found;
        if (Date.now() >= deadlineAt) {
          await needsAttention(
            'read fiscal data',
            `the Evotor cloud has no fiscal data for receipt ${receipt.receiptId} after ${minutes} min`,
            'Check that the terminal is online and printed the receipt; retry when its document is in the Evotor cloud.',
          );
          continue;
        }
        await sleep(Math.min(delay, untilDeadline()));
      }
    }

    if (store.fiscalMode === '1c') {
      enter('FISCALIZING', 'a fiscal confirmation from 1C:Retail', deadline);
      awaiting1c = true;
      for (;;) {
        if (await condition(() => confirmedBy1c !== undefined, untilDeadline())) {
          awaiting1c = false;
          return confirmedBy1c!;
        }
        await needsAttention(
          'wait for 1C:Retail',
          `1C:Retail has not confirmed the fiscal receipt within ${minutes} min`,
          'Check the 1C:Retail middleware at the store; retry to wait again, or resolve once the receipt is printed.',
        );
      }
    }

    // A cloud register (ATOL Online or OFD.ru Ferma): register under a deterministic id, then poll its status.
    const cloud =
      store.fiscalMode === 'ferma'
        ? {
            name: 'Ferma',
            register: (id: string) => ferma.registerFermaReceipt({ orderId, storeId: store.id, invoiceId: id, receiptTime: now() }).then((r) => r.receiptId),
            report: (handle: string) => ferma.getFermaReceiptStatus({ receiptId: handle }),
          }
        : {
            name: 'ATOL',
            register: (id: string) => fiscal.registerAtolSell({ orderId, storeId: store.id, externalId: id, receiptTime: now() }).then((r) => r.uuid),
            report: (handle: string) => fiscal.getAtolReport({ uuid: handle }),
          };
    for (let attempt = 1; ; attempt++) {
      const externalId = cloudSellExternalId(orderId, attempt);
      enter('FISCALIZING', `${cloud.name === 'ATOL' ? 'ATOL Online' : 'OFD.ru Ferma'} receipt ${externalId}`, deadline);
      const uuid = await step(`send receipt to ${cloud.name}`, `Check ${cloud.name} credentials and the order data named in the error, then retry.`, () =>
        cloud.register(externalId),
      );
      for (let delay = POLL_INITIAL_MS; ; ) {
        const report = await step(`read ${cloud.name} report`, `Check that ${cloud.name} is reachable, then retry.`, () => cloud.report(uuid));
        if (report.status === 'done' && report.fiscal) return report.fiscal;
        if (report.status === 'fail') {
          await needsAttention(
            `${cloud.name} receipt`,
            `${cloud.name} failed receipt ${externalId}: ${report.error ?? 'no reason given'}`,
            `Fix the cause (${cloud.name} settings, the order's data), then retry: a new receipt is sent.`,
          );
          break;
        }
        if (Date.now() >= deadlineAt) {
          await needsAttention(
            `read ${cloud.name} report`,
            `${cloud.name} has not processed receipt ${externalId} (id ${uuid}) within ${minutes} min`,
            `Check the receipt in the ${cloud.name} account; retry to keep waiting for the same receipt.`,
          );
          continue;
        }
        const hints = atolHints;
        awaitingReportFrom = cloud.name === 'ATOL' ? 'atol' : 'ferma';
        await condition(() => atolHints !== hints, Math.min(delay, untilDeadline()));
        awaitingReportFrom = undefined;
        hintPending = false;
        delay = Math.min(delay * 2, POLL_MAX_MS);
      }
    }
  }

  try {
    upsertSearchAttributes([{ key: PosOrderId, value: orderId }]);
    enter('LOADING', 'the order from Bitrix');
    let ctx = await loadContext();
    while (!ctx.posPayment || !ctx.store) {
      await needsAttention(
        'load order',
        !ctx.posPayment ? 'the order has no payment in a POS pay system' : (ctx.storeProblem ?? 'no pickup store'),
        !ctx.posPayment
          ? "Check the order's pay system in Bitrix (POS_CONFIG bitrix.posPaySystemIds), then retry."
          : 'Check the reservations of the order and the stores in POS_CONFIG, then retry.',
      );
      ctx = await loadContext();
    }
    loaded = ctx;
    if (storeScoped) {
      const own = state.payments.filter((p) => !foreign(p));
      const others = state.payments.filter((p) => foreign(p));
      if (others.length > 0) {
        state.payments = own;
        state.paidAmount = own.reduce((sum, p) => sum + p.amount, 0);
        (state.foreignPayments ??= []).push(...others);
      }
      void holdForeignPayments(ctx.store!);
    }
    const order = ctx.order;
    const store = ctx.store!;
    const posPayment = ctx.posPayment!;
    Object.assign(state, {
      accountNumber: order.accountNumber,
      total: order.total,
      currency: order.currency,
      storeId: store.id,
      fiscalMode: store.fiscalMode,
      terminal: store.evotorDeviceIds[0],
      alreadyPaidInBitrix: posPayment.paid,
    });
    upsertSearchAttributes([
      { key: PosOrderNumber, value: order.accountNumber },
      { key: PosTotal, value: order.total },
      { key: PosStore, value: store.id },
      { key: PosFiscalMode, value: store.fiscalMode },
      ...(state.terminal ? [{ key: PosTerminal, value: state.terminal }] : []),
    ]);
    if (order.canceled && !paid()) throw new Finish('CANCELLED', 'the order is cancelled in Bitrix');

    if (!posPayment.paid) await awaitPayment(ctx, store);
    await checkAmount(order.total, order.currency);
    const savesAfterPayment = bitrixSaves;
    checkedSaves = savesAfterPayment;
    if (state.payments.length > 0) await stopIfCancelled(ctx.statuses);

    if (state.payments.length > 0) {
      state.fiscal = await fiscalize(store, ctx.fiscalDeadlineMs);
      describe();
      await stopIfCancelled(ctx.statuses);
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
          currency: order.currency,
          fiscalMessage: state.fiscal ? fiscalSummary(state.fiscal) : undefined,
        }),
      );
      // Paid by someone else too (1C exchange, a manager): recorded, never marked twice.
      if (marked.outcome === 'paid-elsewhere') state.alreadyPaidInBitrix = true;
    }
    await step('set paid status', 'Check the status code in POS_CONFIG bitrix.statuses, then retry.', () =>
      bitrix.setOrderStatus({ orderId, statusId: ctx.statuses.paid }),
    );
    if (ctx.paidDealStageId) {
      const stageId = ctx.paidDealStageId;
      await step('move CRM deal', 'Check the deal stage id in POS_CONFIG bitrix.crm, then retry.', () =>
        bitrix.moveOrderDealsToStage({ orderId, stageId }),
      );
    }

    if (state.payments.length > 0) await stopIfCancelled(ctx.statuses);

    enter('DEDUCTING_STOCK', 'Bitrix to write the stock off');
    await step('deduct stock', 'Check stock at the pickup warehouse in Bitrix, then retry.', () => bitrix.deductOrderStock({ orderId }));

    if (state.payments.length > 0 && patched(REFUND_ON_CANCEL)) await stopIfCancelled(ctx.statuses);
    else if (bitrixSaves !== savesAfterPayment) {
      const fresh = await loadContext();
      if (fresh.order.canceled)
        await needsAttention(
          'order cancelled after payment',
          'the order was cancelled in Bitrix after it was paid at the terminal',
          'Refund the payment at the terminal (the card is needed for card payments), then resolve with a note.',
        );
    }
    if (state.payments.length > 0 && patched(RECORD_SALE_FOR_REFUNDS)) await recordSaleForRefunds();
    enter('COMPLETED');
    return { ...state, outcome: 'COMPLETED' };
  } catch (err) {
    if (err instanceof Compensate) return compensateAfterPayment(err.message);
    if (!(err instanceof Finish)) throw err;
    state.problem = undefined;
    state.resolution = err.message;
    enter(err.outcome === 'CANCELLED' ? 'CANCELLED' : 'COMPLETED');
    log.info('payment workflow finished', { orderId, outcome: err.outcome });
    return { ...state, outcome: err.outcome };
  }
}

function isFinal(stage: PaymentStage): boolean {
  return stage === 'COMPLETED' || stage === 'CANCELLED';
}
