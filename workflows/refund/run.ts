import { setHandler, sleep } from '@temporalio/workflow';
import { kopecksToRubles } from '../../domain/money';
import type { LedgerDecision, RefundInput, RefundStage, RefundStatus } from '../../domain/refund';
import { fiscalSummary } from '../../domain/terminal-payload';
import { Finish, nowIso, stages } from '../attention';
import { ledgerDecisionSignal } from '../refund-ledger';
import { setSupportHandlers, stepRunner, type SupportRequest } from '../support-actions';
import { refundStatusQuery, resolveRefundUpdate, retryRefundUpdate } from './messages';

/** Polls (the refund's cloud document, the sale's workflow): from 1 s, doubling, at most 15 s apart. */
export const POLL_INITIAL_MS = 1_000;
const POLL_MAX_MS = 15_000;

/**
 * One refund's run: its state (what the status query answers), what arrived from outside (the ledger's
 * decision, support's requests), and the stage scaffolding. Every step of workflows/refund.ts works on it.
 */
export function startRefundRun(input: RefundInput) {
  const { refund } = input;
  const state: RefundStatus = {
    refundId: refund.receiptId,
    terminalStoreId: refund.terminalStoreId,
    stage: 'LOCATING_SALE',
    stageSince: nowIso(),
    amount: refund.amount,
    currency: refund.currency,
    refundedAt: refund.paidAt,
    storeId: input.storeId,
    lines: [],
    done: [],
    timeline: [],
  };
  let requested: SupportRequest | undefined;
  /** What came in from outside, and the ledger this refund reserved with; the steps read and set these. */
  const ledger = {
    /** The sale's ledger's answer to this refund's claim. */
    decision: undefined as LedgerDecision | undefined,
    /** The ledger that holds this refund's reservation (told when the refund is done). */
    reservedWith: undefined as string | undefined,
  };

  setHandler(refundStatusQuery, () => state);
  setHandler(ledgerDecisionSignal, (d) => {
    if (d.refundId === refund.receiptId) ledger.decision = d;
  });
  setSupportHandlers({ retry: retryRefundUpdate, resolve: resolveRefundUpdate }, state, (r) => (requested = r), {
    resolveRefusal: (stage) => (stage === 'NEEDS_ATTENTION' ? undefined : `only a refund in NEEDS_ATTENTION can be resolved by hand (stage is ${stage})`),
  });

  const { describe, enter, stopForPerson, noticesSent } = stages<RefundStage, RefundStatus>(state, () => {
    const sale = state.sale?.kind === 'order'
      ? `order ${state.sale.accountNumber ?? state.sale.orderId} (Bitrix id ${state.sale.orderId})`
      : state.sale?.kind === 'walk-in'
        ? `walk-in sale ${state.saleReceiptId}`
        : state.saleReceiptId
          ? `receipt ${state.saleReceiptId}`
          : 'not known yet';
    const head = [
      `**Refund ${refund.receiptId}** of ${kopecksToRubles(refund.amount)} ${refund.currency} at terminal ${refund.deviceId}${state.storeId ? ` (${state.storeId})` : ''}, ${refund.paidAt}`,
      `Sale refunded: ${sale}`,
      `Stage: **${state.stage}** since ${state.stageSince}`,
    ];
    if (state.lines.length) head.push(`Goods: ${state.lines.map((l) => `${l.quantity} × product ${l.productId}`).join(', ')}`);
    if (state.decision)
      head.push(
        `Refunded of this sale so far: ${kopecksToRubles(state.decision.refundedAmount)} of ${kopecksToRubles(state.decision.paid)} paid` +
          (state.decision.wholeSale ? ' (this refund takes back the whole sale)' : state.decision.fullyRefunded ? ' (everything sold is now refunded)' : ''),
      );
    if (state.done.length) head.push(`Done:\n${state.done.map((d) => `- ${d}`).join('\n')}`);
    return { head, tail: state.fiscal ? [`Fiscal refund receipt: ${fiscalSummary(state.fiscal)}`] : [] };
  }, () => ({
    subject: `Refund ${refund.receiptId} of ${kopecksToRubles(refund.amount)} ${refund.currency}${state.sale?.kind === 'order' ? ` (order ${state.sale.accountNumber ?? state.sale.orderId})` : ''}`,
    orderId: state.sale?.kind === 'order' ? state.sale.orderId : undefined,
    storeId: state.storeId,
  }));

  /** Stops in NEEDS_ATTENTION until a person retries (returns) or resolves (throws Finish). */
  async function needsAttention(stepName: string, message: string, action: string): Promise<void> {
    const decided = await stopForPerson({ step: stepName, message, action }, {
      waitingFor: 'a person: retry or resolve',
      log: { refundId: refund.receiptId },
      decided: () => requested,
    });
    requested = undefined;
    if (decided?.kind === 'resolve') throw new Finish('RESOLVED_BY_HAND', decided.note);
  }

  /** Asks `probe` with growing pauses until it has an answer; past the deadline a person is asked, and retry waits again. */
  async function waitFor<T>(what: string, stepName: string, action: string, deadlineMs: number, probe: () => Promise<{ value: T } | { pending: string }>): Promise<T> {
    let deadlineAt = Date.now() + deadlineMs;
    for (let delay = POLL_INITIAL_MS; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
      const answer = await probe();
      if ('value' in answer) {
        state.waitingFor = undefined;
        state.deadline = undefined;
        return answer.value;
      }
      if (Date.now() >= deadlineAt) {
        await needsAttention(stepName, `${answer.pending} (waited ${Math.round(deadlineMs / 60_000)} min)`, action);
        deadlineAt = Date.now() + deadlineMs;
        delay = POLL_INITIAL_MS;
        continue;
      }
      state.waitingFor = `${what}: ${answer.pending}`;
      state.deadline = new Date(deadlineAt).toISOString();
      describe();
      await sleep(Math.min(delay, Math.max(deadlineAt - Date.now(), 1)));
    }
  }

  return {
    input,
    refund,
    state,
    ledger,
    describe,
    enter,
    needsAttention,
    noticesSent,
    step: stepRunner(needsAttention),
    waitFor,
  };
}

export type RefundRun = ReturnType<typeof startRefundRun>;
