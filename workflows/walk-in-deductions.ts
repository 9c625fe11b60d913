import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { WalkInActivities } from '../cross-system/walk-in-write-offs';
import { distinctProducts, ELEMENTS_PER_DOCUMENT, takeBatch, utf8Bytes, walkInLineCount, type DeductionOutcome, type QueuedDeduction, type WalkInReceipt } from '../domain/walk-in';
import { TASK_QUEUES, walkInProblemWorkflowId } from '../domain/workflow-ids';

export const queueDeductionSignal = defineSignal<[QueuedDeduction]>('queueDeduction');
export const deductionOutcomeSignal = defineSignal<[DeductionOutcome]>('deductionOutcome');
/**
 * A whole door batch of one store's walk-in receipts in one call (the middleware batch door): a single
 * history event instead of one signal per receipt. Answers which receipts it queued; the others it already
 * knew (queued, or deducted within the remembered window).
 */
export const queueReceiptsUpdate = defineUpdate<{ queued: string[]; known: string[] }, [{ receipts: WalkInReceipt[] }]>('queueReceipts');
export const deductionsQuery = defineQuery<{ storeId: string; queued: number; inFlight: number; batches: number; receipts: number; lines: number }>('status');

export interface WalkInDeductionsInput {
  storeId: string;
  queue?: QueuedDeduction[];
  /**
   * Receipt keys deducted before continue-as-new, in buckets by time (older runs passed a plain list):
   * a resend within the window is still recognised.
   */
  recent?: string[] | RecentBucket[];
  totals?: { batches: number; receipts: number; lines: number };
}

/** A batch that waits this long for more receipts is sent with what it has. */
const LINGER_MS = 1_000;
/**
 * Batch calls in flight; the task queue's server-side rate limit paces them. More than the rate, because
 * the server splits a queue (and its limit) into partitions, and each must have work to hand out.
 */
const CONCURRENCY = 8;
const HISTORY_LIMIT = 8_000;
/**
 * Deducted receipt keys are remembered this long and at most this many (they travel through
 * continue-as-new, whose input must stay well under Temporal's 2 MB payload limit). Longer than any door's
 * resend window (api/routes/middleware.ts), so a resend after a crashed answer is never deducted twice.
 */
const RECENT_WINDOW_MS = 6 * 3_600_000;
const RECENT_KEYS = 30_000;
/** And at most this many bytes of keys (a key is up to ~260 ASCII characters: domain/ids.ts). */
const RECENT_BYTES = 700_000;
/** The queue is carried through continue-as-new only while it is this small (UTF-8 bytes of JSON). */
const CARRY_LIMIT = 700_000;

interface RecentBucket {
  at: number;
  keys: string[];
}

// Rate-limit answers and outages are retried without end (slowing the flow, never failing it); a batch
// Bitrix refuses for its content fails at once and is split to find the receipt at fault.
const walkIn = proxyActivities<WalkInActivities>({
  taskQueue: TASK_QUEUES.bitrix,
  startToCloseTimeout: '2m',
  // The activity heartbeats every 2 s: a worker killed mid-batch is noticed after 10 s, and the batch retried.
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

/**
 * One per store: collects the walk-in receipts of that store and writes them off in as few Bitrix
 * requests as possible — one store document per batch call, lines of the same product added up.
 * The single writer per warehouse, so batches never race each other.
 */
export async function walkInDeductionsWorkflow(input: WalkInDeductionsInput): Promise<never> {
  const { storeId } = input;
  const queue: QueuedDeduction[] = [...(input.queue ?? [])];
  const isolated: QueuedDeduction[] = [];
  const recent: RecentBucket[] = (input.recent ?? []).map((b) => (typeof b === 'string' ? { at: Date.now(), keys: [b] } : b));
  const known = new Set<string>([...recent.flatMap((b) => b.keys), ...queue.map((q) => q.receipt.key)]);
  const remember = (keys: string[]) => {
    if (keys.length) recent.push({ at: Date.now(), keys });
    let count = recent.reduce((n, b) => n + b.keys.length, 0);
    const sizeOf = (keys: string[]) => keys.reduce((n, k) => n + k.length + 3, 0);
    let bytes = recent.reduce((n, b) => n + sizeOf(b.keys), 0);
    while (recent.length > 0 && (recent[0].at < Date.now() - RECENT_WINDOW_MS || count > RECENT_KEYS || bytes > RECENT_BYTES)) {
      const old = recent.shift()!;
      count -= old.keys.length;
      bytes -= sizeOf(old.keys);
      for (const k of old.keys) known.delete(k);
    }
  };
  const totals = { batches: 0, receipts: 0, lines: 0, ...input.totals };
  let inFlight = 0;

  setHandler(queueDeductionSignal, (item) => {
    if (known.has(item.receipt.key)) return;
    known.add(item.receipt.key);
    queue.push(item);
  });
  setHandler(
    queueReceiptsUpdate,
    ({ receipts }) => {
      const queued: string[] = [];
      const knownKeys: string[] = [];
      for (const receipt of receipts) {
        if (known.has(receipt.key)) {
          knownKeys.push(receipt.key);
          continue;
        }
        known.add(receipt.key);
        queue.push({ receipt });
        queued.push(receipt.key);
      }
      return { queued, known: knownKeys };
    },
    {
      validator: ({ receipts }) => {
        if (!Array.isArray(receipts)) throw new Error('receipts: a list is required');
        const foreign = receipts.find((r) => r.storeId !== storeId);
        if (foreign) throw new Error(`receipts: ${foreign.key} belongs to store ${foreign.storeId}, not ${storeId}`);
        const empty = receipts.find((r) => !r.lines?.length);
        if (empty) throw new Error(`receipts: ${empty.key} has no lines`);
      },
    },
  );
  setHandler(deductionsQuery, () => ({ storeId, queued: queue.length + isolated.length, inFlight, ...totals }));

  const describe = () =>
    setCurrentDetails(
      `**Walk-in deductions of store ${storeId}**\n\nQueued receipts: ${queue.length + isolated.length}, batches in flight: ${inFlight}\n\nDone: ${totals.receipts} receipts, ${totals.lines} lines in ${totals.batches} Bitrix batch calls`,
    );

  /** Tells a waiting workflow the outcome; a refused receipt nobody waits for becomes a walk-in problem. */
  async function reply(items: QueuedDeduction[], outcomes: DeductionOutcome[]): Promise<void> {
    const byKey = new Map(outcomes.map((o) => [o.receiptKey, o]));
    await Promise.all(
      items.map(async (item) => {
        const outcome: DeductionOutcome = byKey.get(item.receipt.key) ?? { receiptKey: item.receipt.key, outcome: 'rejected', reason: 'no outcome for the receipt' };
        try {
          if (item.replyTo) await getExternalWorkflowHandle(item.replyTo).signal(deductionOutcomeSignal, outcome);
          else if (outcome.outcome === 'rejected')
            await startChild('walkInProblemWorkflow', {
              workflowId: walkInProblemWorkflowId(item.receipt.key),
              args: [{ receipt: item.receipt, reason: outcome.reason }],
              taskQueue: TASK_QUEUES.workflows,
              parentClosePolicy: ParentClosePolicy.ABANDON,
              staticSummary: `Walk-in sale ${item.receipt.receiptId} at ${storeId}: write-off refused`,
            });
        } catch (err) {
          log.warn('could not report a deduction', { receiptKey: item.receipt.key, error: (err as Error).message });
        }
      }),
    );
  }

  async function runBatch(batch: QueuedDeduction[]): Promise<void> {
    let outcomes: DeductionOutcome[];
    try {
      outcomes = await walkIn.deductWalkInBatch({ storeId, batchId: uuid4(), receipts: batch.map((b) => b.receipt) });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      if (batch.length > 1) {
        // One receipt spoils the document for all: send each alone to find it.
        isolated.push(...batch);
        return;
      }
      const reason = (err.cause as Error | undefined)?.message ?? err.message;
      outcomes = [{ receiptKey: batch[0].receipt.key, outcome: 'rejected', reason }];
    }
    totals.batches++;
    const done = batch.filter((b) => outcomes.some((o) => o.receiptKey === b.receipt.key && o.outcome === 'deducted'));
    totals.receipts += done.length;
    totals.lines += walkInLineCount(done.map((d) => d.receipt));
    // Deducted receipts are remembered (a late resend is dropped); refused ones may come back after a fix.
    for (const b of batch) if (!done.includes(b)) known.delete(b.receipt.key);
    remember(done.map((d) => d.receipt.key));
    await reply(batch, outcomes);
  }

  for (;;) {
    describe();
    // Long-lived: started for every store when a worker starts, so a burst never waits for it to start.
    await condition(() => queue.length + isolated.length > 0);
    // Fill the document: wait a moment for more receipts unless a full batch is already there.
    if (isolated.length === 0 && distinctProducts(queue.map((q) => q.receipt)) < ELEMENTS_PER_DOCUMENT)
      await condition(() => distinctProducts(queue.map((q) => q.receipt)) >= ELEMENTS_PER_DOCUMENT, LINGER_MS);
    await condition(() => inFlight < CONCURRENCY);
    const batch = isolated.length > 0 ? isolated.splice(0, 1) : takeBatch(queue);
    if (batch.length === 0) continue;
    inFlight++;
    void runBatch(batch).finally(() => inFlight--);

    const info = workflowInfo();
    // A big backlog is not carried (the input would outgrow the payload limit): it is worked off first.
    if ((info.historyLength > HISTORY_LIMIT || info.continueAsNewSuggested) && utf8Bytes(JSON.stringify(queue)) < CARRY_LIMIT) {
      await condition(() => inFlight === 0);
      await condition(allHandlersFinished);
      await continueAsNew<typeof walkInDeductionsWorkflow>({ storeId, queue: [...isolated, ...queue], recent, totals });
    }
  }
}
