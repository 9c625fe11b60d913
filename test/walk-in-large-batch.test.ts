import type { temporal } from '@temporalio/proto';
import { chunkForUpdates, UPDATE_PAYLOAD_BYTES } from '../intake/walk-ins';
import { LIMITS } from '../domain/ids';
import { postSignedBatch, walkInReceipt } from './support/middleware';
import { eventually, startTestStack, type TestStack } from './support/stack';

// A batch at the documented limits (10 receipts × 500 lines × 256-character names: ~2.8 MB) is more than
// one Update may carry: it is split, every receipt is queued and recorded, each line leaves the shelf once.
describe('a walk-in batch at the documented limits', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const longName = (i: number) => `Товар ${i} `.padEnd(LIMITS.lineNameLength, 'я');
  const bigReceipt = () =>
    walkInReceipt('spb-2', [], {
      total: 100_00,
      lines: Array.from({ length: LIMITS.linesPerReceipt }, (_, j) => ({ productId: String(101 + (j % 3)), name: longName(j), quantity: 0.002 })),
    });
  const stock = (productId: number) => stack.bitrix.snapshot().stock.find((s) => s.storeId === 2 && s.productId === productId)?.amount ?? 0;

  it('splits receipts into Updates under the payload limit, never splitting a receipt', () => {
    const receipts = Array.from({ length: 10 }, (_, i) => ({ key: `s:${i}`, receiptId: String(i), storeId: 's', lines: bigReceipt().lines.map((l) => ({ bitrixProductId: l.productId, name: l.name, quantity: l.quantity })) }));
    const chunks = chunkForUpdates(receipts);
    expect(chunks.flat()).toEqual(receipts);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThanOrEqual(UPDATE_PAYLOAD_BYTES + chunk.length);
  });

  it('is accepted, queued in several Updates, and deducted once', async () => {
    const before = [101, 102, 103].map(stock);
    const receipts = Array.from({ length: 10 }, bigReceipt);
    expect(Buffer.byteLength(JSON.stringify({ receipts }))).toBeGreaterThan(2_500_000);
    const res = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts);
    expect(res.status).toBe(200);
    expect(res.body.results!.map((r) => r.status)).toEqual(receipts.map(() => 'accepted'));
    // 10 receipts × 500 lines × 0.002, spread over three products.
    const expected = [167, 167, 166].map((lines) => lines * 10 * 0.002);
    await eventually(() => ([101, 102, 103].every((p, i) => Math.abs(before[i] - stock(p) - expected[i]) < 1e-6) ? true : undefined), 'the lines written off', 60_000);
    // Every run of the deductions workflow (it may have continued as new after such a load).
    const events: temporal.api.history.v1.IHistoryEvent[] = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = "walk-in-deductions:spb-2"` })) {
      // Read a few events a page: such a history holds megabytes of receipts, more than one gRPC answer may carry.
      let nextPageToken: Uint8Array | undefined;
      do {
        const page = await stack.client.workflowService.getWorkflowExecutionHistory({
          namespace: stack.namespace,
          execution: { workflowId: run.workflowId, runId: run.runId },
          maximumPageSize: 2,
          nextPageToken,
        });
        events.push(...(page.history?.events ?? []));
        nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
      } while (nextPageToken);
    }
    const updates = events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'queueReceipts');
    expect(updates.length).toBeGreaterThan(1);
    // Neither an Update nor a write-off batch ever outgrew the payload limit.
    expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
    // And the same batch again: duplicates, nothing more leaves the shelf.
    const again = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, receipts);
    expect(again.body.results!.map((r) => r.status)).toEqual(receipts.map(() => 'duplicate'));
    await new Promise((r) => setTimeout(r, 2_000));
    [101, 102, 103].forEach((p, i) => expect(before[i] - stock(p)).toBeCloseTo(expected[i], 6));
  }, 120_000);
});
