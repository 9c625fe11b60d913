import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { type TerminalPayment } from '../domain/payment';
import type { WalkInReceipt } from '../domain/walk-in';
import { queueReceiptsUpdate, walkInDeductionsWorkflow } from '../workflows/walk-in-deductions';
import { BOOK_FULL, recordWalkInSalesUpdate, walkInSalesBookWorkflow, type WalkInSaleFacts } from '../workflows/walk-in-sales-book';
import { receiptIntake } from './receipts';
import { TASK_QUEUES, terminalReceiptWorkflowId, walkInDeductionsWorkflowId, walkInSalesBookWorkflowId } from '../domain/workflow-ids';

/**
 * Records made before the door queued first (memo `queuedByDoor` without `queuedFirst`) may say "queued"
 * for a receipt a crashed door never queued: such a record younger than this is offered again on a resend
 * (the deductions workflow remembers what it deducted for longer, so an offer it already knows is dropped).
 */
export const RESEND_WINDOW_MS = 3_600_000;

/** How long a door's walk-ins wait for those of concurrent requests before they are queued together. */
export const COALESCE_MS = 25;

/**
 * One Update's receipts: at most this many, and at most this many bytes of JSON — well under Temporal's
 * 2 MB payload limit (a receipt within the door's limits is at most ~0.4 MB), so a batch is always queued.
 */
export const RECEIPTS_PER_UPDATE = 500;
export const UPDATE_PAYLOAD_BYTES = 512 * 1024;

export interface WalkInSale {
  payment: TerminalPayment;
  receipt: WalkInReceipt;
}

/** Sales per Update to a sales book (each well under the book's byte limit). */
export const SALES_PER_BOOK_UPDATE = 200;
/** Line names kept in a sales book (a refund reads products and quantities; the name only labels a message). */
const BOOK_NAME_CHARS = 64;

const DAY_MS = 86_400_000;

/** The end of a sales day's return period: its book closes then, and a sale older than that is not booked. */
export function bookKeepUntil(day: string, keepMs: number): number {
  return Date.parse(`${day}T00:00:00.000Z`) + DAY_MS + keepMs;
}

/**
 * How long walk-in sales that came through the middleware door are kept in sales books: theirs is the only
 * lasting record (an Evotor sale is read back from its cloud document).
 */
export interface SalesBooks {
  keepMs: number;
}

export type WalkInOutcome = { status: 'accepted' | 'duplicate'; workflowId: string };

/** Splits items into Updates under both limits (an item is never split). */
export function chunkForUpdates<T>(items: T[], maxCount = RECEIPTS_PER_UPDATE, maxBytes = UPDATE_PAYLOAD_BYTES): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (current.length > 0 && (current.length >= maxCount || size + bytes > maxBytes)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Items of concurrent requests for one key wait a moment and are sent together; every caller awaits the send
 * that carried its own (Evotor sends one webhook per receipt, several at a time; middleware batches overlap).
 */
function coalesced<T>(ms: number, send: (key: string, items: T[]) => Promise<void>): (key: string, items: T[]) => Promise<void> {
  const pending = new Map<string, { items: T[]; sent: Promise<void> }>();
  return (key, items) => {
    let batch = pending.get(key);
    if (!batch) {
      const fresh = { items: [] as T[], sent: Promise.resolve() };
      fresh.sent = new Promise<void>((resolve) => setTimeout(resolve, ms)).then(() => {
        pending.delete(key);
        return send(key, fresh.items);
      });
      pending.set(key, fresh);
      batch = fresh;
    }
    batch.items.push(...items);
    return batch.sent;
  };
}

/**
 * Takes a door batch of walk-in sales. The new ones reach their store's deductions workflow in as few
 * Updates as fit (one history event per Update, not a signal per receipt — what keeps a 10,000-receipt
 * offline burst from flooding it), and only then is each recorded by its own receipt workflow (keyed by
 * store + receipt: a later redelivery is a duplicate). So a record always means "queued", and everything
 * answered "accepted" is durable and queued. A door that dies between the two leaves no record: the resend
 * is queued again and the deductions workflow, which remembers the receipt, drops it.
 */
export function walkInIntake(client: Client, opts: { concurrency: number; resendWindowMs?: number; coalesceMs?: number; books?: SalesBooks }) {
  const intake = receiptIntake(client);
  const window = opts.resendWindowMs ?? RESEND_WINDOW_MS;
  const coalesceMs = opts.coalesceMs ?? COALESCE_MS;

  /** Whether the receipt has a record already, and whether it must be offered to the deductions workflow. */
  async function look(sale: WalkInSale): Promise<{ recorded: boolean; offer: boolean }> {
    const workflowId = terminalReceiptWorkflowId(sale.payment.terminalStoreId, sale.payment.receiptId);
    try {
      const described = await client.workflow.getHandle(workflowId).describe();
      const legacy = described.memo?.queuedByDoor === true && described.memo?.queuedFirst !== true;
      return { recorded: true, offer: legacy && Date.now() - described.startTime.getTime() < window };
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return { recorded: false, offer: true };
      throw e;
    }
  }

  async function record(sale: WalkInSale): Promise<WalkInOutcome> {
    const outcome = await intake.toReceiptWorkflow(sale.payment, 'SELL', sale.receipt.lines, {
      storeId: sale.receipt.storeId,
      matchOrders: false,
      queuedByDoor: true,
    });
    // Doors check ids with the same rules before they get here (domain/ids.ts).
    if (outcome.status === 'rejected') throw new RangeError(outcome.reason);
    return { status: outcome.status === 'duplicate' ? 'duplicate' : 'accepted', workflowId: outcome.workflowId };
  }

  async function queue(storeId: string, receipts: WalkInReceipt[]): Promise<void> {
    for (const chunk of chunkForUpdates(receipts)) {
      await client.workflow.executeUpdateWithStart(queueReceiptsUpdate, {
        args: [{ receipts: chunk }],
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

  /** The part of each store-day's book that last took sales (a full part is followed by the next). */
  const openParts = new Map<string, number>();

  /** Sends sales to their store-day book, opening the next part when one is full. */
  async function keepInBook(key: string, facts: WalkInSaleFacts[]): Promise<void> {
    const books = opts.books!;
    const [storeId, day] = key.split('|') as [string, string];
    for (const chunk of chunkForUpdates(facts, SALES_PER_BOOK_UPDATE)) {
      for (let part = openParts.get(key) ?? 0; ; part++) {
        try {
          await client.workflow.executeUpdateWithStart(recordWalkInSalesUpdate, {
            args: [{ sales: chunk }],
            startWorkflowOperation: new WithStartWorkflowOperation(walkInSalesBookWorkflow, {
              workflowId: walkInSalesBookWorkflowId(storeId, day, part),
              // Beside the deductions workflows, on their own queue: a burst of receipt workflows never delays the door's answer.
              taskQueue: TASK_QUEUES.deductions,
              workflowIdConflictPolicy: 'USE_EXISTING',
              args: [{ storeId, day, part, keepUntil: new Date(bookKeepUntil(day, books.keepMs)).toISOString() }],
              staticSummary: `Walk-in sales of store ${storeId} on ${day}, kept for refunds`,
            }),
          });
          openParts.set(key, part);
          break;
        } catch (e) {
          if (!(e instanceof WorkflowUpdateFailedError && e.cause?.message === BOOK_FULL)) throw e;
        }
      }
    }
  }
  const enqueue = coalesced(coalesceMs, queue);
  const keep = coalesced(coalesceMs, keepInBook);

  /** Keeps the sales in their store-day books (new ones only; a book already holding a receipt keeps the first). */
  async function book(sales: WalkInSale[]): Promise<void> {
    const books = opts.books;
    if (!books) return;
    const byDay = new Map<string, WalkInSaleFacts[]>();
    for (const { payment, receipt } of sales) {
      if (payment.terminalKind !== 'middleware') continue;
      const day = payment.paidAt.slice(0, 10);
      // Past its day's return period: no refund will look for it.
      if (bookKeepUntil(day, books.keepMs) <= Date.now()) continue;
      // Store ids have no "|" (POS_CONFIG).
      const key = `${receipt.storeId}|${day}`;
      const facts = byDay.get(key) ?? [];
      facts.push({
        receiptId: payment.receiptId,
        terminalStoreId: payment.terminalStoreId,
        amount: payment.amount,
        currency: payment.currency,
        paidAt: payment.paidAt,
        lines: receipt.lines.map((l) => ({ ...l, name: l.name.slice(0, BOOK_NAME_CHARS) })),
      });
      byDay.set(key, facts);
    }
    await Promise.all([...byDay].map(([key, facts]) => keep(key, facts)));
  }

  return async function take(sales: WalkInSale[]): Promise<WalkInOutcome[]> {
    const looked = await mapLimit(sales, opts.concurrency, look);
    const byStore = new Map<string, WalkInReceipt[]>();
    const offered = new Set<string>();
    sales.forEach((s, i) => {
      if (!looked[i].offer || offered.has(s.receipt.key)) return;
      offered.add(s.receipt.key);
      const list = byStore.get(s.receipt.storeId) ?? [];
      list.push(s.receipt);
      byStore.set(s.receipt.storeId, list);
    });
    await Promise.all([...byStore].map(([storeId, receipts]) => enqueue(storeId, receipts)));
    // Queued, then kept for later refunds, then recorded: a record means both happened.
    await book(sales.filter((_, i) => looked[i].offer));
    return mapLimit(sales, opts.concurrency, async (sale, i): Promise<WalkInOutcome> => {
      if (looked[i].recorded) return { status: 'duplicate', workflowId: terminalReceiptWorkflowId(sale.payment.terminalStoreId, sale.payment.receiptId) };
      return record(sale);
    });
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
