import { atolRefundExternalId, decideClaim, formatRefundComment, parseRefundComment, type LedgerEntry, type SaleFacts } from '../domain/refund';

// The rules a sale's ledger applies to each refund claim: never more than was sold or paid, in total.
describe('refund ledger rules', () => {
  const sale: SaleFacts = {
    saleKey: 'order:42',
    kind: 'order',
    orderId: '42',
    storeId: 'msk-1',
    sold: [
      { productId: '101', quantity: 1 },
      { productId: '102', quantity: 2 },
    ],
    paid: 567100,
    currency: 'RUB',
  };
  const entry = (refundId: string, lines: LedgerEntry['lines'], amount: number): LedgerEntry => ({ refundId, lines, amount, completed: true });

  it('the whole sale in one refund', () => {
    expect(decideClaim(sale, [], { refundId: 'r1', lines: sale.sold, amount: 567100 })).toMatchObject({ outcome: 'reserved', wholeSale: true, fullyRefunded: true, refundedAmount: 567100 });
  });

  it('a receipt without lines is the whole sale, and only then', () => {
    expect(decideClaim(sale, [], { refundId: 'r1', lines: [], amount: 567100 })).toMatchObject({ outcome: 'reserved', wholeSale: true, lines: sale.sold });
    expect(decideClaim(sale, [], { refundId: 'r1', lines: [], amount: 100 })).toMatchObject({ outcome: 'refused' });
  });

  it('partial refunds add up to the whole, which the last one completes', () => {
    const first = entry('r1', [{ productId: '102', quantity: 1 }], 159050);
    const second = decideClaim(sale, [first], { refundId: 'r2', lines: [{ productId: '101', quantity: 1 }, { productId: '102', quantity: 1 }], amount: 408050 });
    expect(second).toMatchObject({ outcome: 'reserved', wholeSale: false, fullyRefunded: true, refundedAmount: 567100, refunds: [{ refundId: 'r1', amount: 159050 }, { refundId: 'r2', amount: 408050 }] });
  });

  it('refuses more of a product than was sold, a product not sold, and more money than was paid', () => {
    const first = entry('r1', [{ productId: '102', quantity: 2 }], 318100);
    expect(decideClaim(sale, [first], { refundId: 'r2', lines: [{ productId: '102', quantity: 0.5 }], amount: 10 })).toEqual({
      refundId: 'r2',
      outcome: 'refused',
      reason: 'product 102: 2 already refunded + 0.5 now would exceed the 2 sold',
    });
    expect(decideClaim(sale, [], { refundId: 'r2', lines: [{ productId: '999', quantity: 1 }], amount: 10 })).toMatchObject({ outcome: 'refused', reason: 'product 999 was not sold in this sale' });
    expect(decideClaim(sale, [first], { refundId: 'r2', lines: [{ productId: '101', quantity: 1 }], amount: 300000 })).toMatchObject({
      outcome: 'refused',
      reason: '318100 kopecks already refunded + 300000 now would exceed the 567100 paid',
    });
  });

  it('the Bitrix payment comment lists every refund and reads back the same', () => {
    const refunds = new Map([
      ['a1b2', 159050],
      ['c3d4', 408050],
    ]);
    const comment = formatRefundComment(refunds, 567100, 'RUB');
    expect(comment).toBe('POS refunds: a1b2 1590.50; c3d4 4080.50 | total 5671.00 of 5671.00 RUB');
    expect(parseRefundComment(comment)).toEqual(refunds);
    expect(parseRefundComment('written by a manager')).toEqual(new Map());
  });

  it('the ATOL external_id comes from the refund receipt and stays within 128 characters', () => {
    expect(atolRefundExternalId('0b4f7c1e-1b8a-4c55-9a4e-1c1f0e2a7d10', 1)).toBe('pos-refund-0b4f7c1e-1b8a-4c55-9a4e-1c1f0e2a7d10');
    expect(atolRefundExternalId('r', 2)).toBe('pos-refund-r-2');
    const long = 'x'.repeat(128);
    expect(atolRefundExternalId(long, 9).length).toBeLessThanOrEqual(128);
    expect(atolRefundExternalId(long, 1)).not.toBe(atolRefundExternalId(`${'x'.repeat(127)}y`, 1));
  });
});
