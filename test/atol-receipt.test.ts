import type { OrderItem, OrderSnapshot } from '../domain/order';
import { buildAtolRefundReceipt, buildAtolSellReceipt, type AtolSellReceiptInput } from '../activities/atol/receipt';
import { formatAtolDateTime, parseAtolDateTime } from '../activities/atol/time';
import { atolFixture } from './fixtures/atol/fixtures';

function item(overrides: Partial<OrderItem> = {}): OrderItem {
  return {
    basketId: '255', productId: '10', name: 'Товар', price: 10000, quantity: 1,
    vatRate: 0.22, vatIncluded: true, measureCode: '796', reservations: [], ...overrides,
  };
}

/** The order behind test/fixtures/atol/sell.request.json. */
function order(overrides: Partial<OrderSnapshot> = {}): OrderSnapshot {
  const items = overrides.items ?? [
    item({ basketId: '255', name: 'Кофе в зёрнах Арабика 1 кг', price: 129900, quantity: 2, vatRate: 0.22 }),
    item({ basketId: '256', name: 'Сыр Российский весовой', price: 85050, quantity: 0.35, vatRate: 0.1, measureCode: '166' }),
    item({ basketId: '257', name: 'Пакет-майка', price: 500, quantity: 1, vatRate: null }),
  ];
  return {
    id: '236', accountNumber: '392', currency: 'RUB', total: 290068, statusId: 'N', paid: false, canceled: false,
    deducted: false, items, payments: [], shipments: [], buyer: { email: 'buyer@example.ru', phone: '+7 (999) 123-45-67' },
    ...overrides,
  };
}

function input(overrides: Partial<AtolSellReceiptInput> = {}): AtolSellReceiptInput {
  return {
    order: order(),
    externalId: 'pos-payment:236:sell',
    receiptTime: new Date('2026-03-15T09:30:00Z'),
    timeZone: 'Europe/Moscow',
    company: { email: 'shop@example.ru', sno: 'osn', inn: '7701234567', paymentAddress: 'https://shop.example.ru' },
    kind: 'full_payment',
    callbackUrl: 'https://bridge.example.ru/api/atol/callback',
    ...overrides,
  };
}

describe('buildAtolSellReceipt', () => {
  it('builds exactly the hand-written v5 sell body of the contract fixture', () => {
    expect(buildAtolSellReceipt(input())).toEqual(atolFixture('sell.request'));
  });

  it('adds up item sums from kopecks: total = Σ items = Σ payments, rubles with ≤2 decimals', () => {
    const body = buildAtolSellReceipt(input({
      order: order({
        total: 30 + 20 * 3,
        items: [item({ basketId: '1', price: 10, quantity: 3, vatRate: 0.1 }), item({ basketId: '2', price: 20, quantity: 3, vatRate: 0.1 })],
      }),
    }));
    expect(body.receipt.items.map((i) => i.sum)).toEqual([0.3, 0.6]);
    expect(body.receipt.total).toBe(0.9);
    expect(body.receipt.payments).toEqual([{ type: 1, sum: 0.9 }]);
    for (const n of [...body.receipt.items.flatMap((i) => [i.price, i.sum, i.vat.sum ?? 0]), body.receipt.total]) {
      expect(String(n)).toMatch(/^\d+(\.\d{1,2})?$/);
    }
  });

  it('offsets a 100% prepayment with payment type 2 and full_payment items at the plain (not calculated) rate', () => {
    const body = buildAtolSellReceipt(input({ kind: 'prepayment_offset' }));
    expect(body.receipt.payments).toEqual([{ type: 2, sum: 2900.68 }]);
    expect(body.receipt.items.every((i) => i.payment_method === 'full_payment')).toBe(true);
    expect(body.receipt.items[0].vat.type).toBe('vat22');
  });

  it('renders timestamp dd.MM.yyyy HH:mm:ss on the store clock', () => {
    const at = new Date('2026-03-15T21:05:09Z');
    expect(buildAtolSellReceipt(input({ receiptTime: at })).timestamp).toBe('16.03.2026 00:05:09');
    expect(buildAtolSellReceipt(input({ receiptTime: at, timeZone: 'Europe/Kaliningrad' })).timestamp).toBe('15.03.2026 23:05:09');
    expect(buildAtolSellReceipt(input({ receiptTime: at, timeZone: 'Asia/Vladivostok' })).timestamp).toBe('16.03.2026 07:05:09');
    expect(() => buildAtolSellReceipt(input({ timeZone: 'Moscow' }))).toThrow(/unknown time zone: Moscow/);
  });

  it('truncates item names to 128 characters without splitting a character', () => {
    const long = 'Ж'.repeat(200);
    const emoji = `${'x'.repeat(127)}😀tail`;
    const body = buildAtolSellReceipt(input({
      order: order({ total: 20000, items: [item({ basketId: '1', name: long }), item({ basketId: '2', name: emoji })] }),
    }));
    expect(body.receipt.items[0].name).toBe('Ж'.repeat(128));
    expect(body.receipt.items[1].name).toBe('x'.repeat(127));
  });

  it('prefers the email and falls back to the phone in +7 form', () => {
    expect(buildAtolSellReceipt(input()).receipt.client).toEqual({ email: 'buyer@example.ru' });
    const phoneOnly = (phone: string): unknown =>
      buildAtolSellReceipt(input({ order: order({ buyer: { phone } }) })).receipt.client;
    expect(phoneOnly('+7 (999) 123-45-67')).toEqual({ phone: '+79991234567' });
    expect(phoneOnly('8 999 123 45 67')).toEqual({ phone: '+79991234567' });
    expect(phoneOnly('9991234567')).toEqual({ phone: '+79991234567' });
    expect(buildAtolSellReceipt(input({ order: order({ buyer: { email: 'not-an-email', phone: '89991234567' } }) })).receipt.client)
      .toEqual({ phone: '+79991234567' });
  });

  it('refuses a receipt without a buyer contact, naming the order properties to fill', () => {
    expect(() => buildAtolSellReceipt(input({ order: order({ buyer: {} }) })))
      .toThrow(/order 392: a fiscal receipt needs the buyer's email or phone \(order property EMAIL or PHONE/);
    expect(() => buildAtolSellReceipt(input({ order: order({ buyer: { email: ' ', phone: '12' } }) }))).toThrow(/EMAIL or PHONE/);
  });

  it('maps OKEI measure codes to v5 measures', () => {
    const codes = ['796', '166', '112', '163', '006', '111', undefined, '999'];
    const body = buildAtolSellReceipt(input({
      order: order({ total: 10000 * codes.length, items: codes.map((c, i) => item({ basketId: String(i), measureCode: c })) }),
    }));
    expect(body.receipt.items.map((i) => i.measure)).toEqual([0, 11, 41, 10, 22, 40, 0, 255]);
  });

  it('refuses 20% VAT on a 2026 receipt, naming the basket item', () => {
    const bad = order({ total: 10000, items: [item({ basketId: '777', vatRate: 0.2 })] });
    expect(() => buildAtolSellReceipt(input({ order: bad }))).toThrow(/order 392, basket item 777: VAT rate 20% is not valid on 2026-03-15/);
    const ok = buildAtolSellReceipt(input({ order: bad, receiptTime: new Date('2025-12-30T09:00:00Z') }));
    expect(ok.receipt.items[0].vat).toEqual({ type: 'vat20', sum: 16.67 });
  });

  it('refuses an order whose total is not the sum of its items (delivery, order discount)', () => {
    expect(() => buildAtolSellReceipt(input({ order: order({ total: 320068 }) })))
      .toThrow(/order 392: items add up to 290068 kopecks but the order total is 320068/);
  });

  it('refuses what ATOL would reject: >100 items, zero quantity, VAT-exclusive prices, bad external ids', () => {
    const many = Array.from({ length: 101 }, (_, i) => item({ basketId: String(i) }));
    expect(() => buildAtolSellReceipt(input({ order: order({ items: many, total: 1010000 }) }))).toThrow(/101 items, ATOL takes at most 100/);
    expect(() => buildAtolSellReceipt(input({ order: order({ items: [item({ quantity: 0 })], total: 0 }) }))).toThrow(/quantity 0 must be > 0/);
    expect(() => buildAtolSellReceipt(input({ order: order({ items: [item({ quantity: 0.0001 })], total: 1 }) }))).toThrow(/at most 3 decimals/);
    expect(() => buildAtolSellReceipt(input({ order: order({ items: [item({ vatIncluded: false })], total: 10000 }) }))).toThrow(/excludes VAT/);
    expect(() => buildAtolSellReceipt(input({ externalId: '' }))).toThrow(/externalId/);
    expect(() => buildAtolSellReceipt(input({ externalId: 'x'.repeat(129) }))).toThrow(/externalId/);
    expect(() => buildAtolSellReceipt(input({ order: order({ items: [], total: 0 }) }))).toThrow(/at least one item/);
  });

  it('omits service when there is no callback URL', () => {
    expect(buildAtolSellReceipt(input({ callbackUrl: undefined }))).not.toHaveProperty('service');
  });
});

describe('buildAtolRefundReceipt', () => {
  const refund = (overrides: Partial<Parameters<typeof buildAtolRefundReceipt>[0]> = {}) =>
    buildAtolRefundReceipt({ ...input({ externalId: 'refund:236:1' }), saleTime: new Date('2026-03-15T09:30:00Z'), ...overrides });

  it('refunds the whole order by default, with the sale\'s payment type', () => {
    const body = refund();
    expect(body.receipt.total).toBe(2900.68);
    expect(body.receipt.payments).toEqual([{ type: 1, sum: 2900.68 }]);
    expect(refund({ kind: 'prepayment_offset' }).receipt.payments).toEqual([{ type: 2, sum: 2900.68 }]);
  });

  it('refunds a subset of lines and quantities', () => {
    const body = refund({ lines: [{ basketId: '255', quantity: 1 }, { basketId: '256', quantity: 0.1 }] });
    expect(body.receipt.items.map((i) => [i.name, i.quantity, i.sum, i.vat])).toEqual([
      ['Кофе в зёрнах Арабика 1 кг', 1, 1299, { type: 'vat22', sum: 234.25 }],
      ['Сыр Российский весовой', 0.1, 85.05, { type: 'vat10', sum: 7.73 }],
    ]);
    expect(body.receipt.total).toBe(1384.05);
    expect(body.receipt.payments).toEqual([{ type: 1, sum: 1384.05 }]);
  });

  it('keeps the VAT rate of the sale: a 2025 sale is refunded in 2026 with vat20', () => {
    const old = order({ total: 12000, items: [item({ basketId: '1', price: 12000, vatRate: 0.2 })] });
    const body = refund({ order: old, saleTime: new Date('2025-11-20T10:00:00Z'), receiptTime: new Date('2026-02-01T10:00:00Z') });
    expect(body.timestamp).toBe('01.02.2026 13:00:00');
    expect(body.receipt.items[0].vat).toEqual({ type: 'vat20', sum: 20 });
  });

  it('refuses lines that are not in the order, repeated, or more than was sold', () => {
    expect(() => refund({ lines: [{ basketId: '999', quantity: 1 }] })).toThrow(/basket item 999 is not in order 392/);
    expect(() => refund({ lines: [{ basketId: '255', quantity: 1 }, { basketId: '255', quantity: 1 }] })).toThrow(/listed twice/);
    expect(() => refund({ lines: [{ basketId: '255', quantity: 3 }] })).toThrow(/must be > 0 and ≤ 2/);
    expect(() => refund({ lines: [{ basketId: '255', quantity: 0 }] })).toThrow(/must be > 0/);
    expect(() => refund({ lines: [] })).toThrow(/at least one item/);
  });
});

describe('ATOL date-times', () => {
  it('formats and parses dd.MM.yyyy HH:mm:ss in a time zone', () => {
    const at = new Date('2026-03-15T09:30:05Z');
    expect(formatAtolDateTime(at, 'Europe/Moscow')).toBe('15.03.2026 12:30:05');
    expect(parseAtolDateTime('15.03.2026 12:30:05', 'Europe/Moscow').toISOString()).toBe('2026-03-15T09:30:05.000Z');
    expect(parseAtolDateTime('01.01.2026 00:00:00', 'Asia/Yekaterinburg').toISOString()).toBe('2025-12-31T19:00:00.000Z');
    expect(parseAtolDateTime('29.03.2026 12:30:00', 'Europe/Berlin').toISOString()).toBe('2026-03-29T10:30:00.000Z');
    expect(parseAtolDateTime('28.03.2026 12:30:00', 'Europe/Berlin').toISOString()).toBe('2026-03-28T11:30:00.000Z');
    expect(parseAtolDateTime('2026-03-15T12:30:05+03:00', 'Asia/Vladivostok').toISOString()).toBe('2026-03-15T09:30:05.000Z');
  });

  it('refuses what is not a real moment', () => {
    expect(() => parseAtolDateTime('31.02.2026 10:00:00', 'Europe/Moscow')).toThrow(/not a valid date-time/);
    expect(() => parseAtolDateTime('2026-03-15 12:30:05', 'Europe/Moscow')).toThrow(/dd.MM.yyyy HH:mm:ss/);
  });
});
