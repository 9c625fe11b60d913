import { activityInfo, heartbeat } from '@temporalio/activity';
import { terminalReceiptIntake, type TerminalReceipt } from '../../intake/terminal-receipts';
import { type PosPaymentStatus } from '../../domain/payment';
import type { ReportItem } from '../../domain/reconciliation';
import type { CompanyAccounts } from '../../activities/shared/company-clients';
import { classifyErrors } from '../../activities/shared/activity-errors';
import { cloudReceipt, type CloudReceipt } from './documents';
import { posPaymentWorkflowId, refundWorkflowId, terminalReceiptWorkflowId } from '../../domain/workflow-ids';
import { correctionActNumber } from '../../domain/fiscal';
import { ReconciliationActivityDeps, ReconciledStore, OrderCandidate, TerminalPageOutcome, TerminalProgress, Workflows, ids, refusedItem } from './shared';

/** Activities on the Evotor task queue: terminal documents, page by page, compared with our workflows. */
export function createReconciliationTerminalActivities({ client, config, accounts, logger }: ReconciliationActivityDeps & { accounts: CompanyAccounts }) {
  // The doors' own intake: a document found here goes exactly where its webhook would have taken it.
  const take = terminalReceiptIntake(client, config, { concurrency: 1, onForeignOrder: 'hold' });

  return classifyErrors({
    /**
     * Reads up to `maxPages` pages of a store's SELL and PAYBACK documents closed in [from, to) (the first
     * page, or the one `cursor` points to) and compares each receipt with the workflows that should hold it.
     * Walk-in sales no workflow knows are handed to their receipt workflow (the Evotor door's own call);
     * payments for our orders are returned as candidates, to be checked against Bitrix first.
     */
    async reconcileTerminalDocuments(input: {
      store: ReconciledStore;
      from: string;
      to: string;
      /** Documents uploaded after this instant (ms) are left to their webhooks. */
      uploadedBefore: number;
      cursor?: string;
      maxPages: number;
    }): Promise<TerminalPageOutcome> {
      const { store } = input;
      const workflows = new Workflows(client);
      // A retried call resumes after the last page it finished: what it healed there stays in its report.
      const resumed = activityInfo().heartbeatDetails as TerminalProgress | undefined;
      const items: ReportItem[] = resumed?.items ?? [];
      const orderCandidates: OrderCandidate[] = resumed?.orderCandidates ?? [];
      let cursor = resumed ? resumed.cursor : input.cursor;
      let documents = resumed?.documents ?? 0;
      let requests = resumed?.requests ?? 0;
      for (let page = resumed?.pages ?? 0; page < input.maxPages && !(page > 0 && !cursor); page++) {
        const query = cursor ? { cursor } : { since: Date.parse(input.from), until: Date.parse(input.to), types: ['SELL', 'PAYBACK'] };
        // Each store's documents are read with the token of the Evotor account that holds it (its company's).
        const { items: docs, nextCursor } = await accounts.evotorOfTerminalStore(store.terminalStoreId).listDocumentsPage(store.terminalStoreId, query);
        requests++;
        documents += docs.length;
        const receipts = docs
          .map(cloudReceipt)
          .filter((r): r is CloudReceipt => r !== undefined && !(r.uploadedAtMs !== undefined && r.uploadedAtMs > input.uploadedBefore));
        await comparePage(receipts, store, workflows, items, orderCandidates);
        cursor = nextCursor;
        const progress: TerminalProgress = { pages: page + 1, cursor, documents, requests, items, orderCandidates };
        heartbeat(progress);
      }
      if (items.length) logger?.info({ storeId: store.storeId, items: items.length }, 'reconciliation: terminal divergences');
      return { cursor, orderCandidates, items, totals: { terminalDocuments: documents }, requests: { evotor: requests, temporal: workflows.calls + items.filter((i) => i.action === 'healed').length } };
    },
  });

  /** A receipt no workflow holds, handed to the doors' intake: reported healed, or refused with the reason (a duplicate says nothing). */
  async function handOver(
    r: CloudReceipt,
    storeId: string,
    items: ReportItem[],
    receipt: TerminalReceipt,
    cls: 'refund-not-reflected' | 'walk-in-not-recorded',
    found: string,
    done: (workflowId: string) => string,
  ): Promise<void> {
    const [outcome] = await take([receipt]);
    if (outcome.status === 'duplicate') return;
    if (outcome.status === 'rejected') {
      items.push(refusedItem(cls, receipt.payment.receiptId, outcome.reason, ids(r, storeId)));
      return;
    }
    items.push({ class: cls, key: receipt.payment.receiptId, action: 'healed', found, done: done(outcome.workflowId), workflowId: outcome.workflowId, ...ids(r, storeId) });
  }

  async function comparePage(receipts: CloudReceipt[], store: ReconciledStore, workflows: Workflows, items: ReportItem[], orderCandidates: OrderCandidate[]): Promise<void> {
    const receiptWorkflow = (r: CloudReceipt) => terminalReceiptWorkflowId(r.payment.terminalStoreId, r.payment.receiptId);
    const seen = await workflows.existing(
      receipts.flatMap((r) => [
        receiptWorkflow(r),
        ...(r.type === 'PAYBACK' ? [refundWorkflowId(r.payment.terminalStoreId, r.payment.receiptId)] : []),
        ...(r.type === 'SELL' && r.payment.orderId ? [posPaymentWorkflowId(r.payment.orderId)] : []),
      ]),
    );
    for (const r of receipts) {
      const { payment } = r;
      if (r.type === 'SELL' && store.fiscalMode === 'terminal' && !r.fiscalPrinted) {
        items.push({
          class: 'payment-without-fiscal-receipt',
          key: payment.receiptId,
          action: 'reported',
          found: 'the terminal\'s cloud document carries no fiscal data (the store fiscalizes on the terminal)',
          done: `Nothing was issued here: the store fiscalizes on the terminal, so the correction receipt must be made at the terminal (a sell correction on its fiscal drive, basis "self", by the seller's act — e.g. ${payment.orderId ? correctionActNumber(payment.orderId) : `POS-R-${payment.receiptId.slice(0, 8)}`}) once the receipt is confirmed missing at the OFD.`,
          correction: 'at-terminal',
          ...ids(r, store.storeId),
        });
      }
      // Any record of the receipt means a door handed it over (matched, queued, held for a person).
      if (seen.has(receiptWorkflow(r))) continue;
      if (r.type === 'PAYBACK') {
        if (seen.has(refundWorkflowId(payment.terminalStoreId, payment.receiptId))) continue;
        // The Evotor door's own call: the refund workflow finds the sale and reverses it in every system.
        await handOver(r, store.storeId, items, { payment, type: 'PAYBACK', lines: r.lines }, 'refund-not-reflected',
          `a refund of ${r.baseReceiptId ? `sale ${r.baseReceiptId}` : 'a sale'} at the terminal that no workflow holds (its webhook never came)`,
          (workflowId) => `refund handed to ${workflowId} (payment returned, stock back, refund receipt, as the sale needs)`);
        continue;
      }
      const orderId = payment.orderId;
      if (!orderId) {
        // Should it pay an awaiting order of a cloud-register store, that order's receipt is late: the order's
        // workflow issues a correction receipt for it (as for the order payments of bitrix.ts).
        const cloud = store.fiscalMode === 'atol' || store.fiscalMode === 'ferma';
        const found = cloud ? { ...payment, foundByReconciliationAt: new Date().toISOString() } : payment;
        await handOver(r, store.storeId, items, { payment: found, type: 'SELL', lines: r.lines }, 'walk-in-not-recorded',
          'a sale without our order id that no workflow holds (its webhook never came)',
          (workflowId) => `receipt handed to ${workflowId} (matched to an awaiting order${cloud ? ', which then gets a correction receipt' : ''}, or written off as a walk-in sale)`);
        continue;
      }
      const order = seen.get(posPaymentWorkflowId(orderId));
      if (!order) {
        orderCandidates.push({ orderId, storeId: store.storeId, fiscalMode: store.fiscalMode, payment, why: 'the order has no payment workflow' });
        continue;
      }
      let status: PosPaymentStatus | undefined;
      try {
        status = await workflows.paymentStatus(order);
      } catch (e) {
        logger?.warn({ orderId, err: (e as Error).message }, 'reconciliation: payment workflow not readable');
        continue;
      }
      if (!status) {
        orderCandidates.push({ orderId, storeId: store.storeId, fiscalMode: store.fiscalMode, payment, why: `the order's payment workflow ended ${order.status}` });
        continue;
      }
      if (!status.payments.some((p) => p.receiptId === payment.receiptId)) {
        orderCandidates.push({ orderId, storeId: store.storeId, fiscalMode: store.fiscalMode, payment, why: `the order's payment workflow (${status.stage}) does not hold this receipt` });
        continue;
      }
      if (order.closed && store.fiscalMode !== 'terminal' && !status.fiscal) {
        items.push({
          class: 'payment-without-fiscal-receipt',
          key: payment.receiptId,
          action: 'reported',
          found: `the order's payment workflow ended (${status.stage}${status.resolution ? `: ${status.resolution}` : ''}) without a fiscal receipt (fiscal mode ${store.fiscalMode})`,
          done:
            store.fiscalMode === '1c'
              ? `Check that 1C:Retail printed the receipt; if not, the correction receipt must be made in 1C:Retail (basis "self", act ${correctionActNumber(orderId)}).`
              : `Nothing was issued: issue a correction receipt (basis "self", act ${correctionActNumber(orderId)}) by hand in the ${store.fiscalMode === 'atol' ? 'ATOL Online' : 'OFD.ru Ferma'} account.`,
          ...(store.fiscalMode === '1c' ? { correction: 'in-1c' as const } : {}),
          workflowId: order.workflowId,
          ...ids(r, store.storeId),
        });
      }
    }
  }
}

export type ReconciliationTerminalActivities = ReturnType<typeof createReconciliationTerminalActivities>;
