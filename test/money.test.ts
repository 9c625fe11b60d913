import { kopecksToRubles, lineTotal, rublesToKopecks } from '../domain/money';

describe('money in kopecks', () => {
  it.each([
    ['1234.50', 123450],
    ['1234.5', 123450],
    [1234.5, 123450],
    ['0.1', 10],
    [0.1 + 0.2, 30],
    ['100', 10000],
    [19.99, 1999],
    ['-5.05', -505],
    ['  7.00 ', 700],
  ])('parses %p as %p kopecks', (input, expected) => {
    expect(rublesToKopecks(input)).toBe(expected);
  });

  it.each(['1.005', 'abc', '', '1,50', 'NaN'])('rejects %p naming the field', (input) => {
    expect(() => rublesToKopecks(input, 'data.totalAmount')).toThrow(/data\.totalAmount/);
  });

  it('renders kopecks as rubles with two decimals', () => {
    expect(kopecksToRubles(123450)).toBe('1234.50');
    expect(kopecksToRubles(5)).toBe('0.05');
    expect(kopecksToRubles(-505)).toBe('-5.05');
    expect(() => kopecksToRubles(1.5)).toThrow();
  });

  it('computes line totals for fractional quantities without float drift', () => {
    expect(lineTotal(1999, 3)).toBe(5997);
    expect(lineTotal(33333, 0.333)).toBe(11100);
    expect(lineTotal(10, 0.1)).toBe(1);
  });
});
