import { buildFermaIncomeReceipt, buildFermaIncomeReturnReceipt, type FermaIncomeReceiptInput } from '../activities/ferma/receipt';
import type { OrderItem, OrderSnapshot } from '../domain/order';
import { fermaFixture } from './fixtures/ferma/fixtures';

const item = (overrides: Partial<OrderItem>): OrderItem => ({
  basketId: '1', productId: '1', name: 'Item', price: 100_00, quantity: 1, vatRate: 0.22, vatIncluded: true, measureCode: '796', reservations: [], ...overrides,
});

/** The order behind test/fixtures/ferma/receipt.income.request.json. */
const order: OrderSnapshot = {
  id: '236', accountNumber: '392', currency: 'RUB', total: 290068, statusId: 'N', paid: false, canceled: false, deducted: false,
  items: [
    item({ basketId: '255', name: 'Кофе в зёрнах Арабика 1 кг', price: 129900, quantity: 2 }),
    item({ basketId: '256', name: '  Сыр Российский весовой ', price: 85050, quantity: 0.35, vatRate: 0.1, measureCode: '166' }),
    item({ basketId: '257', name: 'Пакет-майка', price: 500, quantity: 1, vatRate: null, vatIncluded: false }),
  ],
  payments: [], shipments: [], buyer: { email: 'buyer@example.ru', phone: '+7 912 345-67-89' },
};

const input = (overrides: Partial<FermaIncomeReceiptInput> = {}): FermaIncomeReceiptInput => ({
  order,
  invoiceId: 'pos-236-sell',
  receiptTime: new Date('2026-03-15T09:30:00Z'),
  timeZone: 'Europe/Moscow',
  company: { inn: '7701234567', email: 'shop@example.ru', sno: 'osn', paymentAddress: 'https://shop.example.ru' },
  kind: 'full_payment',
  callbackUrl: 'https://bridge.example.ru/webhooks/ferma/callback',
  ...overrides,
});

describe('buildFermaIncomeReceipt', () => {
  it('builds exactly the Income of the fixture: rubles at the wire, VAT per line by date, measure, card payment', () => {
    expect(buildFermaIncomeReceipt(input())).toEqual(fermaFixture('receipt.income.request'));
  });

  it('offsets the prepayment (PaymentItems type 2) for an order prepaid online; items stay full payment', () => {
    const body = buildFermaIncomeReceipt(input({ kind: 'prepayment_offset', callbackUrl: undefined }));
    expect(body.Request.CustomerReceipt.PaymentItems).toEqual([{ PaymentType: 2, Sum: 2900.68 }]);
    expect(body.Request.CustomerReceipt.Items.map((i) => i.PaymentMethod)).toEqual([4, 4, 4]);
    expect(body.Request).not.toHaveProperty('CallbackUrl');
  });

  it('maps the taxation system and falls back to the phone as +7XXXXXXXXXX', () => {
    const noEmail = { ...order, buyer: { email: 'not-an-email', phone: '8 (912) 345-67-89' } };
    const body = buildFermaIncomeReceipt(input({ order: noEmail, company: { ...input().company, sno: 'usn_income_outcome' } }));
    expect(body.Request.CustomerReceipt).toMatchObject({ TaxationSystem: 'SimpleInOut', Phone: '+79123456789' });
    expect(body.Request.CustomerReceipt).not.toHaveProperty('Email');
    expect(() => buildFermaIncomeReceipt(input({ order: { ...order, buyer: {} } }))).toThrow(/email or phone/);
  });

  it('refuses a 20% line on a 2026 receipt and a 22% line in 2025, naming the item', () => {
    const twenty = { ...order, items: [item({ vatRate: 0.2 })], total: 100_00 };
    expect(() => buildFermaIncomeReceipt(input({ order: twenty }))).toThrow(/basket item 1: VAT rate 20% is not valid on 2026-03-15/);
    const twentyTwo = { ...order, items: [item({})], total: 100_00 };
    expect(() => buildFermaIncomeReceipt(input({ order: twentyTwo, receiptTime: new Date('2025-12-01T10:00:00Z') }))).toThrow(/22% is not valid on 2025-12-01/);
  });

  it('takes the VAT day from the store\'s time zone: 21:30 UTC on 31.12.2025 is already 2026 in Moscow, not in Kaliningrad', () => {
    const one = { ...order, items: [item({})], total: 100_00 };
    const at = new Date('2025-12-31T21:30:00Z');
    expect(buildFermaIncomeReceipt(input({ order: one, receiptTime: at })).Request.CustomerReceipt.Items[0].Vat).toBe('Vat22');
    expect(() => buildFermaIncomeReceipt(input({ order: one, receiptTime: at, timeZone: 'Europe/Kaliningrad' }))).toThrow(/not valid on 2025-12-31/);
  });

  it('refuses an order whose items do not add up to its total, and invoice ids over 64 characters', () => {
    expect(() => buildFermaIncomeReceipt(input({ order: { ...order, total: 290000 } }))).toThrow(/items add up to 290068 kopecks/);
    expect(() => buildFermaIncomeReceipt(input({ invoiceId: 'x'.repeat(65) }))).toThrow(/invoiceId/);
  });

  it('truncates long names to 128 characters and maps unknown measures to OTHER', () => {
    const long = { ...order, items: [item({ name: 'Ж'.repeat(200), measureCode: '999' })], total: 100_00 };
    const [line] = buildFermaIncomeReceipt(input({ order: long })).Request.CustomerReceipt.Items;
    expect(line.Label).toHaveLength(128);
    expect(line.Measure).toBe('OTHER');
  });
});

describe('buildFermaIncomeReturnReceipt', () => {
  it('refunds chosen lines with the VAT of the sale date (Vat20 for a 2025 sale) and the sale\'s payment form', () => {
    const sold2025 = { ...order, items: order.items.map((i) => (i.vatRate === 0.22 ? { ...i, vatRate: 0.2 } : i)) };
    const body = buildFermaIncomeReturnReceipt({
      ...input({ order: sold2025, invoiceId: 'pos-236-refund-1', kind: 'prepayment_offset' }),
      saleTime: new Date('2025-11-20T10:00:00Z'),
      lines: [{ basketId: '255', quantity: 1 }, { basketId: '256', quantity: 0.35 }],
    });
    expect(body.Request).toMatchObject({ Type: 'IncomeReturn', InvoiceId: 'pos-236-refund-1' });
    expect(body.Request.CustomerReceipt.Items.map((i) => [i.Label, i.Amount, i.Vat])).toEqual([
      ['Кофе в зёрнах Арабика 1 кг', 1299, 'Vat20'],
      ['Сыр Российский весовой', 297.68, 'Vat10'],
    ]);
    expect(body.Request.CustomerReceipt.PaymentItems).toEqual([{ PaymentType: 2, Sum: 1596.68 }]);
  });

  it('refunds the whole order when no lines are given', () => {
    const body = buildFermaIncomeReturnReceipt({ ...input(), saleTime: new Date('2026-03-15T09:30:00Z') });
    expect(body.Request.CustomerReceipt.PaymentItems).toEqual([{ PaymentType: 1, Sum: 2900.68 }]);
    expect(body.Request.CustomerReceipt.Items).toHaveLength(3);
  });

  it('refuses unknown, repeated and over-quantity lines', () => {
    const refund = (lines: { basketId: string; quantity: number }[]) => () =>
      buildFermaIncomeReturnReceipt({ ...input(), saleTime: new Date('2026-03-15T09:30:00Z'), lines });
    expect(refund([{ basketId: '999', quantity: 1 }])).toThrow(/basket item 999 is not in order 392/);
    expect(refund([{ basketId: '255', quantity: 1 }, { basketId: '255', quantity: 1 }])).toThrow(/listed twice/);
    expect(refund([{ basketId: '255', quantity: 3 }])).toThrow(/must be > 0 and ≤ 2/);
  });
});
