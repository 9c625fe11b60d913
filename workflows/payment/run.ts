import { log, patched, setHandler } from '@temporalio/workflow';
import type { OrderContext, PickupStore } from '../../activities/bitrix/activities';
import type { FiscalAttributes } from '../../domain/fiscal';
import { kopecksToRubles } from '../../domain/money';
import { paymentBelongsToStore, type PaymentStage, type PosPaymentResult, type PosPaymentStatus, type TerminalPayment } from '../../domain/payment';
import { fiscalSummary } from '../../domain/terminal-payload';
import { Finish, nowIso, stages } from '../attention';
import { setSupportHandlers, stepRunner } from '../support-actions';
import {
  atolReportReadySignal,
  cancelUpdate,
  confirmFiscalUpdate,
  fiscalConfirmedSignal,
  fiscalReportHintUpdate,
  MAX_FISCAL_HINTS,
  orderSavedInBitrixSignal,
  paymentReceivedSignal,
  resolveUpdate,
  retryUpdate,
  statusQuery,
} from './messages';

export type LoadedOrder = Extract<OrderContext, { found: true }>;
/** An order ready to be paid: it has a POS payment and a pickup store. */
export type ReadyOrder = LoadedOrder & { posPayment: NonNullable<LoadedOrder['posPayment']>; store: PickupStore };

export type PaymentOutcome = PosPaymentResult['outcome'];

/** Cancelled after the money was taken: stop here, and reverse what was done once the terminal refunds it. */
export class Compensate extends Error {}

/** What a person or Bitrix asked of the order while it runs. */
export type PaymentRequest = { kind: 'retry' } | { kind: 'resolve'; note: string } | { kind: 'cancel'; reason: string };

/**
 * One order's payment run: its state (what the status query answers), what arrived from outside (payments,
 * Bitrix saves, fiscal confirmations and hints, support's requests), and the stage scaffolding. Every step of
 * workflows/pos-payment.ts works on it.
 */
export function startPaymentRun(orderId: string) {
  const state: PosPaymentStatus = {
    orderId,
    stage: 'LOADING',
    stageSince: nowIso(),
    paidAmount: 0,
    payments: [],
    alreadyPaidInBitrix: false,
    timeline: [],
  };
  const seenReceipts = new Set<string>();
  /** What came in from outside; the steps wait on these. */
  const events = {
    bitrixSaves: 0,
    /** Bitrix saves already looked at after payment. */
    checkedSaves: 0,
    reportHints: 0,
    confirmedBy1c: undefined as FiscalAttributes | undefined,
    requested: undefined as PaymentRequest | undefined,
  };
  /** What the fiscal step waits for right now (the hint and confirmation validators read it). */
  const waiting = { reportFrom: undefined as 'atol' | 'ferma' | undefined, hintPending: false, hintsTaken: 0, confirmation: false };
  let loaded: LoadedOrder | undefined;
  const paid = () => state.payments.length > 0 || state.alreadyPaidInBitrix;
  /** Payments through another store than the order's are not counted (patched: older runs counted every payment). */
  const storeScoped = patched('store-scoped-payments');
  const foreign = (payment: TerminalPayment) => storeScoped && loaded?.store !== undefined && !paymentBelongsToStore(payment, loaded.store);

  const { describe, enter, stopForPerson, noticesSent } = stages<PaymentStage, PosPaymentStatus>(state, () => {
    const head = [
      `**Order ${state.accountNumber ?? orderId}** (Bitrix id ${orderId})${state.storeId ? ` at ${state.storeId}` : ''}${state.fiscalMode ? `, fiscal mode ${state.fiscalMode}` : ''}`,
      `Stage: **${state.stage}** since ${state.stageSince}`,
    ];
    if (state.total !== undefined)
      head.push(`Paid at terminal: ${kopecksToRubles(state.paidAmount)} of ${kopecksToRubles(state.total)} ${state.currency ?? ''}`.trim());
    if (state.alreadyPaidInBitrix) head.push('Bitrix already showed the payment as paid (e.g. by the 1C exchange).');
    if (state.payments.some((p) => p.foundByReconciliationAt))
      head.push('A payment was found by reconciliation (its webhook never came): its receipt was not issued at the time, so a cloud register issues a correction receipt.');
    return { head, tail: state.fiscal ? [`Fiscal receipt: ${fiscalSummary(state.fiscal)}`] : [] };
  }, () => ({ subject: `Order ${state.accountNumber ?? orderId} (Bitrix id ${orderId})`, orderId, storeId: state.storeId }));

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
  setHandler(orderSavedInBitrixSignal, () => void events.bitrixSaves++);
  setHandler(atolReportReadySignal, () => void events.reportHints++);
  setHandler(fiscalConfirmedSignal, (attributes) => {
    events.confirmedBy1c ??= attributes;
  });
  setHandler(
    confirmFiscalUpdate,
    (attributes) => {
      if (events.confirmedBy1c) return 'duplicate' as const;
      events.confirmedBy1c = attributes;
      return 'accepted' as const;
    },
    {
      validator: (attributes) => {
        if (!attributes || typeof attributes.fnNumber !== 'string' || typeof attributes.fiscalDocumentNumber !== 'string' || typeof attributes.fiscalSign !== 'string')
          throw new Error('fiscal: fnNumber, fiscalDocumentNumber and fiscalSign are required');
        const confirmed = events.confirmedBy1c;
        if (confirmed) {
          const same = confirmed.fnNumber === attributes.fnNumber && confirmed.fiscalDocumentNumber === attributes.fiscalDocumentNumber && confirmed.fiscalSign === attributes.fiscalSign;
          if (!same) throw new Error(`order ${orderId} is already confirmed by another receipt (ФД ${confirmed.fiscalDocumentNumber})`);
          return;
        }
        if (!waiting.confirmation) throw new Error(`order ${orderId} is not waiting for a fiscal confirmation (stage ${state.stage})`);
      },
    },
  );
  setHandler(
    fiscalReportHintUpdate,
    () => {
      waiting.hintPending = true;
      waiting.hintsTaken++;
      events.reportHints++;
      return 'accepted' as const;
    },
    {
      validator: (register) => {
        if (register !== waiting.reportFrom) throw new Error(`not waiting for a ${register} report`);
        if (waiting.hintPending) throw new Error('a hint is already pending');
        if (waiting.hintsTaken >= MAX_FISCAL_HINTS) throw new Error('enough hints taken: the report is polled');
      },
    },
  );
  setHandler(
    cancelUpdate,
    ({ reason }) => {
      events.requested = { kind: 'cancel', reason };
      return state;
    },
    {
      validator: (arg) => {
        if (!arg || typeof arg.reason !== 'string' || !arg.reason.trim()) throw new Error('reason: a non-empty text is required');
        if (state.stage === 'COMPLETED' || state.stage === 'CANCELLED') throw new Error(`the order's workflow has already ended (${state.stage})`);
        // Money taken at our terminal is refunded there; a payment recorded elsewhere is not ours to refund.
        if (paid() && state.payments.length === 0) throw new Error('the order was paid outside the terminal (e.g. by the 1C exchange): cancel it in Bitrix');
      },
    },
  );
  setSupportHandlers({ retry: retryUpdate, resolve: resolveUpdate }, state, (r) => (events.requested = r), {
    resolveRefusal: (stage) =>
      stage === 'NEEDS_ATTENTION' || stage === 'AWAITING_PAYMENT'
        ? undefined
        : `only an order in NEEDS_ATTENTION or AWAITING_PAYMENT can be resolved by hand (stage is ${stage})`,
  });

  /** Stops in NEEDS_ATTENTION until a person retries (returns), resolves or cancels (throws Finish or Compensate). */
  async function needsAttention(step: string, message: string, action: string): Promise<void> {
    const decision = await stopForPerson({ step, message, action }, { waitingFor: 'a person: retry, resolve or cancel', log: { orderId }, decided: () => events.requested });
    events.requested = undefined;
    if (decision?.kind === 'resolve') throw new Finish<PaymentOutcome>('RESOLVED_BY_HAND', decision.note);
    if (decision?.kind === 'cancel') {
      if (state.payments.length > 0) throw new Compensate(decision.reason);
      throw new Finish<PaymentOutcome>('CANCELLED', decision.reason);
    }
  }

  return {
    orderId,
    state,
    events,
    waiting,
    storeScoped,
    foreign,
    paid,
    /** The order as last loaded from Bitrix. */
    get loaded() {
      return loaded;
    },
    set loaded(ctx: LoadedOrder | undefined) {
      loaded = ctx;
    },
    describe,
    enter,
    needsAttention,
    noticesSent,
    step: stepRunner(needsAttention),
  };
}

export type PaymentRun = ReturnType<typeof startPaymentRun>;
