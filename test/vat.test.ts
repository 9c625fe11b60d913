import { atolVatTag, isVatTagValidOn, vatAmount, vatPercent, ATOL_VAT_TAGS } from '../domain/vat';

const in2025 = new Date('2025-06-15T09:00:00Z');
const in2026 = new Date('2026-03-15T09:00:00Z');

describe('atolVatTag picks the tag valid on the receipt date', () => {
  it('maps 22% to vat22 in 2026 and vat122 for prepayment receipts', () => {
    expect(atolVatTag(0.22, in2026)).toBe('vat22');
    expect(atolVatTag(0.22, in2026, { calculated: true })).toBe('vat122');
  });

  it('maps 20% to vat20/vat120 for receipts dated 2025', () => {
    expect(atolVatTag(0.2, in2025)).toBe('vat20');
    expect(atolVatTag(0.2, in2025, { calculated: true })).toBe('vat120');
  });

  it('rejects 20% in 2026 with a message a support person can act on', () => {
    expect(() => atolVatTag(0.2, in2026)).toThrow(/20% is not valid on 2026-03-15.*22% since 2026-01-01/);
    expect(() => atolVatTag(0.2, in2026, { calculated: true })).toThrow(RangeError);
  });

  it('rejects 22% before 2026', () => {
    expect(() => atolVatTag(0.22, in2025)).toThrow(/22% is not valid on 2025-06-15/);
  });

  it('maps the other rates whatever the date', () => {
    for (const date of [in2025, in2026]) {
      expect(atolVatTag(null, date)).toBe('none');
      expect(atolVatTag(0, date)).toBe('vat0');
      expect(atolVatTag(0.1, date)).toBe('vat10');
      expect(atolVatTag(0.1, date, { calculated: true })).toBe('vat110');
      expect(atolVatTag(0.05, date)).toBe('vat5');
      expect(atolVatTag(0.05, date, { calculated: true })).toBe('vat105');
      expect(atolVatTag(0.07, date)).toBe('vat7');
      expect(atolVatTag(0.07, date, { calculated: true })).toBe('vat107');
    }
  });

  it('tolerates float noise in Bitrix fractions', () => {
    expect(atolVatTag(0.1 + 0.12, in2026)).toBe('vat22');
    expect(atolVatTag(0.22000000000000003, in2026)).toBe('vat22');
  });

  it('rejects what is not a Russian VAT rate, including percent given as a whole number', () => {
    expect(() => atolVatTag(0.18, in2026)).toThrow(/18% is not a Russian VAT rate/);
    expect(() => atolVatTag(22, in2026)).toThrow(/fraction/);
    expect(() => atolVatTag(-0.1, in2026)).toThrow(/fraction/);
    expect(() => atolVatTag(Number.NaN, in2026)).toThrow(/fraction/);
    expect(() => atolVatTag(0.225, in2026)).toThrow(/whole percent/);
  });

  it('decides the day on the Moscow calendar by default, or on the store calendar given', () => {
    const moscowNewYear = new Date('2025-12-31T21:30:00Z'); // 00:30 on 1 January in Moscow
    expect(atolVatTag(0.22, moscowNewYear)).toBe('vat22');
    expect(() => atolVatTag(0.2, moscowNewYear)).toThrow(RangeError);
    expect(atolVatTag(0.2, moscowNewYear, { timeZone: 'Europe/Kaliningrad' })).toBe('vat20'); // 23:30 on 31 December
    expect(atolVatTag(0.22, new Date('2025-12-31T15:30:00Z'), { timeZone: 'Asia/Vladivostok' })).toBe('vat22');
  });

  it('names an unknown time zone', () => {
    expect(() => atolVatTag(0.22, in2026, { timeZone: 'Mars/Olympus' })).toThrow(/unknown time zone: Mars\/Olympus/);
  });
});

describe('isVatTagValidOn', () => {
  it('allows vat20/vat120 only before 2026 and vat22/vat122 only from 2026', () => {
    expect(isVatTagValidOn('vat20', in2025)).toBe(true);
    expect(isVatTagValidOn('vat120', in2025)).toBe(true);
    expect(isVatTagValidOn('vat20', in2026)).toBe(false);
    expect(isVatTagValidOn('vat120', in2026)).toBe(false);
    expect(isVatTagValidOn('vat22', in2025)).toBe(false);
    expect(isVatTagValidOn('vat122', in2025)).toBe(false);
    expect(isVatTagValidOn('vat22', in2026)).toBe(true);
    expect(isVatTagValidOn('vat122', in2026)).toBe(true);
  });

  it('allows the other tags on any date', () => {
    for (const tag of ['none', 'vat0', 'vat5', 'vat7', 'vat10', 'vat105', 'vat107', 'vat110'] as const) {
      expect(isVatTagValidOn(tag, in2025)).toBe(true);
      expect(isVatTagValidOn(tag, in2026)).toBe(true);
    }
  });

  it('switches at midnight 1 January 2026 in the given zone', () => {
    expect(isVatTagValidOn('vat20', new Date('2025-12-31T20:59:59Z'))).toBe(true);
    expect(isVatTagValidOn('vat20', new Date('2025-12-31T21:00:00Z'))).toBe(false);
    expect(isVatTagValidOn('vat22', new Date('2025-12-31T21:00:00Z'))).toBe(true);
    expect(isVatTagValidOn('vat20', new Date('2025-12-31T21:00:00Z'), 'UTC')).toBe(true);
  });
});

describe('vatAmount', () => {
  it('extracts VAT from a VAT-inclusive amount in kopecks, half-up', () => {
    expect(vatAmount(12200, 'vat22')).toBe(2200);
    expect(vatAmount(12200, 'vat122')).toBe(2200);
    expect(vatAmount(259800, 'vat22')).toBe(46849); // 46849.18
    expect(vatAmount(29768, 'vat10')).toBe(2706); // 2706.18
    expect(vatAmount(12000, 'vat20')).toBe(2000);
    expect(vatAmount(11000, 'vat110')).toBe(1000);
    expect(vatAmount(10500, 'vat5')).toBe(500);
    expect(vatAmount(10700, 'vat107')).toBe(700);
  });

  it('rounds to the nearest kopeck, an exact half up and away from zero', () => {
    expect(vatAmount(1, 'vat10')).toBe(0); // 0.09
    expect(vatAmount(6, 'vat10')).toBe(1); // 0.55
    expect(vatAmount(427, 'vat10')).toBe(39); // 38.82
    expect(vatAmount(8, 'vat7')).toBe(1); // 0.52
    expect(vatAmount(7, 'vat7')).toBe(0); // 0.46
    // Only 20/120 produces exact halves: sum / 6.
    expect(vatAmount(3, 'vat20')).toBe(1); // 0.5
    expect(vatAmount(9, 'vat120')).toBe(2); // 1.5
    expect(vatAmount(-3, 'vat20')).toBe(-1);
    expect(vatAmount(-259800, 'vat22')).toBe(-46849);
  });

  it('is zero without VAT and rejects fractions of a kopeck', () => {
    expect(vatAmount(12345, 'none')).toBe(0);
    expect(vatAmount(12345, 'vat0')).toBe(0);
    expect(() => vatAmount(100.5, 'vat22')).toThrow(/integer number of kopecks/);
  });

  it('knows every tag', () => {
    expect(ATOL_VAT_TAGS.map(vatPercent)).toEqual([0, 0, 5, 7, 10, 22, 5, 7, 10, 22, 20, 20]);
  });
});
