import { activityInfo, heartbeat } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { bitrixOrderEventIntake } from '../../intake/receipts';
import { terminalReceiptIntake } from '../../intake/terminal-receipts';
import type { Kopecks } from '../../domain/money';
import { type PosPaymentResult, type PosPaymentStatus, type TerminalPayment } from '../../domain/payment';
import type { ReportItem, PageOutcome } from '../../domain/reconciliation';
import { durationMs, type PosConfig, type StoreConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { statusQuery } from '../../workflows/pos-payment';
import { parseResult, type BitrixClient, type BitrixPayment } from '../bitrix/client';
import { orderListResultSchema, paymentListResultSchema } from '../bitrix/schemas';
import type { EvotorCloudClient } from '../evotor/client';
import { classifyErrors } from '../shared/activity-errors';
import { ExternalServiceError } from '../shared/errors';
import { cloudReceipt, type CloudReceipt } from './documents';
import { orderEventsWorkflowId, posPaymentWorkflowId, refundWorkflowId, terminalReceiptWorkflowId } from '../../domain/workflow-ids';

export interface ReconciliationActivityDeps {
  client: Client;
  config: PosConfig;
  logger?: Logger;
}

/** A store whose terminal documents are read (Evotor stores only: middleware terminals have nothing to read). */
export interface ReconciledStore {
  storeId: string;
  terminalStoreId: string;
  fiscalMode: StoreConfig['fiscalMode'];
}

export interface StageLimit {
  stage: string;
  limitMs: number;
}

export interface ReconciliationPlan {
  stores: ReconciledStore[];
  settleMs: number;
  maxItems: number;
  stageLimits: StageLimit[];
}

/** A terminal payment for one of our orders that no workflow holds: Bitrix is read before it is handed over. */
export interface OrderCandidate {
  orderId: string;
  storeId: string;
  fiscalMode: StoreConfig['fiscalMode'];
  payment: TerminalPayment;
  /** Why no workflow holds it, for the report. */
  why: string;
}

export type TerminalPageOutcome = PageOutcome & { cursor?: string; orderCandidates: OrderCandidate[] };

interface TerminalProgress {
  pages: number;
  cursor?: string;
  documents: number;
  requests: number;
  items: ReportItem[];
  orderCandidates: OrderCandidate[];
}
export type BitrixPageOutcome = PageOutcome & { nextStart?: number };

const quote = (value: string) => `"${value.replace(/["\\]/g, '')}"`;
const chunks = <T>(list: T[], size: number): T[][] => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
const DEFAULT_SETTLE = '5m';
const DEFAULT_MAX_ITEMS = 1000;
/** Workflow ids per visibility query (`WorkflowId IN (...)`). */
const IDS_PER_QUERY = 100;
/** Bitrix list pages (50 rows each) fetched by one `batch` request. */
export const BITRIX_PAGES_PER_REQUEST = 10;
const BITRIX_PAGE = 50;

interface Seen {
  workflowId: string;
  runId: string;
  status: string;
  closed: boolean;
}

/** Reads our own workflows: visibility for the bulk, describe/query/result where a decision depends on it. */
class Workflows {
  calls = 0;
  constructor(private readonly client: Client) {}

  /** Which of these workflow ids exist (any run; a running run wins over closed ones). */
  async existing(ids: string[]): Promise<Map<string, Seen>> {
    const out = new Map<string, Seen>();
    for (const part of chunks([...new Set(ids)], IDS_PER_QUERY)) {
      this.calls++;
      for await (const wf of this.client.workflow.list({ query: `WorkflowId IN (${part.map(quote).join(', ')})`, pageSize: 1000 })) {
        const seen: Seen = { workflowId: wf.workflowId, runId: wf.runId, status: wf.status.name, closed: wf.status.name !== 'RUNNING' };
        // Newest run first; a running run wins over any closed one.
        const before = out.get(wf.workflowId);
        if (!before || (before.closed && !seen.closed)) out.set(wf.workflowId, seen);
      }
    }
    return out;
  }

  /** Order ids that a terminal-receipt workflow matched a receipt to (PosOrderId is set when it paid an order). */
  async ordersWithMatchedReceipts(orderIds: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const part of chunks([...new Set(orderIds)], IDS_PER_QUERY)) {
      this.calls++;
      const query = `WorkflowType = "terminalReceiptWorkflow" AND PosOrderId IN (${part.map(quote).join(', ')})`;
      for await (const wf of this.client.workflow.list({ query, pageSize: 1000 })) {
        const id = wf.typedSearchAttributes.getAll().find((p) => p.key.name === 'PosOrderId')?.value;
        if (typeof id === 'string') out.add(id);
      }
    }
    return out;
  }

  async describe(workflowId: string): Promise<WorkflowExecutionDescription | undefined> {
    this.calls++;
    try {
      return await this.client.workflow.getHandle(workflowId).describe();
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    }
  }

  /** The payment workflow's status: queried while it runs, its result once it completed; undefined otherwise. */
  async paymentStatus(seen: Pick<Seen, 'workflowId' | 'runId' | 'status'>): Promise<PosPaymentStatus | undefined> {
    this.calls++;
    if (seen.status === 'RUNNING') return this.client.workflow.getHandle(seen.workflowId, seen.runId).query(statusQuery);
    if (seen.status !== 'COMPLETED') return undefined;
    return (await this.client.workflow.getHandle(seen.workflowId, seen.runId, { followRuns: false }).result()) as PosPaymentResult;
  }

  /**
   * Whether a workflow already holds this terminal payment, read from the source of truth (visibility can
   * lag a webhook that arrived a moment ago): the receipt's own workflow, or the order's payment workflow.
   */
  async holdsReceipt(payment: TerminalPayment, orderId: string): Promise<boolean> {
    if (await this.describe(terminalReceiptWorkflowId(payment.terminalStoreId, payment.receiptId))) return true;
    const order = await this.describe(posPaymentWorkflowId(orderId));
    if (!order) return false;
    const status = await this.paymentStatus({ workflowId: order.workflowId, runId: order.runId, status: order.status.name });
    return Boolean(status?.payments.some((p) => p.receiptId === payment.receiptId));
  }
}

const ids = (r: CloudReceipt, storeId: string) => ({
  receiptId: r.payment.receiptId,
  terminalStoreId: r.payment.terminalStoreId,
  storeId,
  terminalAmount: r.payment.amount,
  at: r.payment.paidAt,
  ...(r.payment.orderId ? { orderId: r.payment.orderId } : {}),
});

/** Activities on the Evotor task queue: terminal documents, page by page, compared with our workflows. */
export function createReconciliationTerminalActivities({ client, config, evotor, logger }: ReconciliationActivityDeps & { evotor: EvotorCloudClient }) {
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
        const { items: docs, nextCursor } = await evotor.listDocumentsPage(store.terminalStoreId, query);
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
          done: 'Check the terminal\'s fiscal drive and the receipt at the OFD; print a correction receipt if none was issued.',
          ...ids(r, store.storeId),
        });
      }
      // Any record of the receipt means a door handed it over (matched, queued, held for a person).
      if (seen.has(receiptWorkflow(r))) continue;
      if (r.type === 'PAYBACK') {
        if (seen.has(refundWorkflowId(payment.terminalStoreId, payment.receiptId))) continue;
        // The Evotor door's own call: the refund workflow finds the sale and reverses it in every system.
        const [outcome] = await take([{ payment, type: 'PAYBACK', lines: r.lines }]);
        if (outcome.status === 'duplicate') continue;
        if (outcome.status === 'rejected') {
          items.push(refusedItem('refund-not-reflected', payment.receiptId, outcome.reason, ids(r, store.storeId)));
          continue;
        }
        items.push({
          class: 'refund-not-reflected',
          key: payment.receiptId,
          action: 'healed',
          found: `a refund of ${r.baseReceiptId ? `sale ${r.baseReceiptId}` : 'a sale'} at the terminal that no workflow holds (its webhook never came)`,
          done: `refund handed to ${outcome.workflowId} (payment returned, stock back, refund receipt, as the sale needs)`,
          workflowId: outcome.workflowId,
          ...ids(r, store.storeId),
        });
        continue;
      }
      const orderId = payment.orderId;
      if (!orderId) {
        const [outcome] = await take([{ payment, type: 'SELL', lines: r.lines }]);
        if (outcome.status === 'duplicate') continue;
        if (outcome.status === 'rejected') {
          items.push(refusedItem('walk-in-not-recorded', payment.receiptId, outcome.reason, ids(r, store.storeId)));
          continue;
        }
        items.push({
          class: 'walk-in-not-recorded',
          key: payment.receiptId,
          action: 'healed',
          found: 'a sale without our order id that no workflow holds (its webhook never came)',
          done: `receipt handed to ${outcome.workflowId} (matched to an awaiting order, or written off as a walk-in sale)`,
          workflowId: outcome.workflowId,
          ...ids(r, store.storeId),
        });
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
          done: store.fiscalMode === '1c' ? 'Check that 1C:Retail printed the receipt.' : `Issue the sale receipt (or a correction receipt) in the ${store.fiscalMode === 'atol' ? 'ATOL Online' : 'cloud register\'s'} account.`,
          workflowId: order.workflowId,
          ...ids(r, store.storeId),
        });
      }
    }
  }
}

/** Activities on the Bitrix task queue (each one Bitrix request, or one `batch` of them), paced by its rate limit. */
export function createReconciliationBitrixActivities({ client, bitrix, config, logger }: ReconciliationActivityDeps & { bitrix: BitrixClient }) {
  const take = terminalReceiptIntake(client, config, { concurrency: 1, onForeignOrder: 'hold' });
  const posPaySystemIds = config.bitrix.posPaySystemIds;
  const posPaySystems = new Set(posPaySystemIds);

  /** Up to BITRIX_PAGES_PER_REQUEST pages of a list in one batch request; `more` when the last page was full. */
  async function listPages<T>(
    method: string,
    params: Record<string, unknown>,
    start: number,
    key: 'payments' | 'orders',
    pages = BITRIX_PAGES_PER_REQUEST,
  ): Promise<{ rows: T[]; more: boolean }> {
    const commands = Object.fromEntries(Array.from({ length: pages }, (_, i) => [`p${i}`, { method, params: { ...params, start: start + i * BITRIX_PAGE } }]));
    const { results, errors } = await bitrix.batch(commands);
    const failed = Object.entries(errors)[0];
    if (failed) throw new ExternalServiceError('bitrix', String(failed[1].error), `${method}: ${failed[1].error_description}`, false);
    const rows: T[] = [];
    let last = 0;
    for (let i = 0; i < pages; i++) {
      const raw = results[`p${i}`];
      // Through the client's parser: a bad row is a non-retryable Bitrix error naming the field, not a bare ZodError.
      const page = (key === 'payments' ? parseResult(paymentListResultSchema, raw ?? { payments: [] }, method).payments : parseResult(orderListResultSchema, raw ?? { orders: [] }, method).orders) as T[];
      rows.push(...page);
      last = page.length;
      if (page.length < BITRIX_PAGE) break;
    }
    return { rows, more: last === BITRIX_PAGE };
  }

  const posPaymentOf = (payments: BitrixPayment[], orderId: string) =>
    payments.find((p) => p.orderId === orderId && posPaySystems.has(p.paySystemId) && p.isReturn !== 'Y');

  return classifyErrors({
    /**
     * Terminal payments for our orders that no workflow holds: Bitrix says whether the POS payment is paid
     * (by someone else) and for how much, then each goes through the Evotor door's own call — signal-with-start
     * of the order's payment workflow, which fiscalizes, records the payment and deducts the stock.
     */
    async reconcileOrderReceipts(input: { candidates: OrderCandidate[] }): Promise<PageOutcome> {
      const workflows = new Workflows(client);
      const orderIds = [...new Set(input.candidates.map((c) => c.orderId))];
      // An order has a payment or two: pages enough for all of them in one request.
      const pages = Math.min(BITRIX_PAGES_PER_REQUEST, Math.ceil((orderIds.length * 2) / BITRIX_PAGE) + 1);
      const { rows: payments } = await listPages<BitrixPayment>('sale.payment.list', { filter: { '@orderId': orderIds }, order: { id: 'asc' } }, 0, 'payments', pages);
      const items: ReportItem[] = [];
      for (const c of input.candidates) {
        if (await workflows.holdsReceipt(c.payment, c.orderId)) continue;
        const pos = posPaymentOf(payments, c.orderId);
        const paidElsewhere = Boolean(pos?.paid);
        const cls = paidElsewhere && c.fiscalMode !== 'terminal' ? 'payment-without-fiscal-receipt' : 'terminal-payment-not-recorded';
        const [outcome] = await take([{ payment: { ...c.payment, orderId: c.orderId }, type: 'SELL', lines: [] }]);
        if (outcome.status === 'duplicate') continue;
        if (outcome.status === 'rejected') {
          items.push(refusedItem(cls, c.payment.receiptId, outcome.reason, { orderId: c.orderId, receiptId: c.payment.receiptId, terminalStoreId: c.payment.terminalStoreId, storeId: c.storeId }));
          continue;
        }
        const base = {
          key: c.payment.receiptId,
          orderId: c.orderId,
          receiptId: c.payment.receiptId,
          terminalStoreId: c.payment.terminalStoreId,
          storeId: c.storeId,
          terminalAmount: c.payment.amount,
          ...(pos ? { bitrixAmount: pos.sum } : {}),
          at: c.payment.paidAt,
          workflowId: outcome.workflowId,
        };
        const bitrixSide = !pos ? 'Bitrix has no POS payment for the order' : paidElsewhere ? 'Bitrix shows the payment paid by someone else' : 'Bitrix shows the payment unpaid';
        items.push(
          outcome.status === 'held'
            ? { ...base, class: cls, action: 'reported', found: `paid at the terminal; ${c.why}; ${bitrixSide}`, done: `held for a person in ${outcome.workflowId}: ${outcome.reason}` }
            : {
                ...base,
                class: cls,
                action: 'healed',
                found: `paid at the terminal; ${c.why}; ${bitrixSide}`,
                done: `payment handed to ${outcome.workflowId}${cls === 'payment-without-fiscal-receipt' ? ' (it fiscalizes, then records the payment)' : ''}`,
              },
        );
        if (pos?.paid && pos.sum !== c.payment.amount) {
          items.push({
            ...base,
            // Keyed by order, as the check of paid payments keys it: one divergence, found twice, is one item.
            key: c.orderId,
            class: 'amount-mismatch',
            action: 'reported',
            found: `the terminal took ${c.payment.amount} kopecks; Bitrix shows the POS payment paid with ${pos.sum}`,
            done: 'Refund the difference at the terminal or correct the payment in Bitrix.',
          });
        }
      }
      if (items.length) logger?.info({ items: items.length }, 'reconciliation: order payments handed over');
      return { items, totals: {}, requests: { bitrix: 1, temporal: workflows.calls + input.candidates.length } };
    },

    /**
     * One batch of Bitrix POS payments in the window. `awaiting`: unpaid payments billed in it — an order
     * with neither a payment nor an events workflow missed its event, and goes through the Bitrix door's
     * own call. `paid`: payments paid in it — each must rest on a terminal receipt of the same amount.
     */
    async reconcileBitrixPayments(input: { mode: 'awaiting' | 'paid'; from: string; to: string; start: number }): Promise<BitrixPageOutcome> {
      const workflows = new Workflows(client);
      const dateField = input.mode === 'awaiting' ? 'dateBill' : 'datePaid';
      const filter = { '@paySystemId': posPaySystemIds, paid: input.mode === 'paid' ? 'Y' : 'N', [`>=${dateField}`]: input.from, [`<${dateField}`]: input.to };
      const { rows, more } = await listPages<BitrixPayment>('sale.payment.list', { filter, order: { id: 'asc' } }, input.start, 'payments');
      let requests = 1;
      const payments = rows.filter((p) => p.isReturn !== 'Y');
      const items: ReportItem[] = [];
      const orderIds = [...new Set(payments.map((p) => p.orderId))];
      const seen = await workflows.existing(orderIds.flatMap((id) => [posPaymentWorkflowId(id), orderEventsWorkflowId(id)]));

      if (input.mode === 'awaiting') {
        const missed = orderIds.filter((id) => !seen.has(posPaymentWorkflowId(id)) && !seen.has(orderEventsWorkflowId(id)));
        if (missed.length) {
          // A cancelled order needs nothing: ask Bitrix which of them are still open.
          requests++;
          const { rows: orders } = await listPages<{ id: string; canceled?: boolean }>(
            'sale.order.list',
            { filter: { '@id': missed }, select: ['id', 'canceled'], order: { id: 'asc' } },
            0,
            'orders',
            Math.min(BITRIX_PAGES_PER_REQUEST, Math.ceil(missed.length / BITRIX_PAGE)),
          );
          for (const order of orders.filter((o) => !o.canceled)) {
            const payment = payments.find((p) => p.orderId === order.id)!;
            // The Bitrix door's own call: the events workflow decides and starts pos-payment.
            const workflowId = await bitrixOrderEventIntake(client, order.id, { event: 'ONSALEORDERSAVED' });
            items.push({
              class: 'missed-bitrix-event',
              key: order.id,
              action: 'healed',
              found: 'an order with an unpaid POS payment and no workflow: its Bitrix event never reached us',
              done: `order handed to ${workflowId}, which starts ${posPaymentWorkflowId(order.id)}`,
              orderId: order.id,
              bitrixAmount: payment.sum,
              workflowId,
            });
          }
        }
      } else {
        const matched = await workflows.ordersWithMatchedReceipts(orderIds);
        for (const p of payments) {
          const item = await checkPaidPayment(p, seen.get(posPaymentWorkflowId(p.orderId)), matched.has(p.orderId), workflows);
          if (item) items.push(item);
        }
      }
      return {
        items,
        nextStart: more ? input.start + BITRIX_PAGES_PER_REQUEST * BITRIX_PAGE : undefined,
        totals: { bitrixPayments: payments.length },
        requests: { bitrix: requests, temporal: workflows.calls + items.filter((i) => i.action === 'healed').length },
      };
    },
  });

  async function checkPaidPayment(p: BitrixPayment, order: Seen | undefined, matchedReceipt: boolean, workflows: Workflows): Promise<ReportItem | undefined> {
    const base = { key: p.orderId, orderId: p.orderId, bitrixAmount: p.sum, ...(p.datePaid ? { at: new Date(p.datePaid).toISOString() } : {}) };
    if (!order) {
      // A receipt handed over earlier in this run may have started the workflow after the visibility read.
      const now = await workflows.describe(posPaymentWorkflowId(p.orderId));
      if (now) order = { workflowId: now.workflowId, runId: now.runId, status: now.status.name, closed: now.status.name !== 'RUNNING' };
    }
    let status: PosPaymentStatus | undefined;
    if (order) {
      try {
        status = await workflows.paymentStatus(order);
      } catch (e) {
        logger?.warn({ orderId: p.orderId, err: (e as Error).message }, 'reconciliation: payment workflow not readable');
        return undefined;
      }
    }
    if (status && status.payments.length > 0) {
      const paid: Kopecks = status.payments.reduce((s, x) => s + x.amount, 0);
      if (paid === p.sum) return undefined;
      return {
        ...base,
        class: 'amount-mismatch',
        action: 'reported',
        found: `the terminal took ${paid} kopecks in ${status.payments.length} receipt(s); Bitrix shows the POS payment paid with ${p.sum}`,
        done: 'Refund or take the difference at the terminal, or correct the payment in Bitrix; then resolve the order.',
        receiptId: status.payments.map((x) => x.receiptId).join(' '),
        terminalAmount: paid,
        workflowId: order!.workflowId,
      };
    }
    // Still running without a receipt: it waits for one (a stuck wait is reported by its stage limit).
    if (order && !order.closed) return undefined;
    if (matchedReceipt) return undefined;
    return {
      ...base,
      class: 'bitrix-paid-without-terminal-receipt',
      action: 'reported',
      found: `the POS payment is marked paid in Bitrix${p.psInvoiceId ? ` (invoice ${p.psInvoiceId})` : ''}, but no terminal receipt for the order reached us`,
      done: 'Check whether the customer paid at the pickup point (terminal, 1C:Retail); if not, unmark the payment in Bitrix.',
      ...(order ? { workflowId: order.workflowId } : {}),
    };
  }
}

/** Activities on the workflow task queue: the plan of a run, and workflows stuck beyond their stage's limit. */
export function createReconciliationTemporalActivities({ client, config }: ReconciliationActivityDeps) {
  const rec = config.reconciliation;

  /** Per stage, whatever the workflow type (payments, receipts, walk-in problems, refunds, cancellations). */
  function stageLimits(): StageLimit[] {
    const hour = 3_600_000;
    const overrides = rec?.stageLimits ?? {};
    const defaults: [string, number][] = [
      ['LOADING', hour],
      ['MATCHING', hour],
      ['AWAITING_PAYMENT', durationMs(config.payment.deadline) + hour],
      ['FISCALIZING', durationMs(config.payment.fiscalDeadline) + hour],
      ['CONFIRMING', hour],
      ['DEDUCTING_STOCK', hour],
      ['LOCATING_SALE', durationMs(config.refunds.saleDeadline) + hour],
      ['RETURNING_STOCK', hour],
      ['AWAITING_REFUND', durationMs(config.refunds.paybackDeadline) + hour],
      ['NEEDS_ATTENTION', 24 * hour],
    ];
    const stages = new Map<string, number>(defaults);
    for (const [stage, limit] of Object.entries(overrides)) stages.set(stage, durationMs(limit));
    return [...stages].map(([stage, limitMs]) => ({ stage, limitMs }));
  }

  return {
    /** What a run compares, read from POS_CONFIG when the run starts (so a config change applies to the next run). */
    async planReconciliation(): Promise<ReconciliationPlan> {
      return {
        stores: config.stores
          .filter((s) => s.terminalKind === 'evotor' && s.evotorStoreId)
          .map((s) => ({ storeId: s.id, terminalStoreId: s.evotorStoreId!, fiscalMode: s.fiscalMode })),
        settleMs: durationMs(rec?.settle ?? DEFAULT_SETTLE),
        maxItems: rec?.maxItems ?? DEFAULT_MAX_ITEMS,
        stageLimits: stageLimits(),
      };
    },

    /** Running workflows that entered a stage longer ago than its limit (PosStage / PosStageSince). */
    async findStuckWorkflows(input: { limits: StageLimit[]; now: string; maxPerStage: number }): Promise<PageOutcome> {
      const items: ReportItem[] = [];
      let checked = 0;
      const now = Date.parse(input.now);
      for (const l of input.limits) {
        const since = new Date(now - l.limitMs).toISOString();
        const query = `ExecutionStatus = "Running" AND PosStage = ${quote(l.stage)} AND PosStageSince < ${quote(since)}`;
        let found = 0;
        for await (const wf of client.workflow.list({ query, pageSize: 1000 })) {
          checked++;
          if (++found > input.maxPerStage) break;
          const attrs = new Map(wf.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
          const sinceAt = attrs.get('PosStageSince');
          const hours = Math.round(((now - (sinceAt instanceof Date ? sinceAt.getTime() : now)) / 3_600_000) * 10) / 10;
          items.push({
            class: 'stuck-workflow',
            key: `${wf.workflowId}@${l.stage}`,
            action: 'reported',
            found: `${wf.type} in ${l.stage} for ${hours} h (limit ${Math.round((l.limitMs / 3_600_000) * 100) / 100} h)`,
            done: 'Open it in the Web UI: its details say what it waits for and what to do (retry, resolve, cancel).',
            workflowId: wf.workflowId,
            ...(typeof attrs.get('PosOrderId') === 'string' ? { orderId: attrs.get('PosOrderId') as string } : {}),
            ...(typeof attrs.get('PosReceiptId') === 'string' ? { receiptId: attrs.get('PosReceiptId') as string } : {}),
            ...(typeof attrs.get('PosStore') === 'string' ? { storeId: attrs.get('PosStore') as string } : {}),
            ...(sinceAt instanceof Date ? { at: sinceAt.toISOString() } : {}),
          });
        }
      }
      return { items, totals: { workflowsChecked: checked }, requests: { temporal: input.limits.length } };
    },
  };
}

export type ReconciliationTerminalActivities = ReturnType<typeof createReconciliationTerminalActivities>;
export type ReconciliationBitrixActivities = ReturnType<typeof createReconciliationBitrixActivities>;
export type ReconciliationTemporalActivities = ReturnType<typeof createReconciliationTemporalActivities>;

/** A divergence found with an id no workflow may be keyed by (domain/ids.ts): reported, nothing handed over. */
function refusedItem(cls: ReportItem['class'], key: string, reason: string, idFields: Partial<ReportItem>): ReportItem {
  return { ...idFields, class: cls, key, action: 'reported', found: `a terminal document with an id that cannot be taken: ${reason}`, done: 'Nothing was handed over; check the terminal document by hand.' };
}
