import { WithStartWorkflowOperation } from '@temporalio/client';
import type { RefundStatus } from '../domain/refund';
import { walkInSalesBookWorkflowId, TASK_QUEUES } from '../domain/workflow-ids';
import { refundStatusQuery } from '../workflows/refund';
import {
  BOOK_FULL,
  BOOK_LIMITS,
  bookBytes,
  recordWalkInSalesUpdate,
  walkInSaleQuery,
  walkInSalesBookQuery,
  walkInSalesBookWorkflow,
  type WalkInSaleFacts,
} from '../workflows/walk-in-sales-book';
import { postSignedBatch, walkInReceipt } from './support/middleware';
import { refundPosConfig, stockOf } from './support/refunds';
import { deleteAsRetentionWould } from './support/retention';
import { eventually, startTestStack, type TestStack } from './support/stack';

// A middleware walk-in sale has no cloud document to read it back from: once the namespace's retention has
// removed its receipt workflow, a refund finds the sale in its store-day sales book, kept for the return period.
// (Temporal accepts no retention under a day, so the test deletes the records as retention would.)
describe('refunds of middleware walk-in sales after retention: the sales book', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: refundPosConfig('refunds: { paybackDeadline: 3d, saleDeadline: 1h, walkInReturnPeriod: 30d }') });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const book = (day: string, part: number) => stack.client.workflow.getHandle(walkInSalesBookWorkflowId('msk-1', day, part));
  const refundStatus = (receiptId: string): Promise<RefundStatus> => stack.client.workflow.getHandle(`refund:msk-1:${receiptId}`).query(refundStatusQuery);
  const refunded = (receiptId: string) =>
    eventually(async () => {
      try {
        const s = await refundStatus(receiptId);
        return s.stage === 'COMPLETED' ? s : undefined;
      } catch {
        return undefined;
      }
    }, `refund ${receiptId} completed`, 90_000);

  /** Offers a sale straight to a book (as the intake does), answering whether the book took it. */
  async function offer(day: string, part: number, sale: WalkInSaleFacts): Promise<'taken' | 'full'> {
    try {
      await stack.client.workflow.executeUpdateWithStart(recordWalkInSalesUpdate, {
        args: [{ sales: [sale] }],
        startWorkflowOperation: new WithStartWorkflowOperation(walkInSalesBookWorkflow, {
          workflowId: walkInSalesBookWorkflowId('msk-1', day, part),
          taskQueue: TASK_QUEUES.deductions,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [{ storeId: 'msk-1', day, part, keepUntil: new Date(Date.now() + 3_600_000).toISOString() }],
        }),
      });
      return 'taken';
    } catch (e) {
      if ((e as { cause?: Error }).cause?.message === BOOK_FULL) return 'full';
      throw e;
    }
  }

  it('keeps each middleware walk-in sale in its day\'s book; with the records gone, refunds reverse what the books say was sold', async () => {
    const retentionSeconds = Number((await stack.client.workflowService.describeNamespace({ namespace: stack.namespace })).config?.workflowExecutionRetentionTtl?.seconds ?? 0);
    expect(retentionSeconds).toBeGreaterThan(0);
    const oldAt = new Date(Date.now() - (retentionSeconds + 3_600) * 1000);
    const olderAt = new Date(oldAt.getTime() - 86_400_000);
    const [oldDay, olderDay] = [oldAt, olderAt].map((d) => d.toISOString().slice(0, 10));

    // The older day's first book is (nearly) full already: three large sales, then nothing more fits.
    const filler = (id: string, bytes: number): WalkInSaleFacts => {
      const base: WalkInSaleFacts = { receiptId: id, terminalStoreId: 'msk-1', amount: 100, currency: 'RUB', paidAt: new Date().toISOString(), lines: [{ bitrixProductId: '101', name: '', quantity: 1 }] };
      return { ...base, lines: [{ ...base.lines[0], name: 'x'.repeat(bytes - bookBytes(base)) }] };
    };
    expect(await offer(olderDay, 0, filler('filler-1', 400_000))).toBe('taken');
    expect(await offer(olderDay, 0, filler('filler-2', 400_000))).toBe('taken');
    expect(await offer(olderDay, 0, filler('filler-3', BOOK_LIMITS.bytes - 800_000 - 50))).toBe('taken');
    expect(await offer(olderDay, 0, filler('filler-4', 1_000))).toBe('full');
    expect(await book(olderDay, 0).query(walkInSalesBookQuery)).toMatchObject({ sales: 3 });

    const before = stockOf(stack, 1, 101).amount;
    const old = walkInReceipt('msk-1', [{ productId: '101', quantity: 2, price: 249000 }], { dateTime: oldAt.toISOString() });
    const older = walkInReceipt('msk-1', [{ productId: '101', quantity: 3, price: 249000 }], { dateTime: olderAt.toISOString() });
    const sent = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, [old, older]);
    expect(sent.status).toBe(200);
    expect(sent.body.results?.map((r) => r.status)).toEqual(['accepted', 'accepted']);
    await eventually(() => (stockOf(stack, 1, 101).amount === before - 5 ? true : undefined), 'both walk-ins written off', 60_000);

    // Each sale is in its own day's book; the older one in its day's second part (the first is full).
    expect(await book(oldDay, 0).query(walkInSaleQuery, old.receiptId)).toMatchObject({ receiptId: old.receiptId, amount: 498000, lines: [{ bitrixProductId: '101', quantity: 2 }] });
    expect(await book(olderDay, 0).query(walkInSaleQuery, older.receiptId)).toBeUndefined();
    expect(await book(olderDay, 1).query(walkInSaleQuery, older.receiptId)).toMatchObject({ receiptId: older.receiptId, amount: 747000 });
    // A book stays open for its day's return period.
    expect((await book(oldDay, 0).describe()).status.name).toBe('RUNNING');
    expect(Date.parse((await book(oldDay, 0).query(walkInSalesBookQuery)).keepUntil)).toBe(Date.parse(`${oldDay}T00:00:00Z`) + 31 * 86_400_000);

    // Retention passes: the receipt workflows are gone.
    for (const sale of [old, older]) await deleteAsRetentionWould(stack, `terminal-receipt:msk-1:${sale.receiptId}`);

    const refunds = [
      walkInReceipt('msk-1', [{ productId: '101', quantity: 1, price: 249000 }], { type: 'PAYBACK', baseReceiptId: old.receiptId }),
      walkInReceipt('msk-1', [{ productId: '101', quantity: 3, price: 249000 }], { type: 'PAYBACK', baseReceiptId: older.receiptId }),
    ];
    const back = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, refunds);
    expect(back.status).toBe(200);
    const [partial, whole] = await Promise.all(refunds.map((r) => refunded(r.receiptId)));
    expect(partial).toMatchObject({ saleReceiptId: old.receiptId, sale: { kind: 'walk-in' }, storeId: 'msk-1', lines: [{ productId: '101', quantity: 1 }] });
    expect(partial.decision).toMatchObject({ wholeSale: false, fullyRefunded: false });
    expect(whole).toMatchObject({ saleReceiptId: older.receiptId, sale: { kind: 'walk-in' } });
    expect(whole.decision).toMatchObject({ fullyRefunded: true });
    expect(stockOf(stack, 1, 101).amount).toBe(before - 1);

    // The ledger still stops an over-refund of the old sale: 2 sold, 1 refunded, 2 more asked.
    const over = walkInReceipt('msk-1', [{ productId: '101', quantity: 2, price: 249000 }], { type: 'PAYBACK', baseReceiptId: old.receiptId });
    expect((await postSignedBatch(stack.apiUrl, stack.middlewareKeys, [over])).status).toBe(200);
    const stopped = await eventually(async () => {
      try {
        const s = await refundStatus(over.receiptId);
        return s.stage === 'NEEDS_ATTENTION' ? s : undefined;
      } catch {
        return undefined;
      }
    }, 'the over-refund stopped', 60_000);
    expect(stopped.problem?.message).toMatch(/1 already refunded \+ 2 now would exceed the 2 sold/);
    expect(stockOf(stack, 1, 101).amount).toBe(before - 1);
  }, 180_000);
});
