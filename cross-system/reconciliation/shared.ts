import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { type PosPaymentResult, type PosPaymentStatus, type TerminalPayment } from '../../domain/payment';
import type { ReportItem, PageOutcome } from '../../domain/reconciliation';
import { type PosConfig, type StoreConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { statusQuery } from '../../workflows/pos-payment';
import { type CloudReceipt } from './documents';
import { posPaymentWorkflowId, terminalReceiptWorkflowId } from '../../domain/workflow-ids';

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

export interface TerminalProgress {
  pages: number;
  cursor?: string;
  documents: number;
  requests: number;
  items: ReportItem[];
  orderCandidates: OrderCandidate[];
}
export type BitrixPageOutcome = PageOutcome & { nextStart?: number };

export const quote = (value: string) => `"${value.replace(/["\\]/g, '')}"`;
export const chunks = <T>(list: T[], size: number): T[][] => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
export const DEFAULT_SETTLE = '5m';
export const DEFAULT_MAX_ITEMS = 1000;
/** Workflow ids per visibility query (`WorkflowId IN (...)`). */
export const IDS_PER_QUERY = 100;
/** Bitrix list pages (50 rows each) fetched by one `batch` request. */
export const BITRIX_PAGES_PER_REQUEST = 10;
export const BITRIX_PAGE = 50;

export interface Seen {
  workflowId: string;
  runId: string;
  status: string;
  closed: boolean;
}

/** Reads our own workflows: visibility for the bulk, describe/query/result where a decision depends on it. */
export class Workflows {
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

export const ids = (r: CloudReceipt, storeId: string) => ({
  receiptId: r.payment.receiptId,
  terminalStoreId: r.payment.terminalStoreId,
  storeId,
  terminalAmount: r.payment.amount,
  at: r.payment.paidAt,
  ...(r.payment.orderId ? { orderId: r.payment.orderId } : {}),
});


/** A divergence found with an id no workflow may be keyed by (domain/ids.ts): reported, nothing handed over. */
export function refusedItem(cls: ReportItem['class'], key: string, reason: string, idFields: Partial<ReportItem>): ReportItem {
  return { ...idFields, class: cls, key, action: 'reported', found: `a terminal document with an id that cannot be taken: ${reason}`, done: 'Nothing was handed over; check the terminal document by hand.' };
}
