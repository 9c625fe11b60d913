import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { kopecksToRubles } from '../domain/money';
import { decideClaim, type LedgerDecision, type LedgerEntry, type LedgerView, type OrderSaleRecord, type RefundClaim, type SaleFacts } from '../domain/refund';
import { PosOrderId, PosReceiptId, PosStore } from '../domain/search-attributes';
import { orderCancellationWorkflowId } from '../domain/workflow-ids';

export interface RefundLedgerInput {
  saleKey: string;
  sale?: SaleFacts;
  entries?: LedgerEntry[];
  subscribers?: string[];
  /** The order's sale as its payment workflow recorded it on completion (outlives that workflow's retention). */
  orderSale?: OrderSaleRecord;
}

/** A refund asks to take back some of the sale; the answer comes back as `ledgerDecision` to `claim.replyTo`. */
export const claimRefundSignal = defineSignal<[{ sale: SaleFacts; claim: RefundClaim }]>('claimRefund');
export const ledgerDecisionSignal = defineSignal<[LedgerDecision]>('ledgerDecision');
/** A refund reversed everything it reserved (or a person closed it). */
export const refundCompletedSignal = defineSignal<[{ refundId: string }]>('refundCompleted');
/** Another workflow wants `ledgerChanged` now and after every change. */
export const subscribeLedgerSignal = defineSignal<[{ workflowId: string }]>('subscribe');
export const ledgerChangedSignal = defineSignal<[LedgerView]>('ledgerChanged');
/** The payment workflow of an order, on completion: what a refund needs to find the sale later. */
export const recordOrderSaleSignal = defineSignal<[OrderSaleRecord]>('recordOrderSale');
export const ledgerQuery = defineQuery<LedgerView & { sale?: SaleFacts; orderSale?: OrderSaleRecord }>('status');

const HISTORY_LIMIT = 5_000;

/**
 * One per sale (`refund-ledger:order:{orderId}` or `refund-ledger:walk-in:{store}:{receipt}`): the single
 * writer of what was refunded against the sale. Claims are decided one at a time, so two partial refunds
 * arriving together can never both pass when together they exceed what was sold or paid. It stays open
 * (idle, it costs nothing) so that a refund weeks later is still checked against all earlier ones.
 */
export async function refundLedgerWorkflow(input: RefundLedgerInput): Promise<never> {
  const { saleKey } = input;
  let sale = input.sale;
  const entries: LedgerEntry[] = [...(input.entries ?? [])];
  const subscribers = new Set<string>(input.subscribers ?? []);
  const outbox: { to: string; decision?: LedgerDecision; view?: boolean; quiet?: boolean }[] = [];
  let changed = false;
  let orderSale = input.orderSale;

  const view = (): LedgerView => {
    const refundedAmount = entries.reduce((s, e) => s + e.amount, 0);
    const completedAmount = entries.filter((e) => e.completed).reduce((s, e) => s + e.amount, 0);
    const last = sale && entries.length > 0 ? decideClaimView(sale, entries) : false;
    return { saleKey, paid: sale?.paid ?? 0, refundedAmount, completedAmount, fullyRefunded: last, refunds: entries.map((e) => ({ ...e })) };
  };

  setHandler(ledgerQuery, () => ({ ...view(), sale, orderSale }));
  setHandler(recordOrderSaleSignal, (record) => {
    // The first record stands (a retried activity sends the same one again).
    orderSale ??= record;
  });
  setHandler(claimRefundSignal, ({ sale: facts, claim }) => {
    if (!sale) {
      sale = facts;
      upsertSearchAttributes([
        ...(sale.orderId ? [{ key: PosOrderId, value: sale.orderId }] : []),
        { key: PosStore, value: sale.storeId },
        ...(sale.kind === 'walk-in' ? [{ key: PosReceiptId, value: saleKey.split(':').pop()! }] : []),
      ]);
    }
    const index = entries.findIndex((e) => e.refundId === claim.refundId);
    let decision: LedgerDecision;
    if (index >= 0) {
      // Asked again (a retry): the same answer as the first time.
      const entry = entries[index];
      decision = decideClaim(sale, entries.slice(0, index), { refundId: entry.refundId, lines: entry.lines, amount: entry.amount });
    } else {
      decision = decideClaim(sale, entries, claim);
      if (decision.outcome === 'reserved') {
        entries.push({ refundId: claim.refundId, lines: decision.lines, amount: claim.amount, completed: false });
        changed = true;
      }
      log.info('refund claim decided', { saleKey, refundId: claim.refundId, outcome: decision.outcome });
    }
    outbox.push({ to: claim.replyTo, decision });
  });
  setHandler(refundCompletedSignal, ({ refundId }) => {
    const entry = entries.find((e) => e.refundId === refundId);
    if (entry && !entry.completed) {
      entry.completed = true;
      changed = true;
    }
  });
  setHandler(subscribeLedgerSignal, ({ workflowId }) => {
    subscribers.add(workflowId);
    outbox.push({ to: workflowId, view: true });
  });

  const describe = () => {
    const v = view();
    const lines = [
      `**Refunds of ${sale?.kind === 'order' ? `order ${sale.orderId}` : `walk-in sale ${saleKey}`}**${sale ? ` at ${sale.storeId}` : ''}`,
      sale ? `Refunded ${kopecksToRubles(v.refundedAmount)} of ${kopecksToRubles(sale.paid)} ${sale.currency} paid (${kopecksToRubles(v.completedAmount)} fully reversed)` : 'No refund yet',
      ...entries.map((e) => `- refund ${e.refundId}: ${kopecksToRubles(e.amount)}, ${e.lines.map((l) => `${l.quantity} × product ${l.productId}`).join(', ')}${e.completed ? '' : ' (being reversed)'}`),
    ];
    setCurrentDetails(lines.join('\n\n'));
  };

  async function deliver(to: string, quiet: boolean, send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      if (!quiet) log.warn('could not tell a workflow about the ledger', { saleKey, to, error: (err as Error).message });
    }
  }

  for (;;) {
    describe();
    await condition(() => outbox.length > 0 || changed);
    const current = view();
    const batch = outbox.splice(0);
    if (changed) {
      changed = false;
      for (const to of subscribers) if (!batch.some((b) => b.to === to && b.view)) batch.push({ to, view: true });
      // A cancelled order's cancellation workflow waits for its refunds: told without subscribing, so a
      // refund that starts this ledger after the cancellation asked is never missed. Usually there is none.
      const cancellation = sale?.kind === 'order' && sale.orderId ? orderCancellationWorkflowId(sale.orderId) : undefined;
      if (cancellation && !batch.some((b) => b.to === cancellation && b.view)) batch.push({ to: cancellation, view: true, quiet: true });
    }
    await Promise.all(
      batch.map((b) =>
        deliver(b.to, Boolean(b.quiet), () =>
          b.decision
            ? getExternalWorkflowHandle(b.to).signal(ledgerDecisionSignal, b.decision)
            : getExternalWorkflowHandle(b.to).signal(ledgerChangedSignal, current),
        ),
      ),
    );
    if (workflowInfo().historyLength > HISTORY_LIMIT || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      // A claim that arrived meanwhile is answered first; its answer would not survive the new run.
      if (outbox.length === 0 && !changed) await continueAsNew<typeof refundLedgerWorkflow>({ saleKey, sale, entries, subscribers: [...subscribers], ...(orderSale ? { orderSale } : {}) });
    }
  }
}

/** Whether the entries refund everything the sale sold. */
function decideClaimView(sale: SaleFacts, entries: LedgerEntry[]): boolean {
  const last = entries[entries.length - 1];
  const decision = decideClaim(sale, entries.slice(0, -1), { refundId: last.refundId, lines: last.lines, amount: last.amount });
  return decision.outcome === 'reserved' && decision.fullyRefunded;
}
