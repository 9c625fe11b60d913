import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { TASK_QUEUES, type TerminalPayment } from '../domain/payment';
import type { WalkInReceipt } from '../domain/walk-in';
import { queueReceiptsUpdate, walkInDeductionsWorkflow, walkInDeductionsWorkflowId } from '../workflows/walk-in-deductions';
import { receiptIntake } from './receipt-intake';

/**
 * A resent receipt whose record is younger than this is offered to the deductions workflow again: the
 * earlier request may have died between recording it and queueing it (the deductions workflow remembers
 * what it deducted for longer, so an offer it already knows is dropped there).
 */
export const RESEND_WINDOW_MS = 3_600_000;

/** How long a door's walk-ins wait for those of concurrent requests before they are queued together. */
export const COALESCE_MS = 25;

export interface WalkInSale {
  payment: TerminalPayment;
  receipt: WalkInReceipt;
}

export type WalkInOutcome = { status: 'accepted' | 'duplicate'; workflowId: string };

/**
 * Takes a door batch of walk-in sales: each is recorded by its own receipt workflow (keyed by store +
 * receipt, so a redelivery is a duplicate), and the new ones reach their store's deductions workflow in one
 * Update per store — one history event for the whole batch rather than a signal per receipt, which is what
 * keeps a 10,000-receipt offline burst from flooding the deductions workflow. Both happen before the
 * caller answers, so everything answered "accepted" is durable and queued.
 */
export function walkInIntake(client: Client, opts: { concurrency: number; resendWindowMs?: number; coalesceMs?: number }) {
  const intake = receiptIntake(client);
  const window = opts.resendWindowMs ?? RESEND_WINDOW_MS;
  const coalesceMs = opts.coalesceMs ?? COALESCE_MS;

  async function record(sale: WalkInSale): Promise<WalkInOutcome & { offer: boolean }> {
    const outcome = await intake.toReceiptWorkflow(sale.payment, 'SELL', sale.receipt.lines, {
      storeId: sale.receipt.storeId,
      matchOrders: false,
      queuedByDoor: true,
    });
    if (outcome.status !== 'duplicate') return { status: 'accepted', workflowId: outcome.workflowId, offer: true };
    // Offered again only when that record is a walk-in the door queued itself (not, say, a sale matched to an
    // order whose stock its order's workflow deducts) and is young enough to have been cut off by a crash.
    const described = await client.workflow.getHandle(outcome.workflowId).describe();
    const queuedByDoor = described.memo?.queuedByDoor === true;
    return { status: 'duplicate', workflowId: outcome.workflowId, offer: queuedByDoor && Date.now() - described.startTime.getTime() < window };
  }

  /**
   * Receipts of concurrent requests (Evotor sends one webhook per receipt, several at a time) wait a moment
   * and go to their store's deductions workflow together; every caller awaits the call that carried its own.
   */
  const pending = new Map<string, { receipts: WalkInReceipt[]; sent: Promise<void> }>();
  function enqueue(storeId: string, receipts: WalkInReceipt[]): Promise<void> {
    let batch = pending.get(storeId);
    if (!batch) {
      const fresh = { receipts: [] as WalkInReceipt[], sent: Promise.resolve() };
      fresh.sent = new Promise<void>((resolve) => setTimeout(resolve, coalesceMs)).then(() => {
        pending.delete(storeId);
        return queue(storeId, fresh.receipts);
      });
      pending.set(storeId, fresh);
      batch = fresh;
    }
    batch.receipts.push(...receipts);
    return batch.sent;
  }

  async function queue(storeId: string, receipts: WalkInReceipt[]): Promise<void> {
    for (let i = 0; i < receipts.length; i += 500) {
      await client.workflow.executeUpdateWithStart(queueReceiptsUpdate, {
        args: [{ receipts: receipts.slice(i, i + 500) }],
        startWorkflowOperation: new WithStartWorkflowOperation(walkInDeductionsWorkflow, {
          workflowId: walkInDeductionsWorkflowId(storeId),
          taskQueue: TASK_QUEUES.deductions,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [{ storeId }],
          staticSummary: `Walk-in stock deductions of store ${storeId}`,
        }),
      });
    }
  }

  return async function take(sales: WalkInSale[]): Promise<WalkInOutcome[]> {
    const recorded = await mapLimit(sales, opts.concurrency, record);
    const byStore = new Map<string, WalkInReceipt[]>();
    sales.forEach((s, i) => {
      if (!recorded[i].offer) return;
      const list = byStore.get(s.receipt.storeId) ?? [];
      list.push(s.receipt);
      byStore.set(s.receipt.storeId, list);
    });
    await Promise.all([...byStore].map(([storeId, receipts]) => enqueue(storeId, receipts)));
    return recorded.map(({ status, workflowId }) => ({ status, workflowId }));
  };
}

/** Runs `fn` over `items` with at most `limit` calls at once; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}
