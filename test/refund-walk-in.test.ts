import { refundStatusQuery } from '../workflows/refund';
import { terminalReceiptQuery } from '../workflows/terminal-receipt';
import { postSignedBatch, walkInReceipt } from './support/middleware';
import { atolRefundsOf, BEANS, GRINDER, refundPosConfig, stockOf, STORES, waitForRefund } from './support/refunds';
import { eventually, startTestStack, type TestStack } from './support/stack';

// A walk-in sale left the store's warehouse through a write-off document; its refunds bring the goods
// back to that warehouse, each once, and never more than was sold.
describe('refund of a walk-in sale at an Evotor terminal', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: refundPosConfig(), evotorDuplicateRate: 1 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('returns the refunded goods to the store warehouse once; a refund of more than was sold is stopped', async () => {
    const before = { grinder: stockOf(stack, 2, 101).amount, beans: stockOf(stack, 2, 102).amount, mskGrinder: stockOf(stack, 1, 101).amount };
    const sale = stack.evotor.sell(STORES.spb.device, {
      items: [
        { ...GRINDER, productId: '101', quantity: 2 },
        { ...BEANS, productId: '102', quantity: 1 },
      ],
    });
    await stack.evotor.flush();
    await eventually(async () => {
      const receipt = await stack.client.workflow.getHandle(`terminal-receipt:${STORES.spb.terminalStore}:${sale.id}`).query(terminalReceiptQuery);
      return receipt.stage === 'QUEUED_FOR_DEDUCTION' && stockOf(stack, 2, 101).amount === before.grinder - 2 ? true : undefined;
    }, 'the walk-in sale written off');

    // The return document is applied by Bitrix, but the answer is lost: the retry finds it by its title.
    stack.bitrix.setFaults({ applyThenLoseNext: 1, method: 'batch' });
    const first = stack.evotor.payback(STORES.spb.device, { baseDocumentId: sale.id, items: [{ ...GRINDER, productId: '101', quantity: 1 }] });
    await stack.evotor.flush();
    const one = await waitForRefund(stack, 'spb', first, 'COMPLETED');
    expect(stack.bitrix.requestCounts().faults.applyThenLose).toBe(1);
    stack.bitrix.setFaults({});
    expect(one).toMatchObject({ sale: { kind: 'walk-in' }, saleReceiptId: sale.id, storeId: 'spb-2', lines: [{ productId: '101', quantity: 1 }] });
    expect(one.decision).toMatchObject({ wholeSale: false, fullyRefunded: false });
    expect(one.fiscal).toMatchObject({ source: 'terminal' });
    expect(stockOf(stack, 2, 101).amount).toBe(before.grinder - 1);
    expect(stockOf(stack, 1, 101).amount).toBe(before.mskGrinder);
    const docs = stack.bitrix.snapshot().documents.filter((d) => d.title === `POS refund ${first.id}`);
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ docType: 'R', status: 'Y', elements: [{ elementId: 101, storeTo: 2, amount: 1 }] });

    // Two more grinders: only one is left to refund.
    const over = stack.evotor.payback(STORES.spb.device, { baseDocumentId: sale.id, items: [{ ...GRINDER, productId: '101', quantity: 2 }] });
    await stack.evotor.flush();
    const stopped = await waitForRefund(stack, 'spb', over, 'NEEDS_ATTENTION');
    expect(stopped.problem?.message).toMatch(/product 101: 1 already refunded \+ 2 now would exceed the 2 sold/);
    expect(stockOf(stack, 2, 101).amount).toBe(before.grinder - 1);
    expect(stack.bitrix.snapshot().documents.filter((d) => d.title === `POS refund ${over.id}`)).toHaveLength(0);

    // The rest of the sale: everything is back.
    const rest = stack.evotor.payback(STORES.spb.device, {
      baseDocumentId: sale.id,
      items: [
        { ...GRINDER, productId: '101', quantity: 1 },
        { ...BEANS, productId: '102', quantity: 1 },
      ],
    });
    await stack.evotor.flush();
    const last = await waitForRefund(stack, 'spb', rest, 'COMPLETED');
    expect(last.decision).toMatchObject({ fullyRefunded: true, refundedAmount: 2 * 249000 + 159050 });
    expect(stockOf(stack, 2, 101).amount).toBe(before.grinder);
    expect(stockOf(stack, 2, 102).amount).toBe(before.beans);
    await new Promise((r) => setTimeout(r, 1000)); // a doubled return would show by now
    expect(stockOf(stack, 2, 101).amount).toBe(before.grinder);
  });
});

describe('two partial refunds of one walk-in sale at the same moment', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: refundPosConfig() });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('cannot both pass when together they exceed the sale: the ledger lets one through and stops the other', async () => {
    const before = stockOf(stack, 1, 103).amount;
    const sale = stack.evotor.sell(STORES.msk.device, { items: [{ productId: '103', name: 'Книга «Кофе»', price: '799.00', quantity: 3, vatRate: 0.1 }] });
    await stack.evotor.flush();
    await eventually(() => (stockOf(stack, 1, 103).amount === before - 3 ? true : undefined), 'the walk-in sale written off');

    const book = { productId: '103', name: 'Книга «Кофе»', price: '799.00', quantity: 2, vatRate: 0.1 };
    const a = stack.evotor.payback(STORES.msk.device, { baseDocumentId: sale.id, items: [book] });
    const b = stack.evotor.payback(STORES.msk.device, { baseDocumentId: sale.id, items: [book] });
    await stack.evotor.flush();
    const outcomes = await eventually(async () => {
      const states = await Promise.all([a, b].map((r) => stack.client.workflow.getHandle(`refund:${STORES.msk.terminalStore}:${r.id}`).query(refundStatusQuery)));
      const stages = states.map((s) => s.stage).sort();
      return stages[0] === 'COMPLETED' && stages[1] === 'NEEDS_ATTENTION' ? states : undefined;
    }, 'one refund through, one stopped');
    const stopped = outcomes.find((s) => s.stage === 'NEEDS_ATTENTION')!;
    expect(stopped.problem?.message).toMatch(/product 103: 2 already refunded \+ 2 now would exceed the 3 sold/);
    expect(stockOf(stack, 1, 103).amount).toBe(before - 1);
  });
});

describe('refund of a walk-in sale reported by middleware', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ posConfigYaml: refundPosConfig() });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('names its sale by baseReceiptId; the goods go back to the store warehouse once, a resend is a duplicate', async () => {
    const before = stockOf(stack, 3, 102).amount;
    const sale = walkInReceipt('ekb-3', [{ productId: '102', quantity: 3, price: 159050 }]);
    expect((await postSignedBatch(stack.apiUrl, stack.middlewareKeys, [sale])).body.results?.[0].status).toBe('accepted');
    await eventually(() => (stockOf(stack, 3, 102).amount === before - 3 ? true : undefined), 'the walk-in sale written off');

    const refund = walkInReceipt('ekb-3', [{ productId: '102', quantity: 2, price: 159050 }], { type: 'PAYBACK', baseReceiptId: sale.receiptId });
    const first = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, [refund]);
    expect(first.body.results?.[0]).toMatchObject({ status: 'accepted', workflowId: `refund:ekb-3:${refund.receiptId}` });
    const done = await eventually(async () => {
      const s = await stack.client.workflow.getHandle(`refund:ekb-3:${refund.receiptId}`).query(refundStatusQuery);
      return s.stage === 'COMPLETED' ? s : undefined;
    }, 'the middleware refund reversed');
    expect(done).toMatchObject({ sale: { kind: 'walk-in' }, saleReceiptId: sale.receiptId, lines: [{ productId: '102', quantity: 2 }] });
    expect(stockOf(stack, 3, 102).amount).toBe(before - 1);
    expect(atolRefundsOf(stack, refund.receiptId)).toHaveLength(0);

    const again = await postSignedBatch(stack.apiUrl, stack.middlewareKeys, [refund], { idempotencyKey: 'resend', timestamp: Math.floor(Date.now() / 1000) + 1 });
    expect(again.body.results?.[0].status).toBe('duplicate');
    await new Promise((r) => setTimeout(r, 1000));
    expect(stockOf(stack, 3, 102).amount).toBe(before - 1);
  });
});
