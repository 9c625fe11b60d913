import type { Kopecks } from './money';

/** ATOL Online v5 VAT tags (receipt item `vat.type`, tag 1199). */
export const ATOL_VAT_TAGS = [
  'none', 'vat0', 'vat5', 'vat7', 'vat10', 'vat22',
  'vat105', 'vat107', 'vat110', 'vat122',
  'vat20', 'vat120',
] as const;

export type AtolVatTag = (typeof ATOL_VAT_TAGS)[number];

/** The calendar day (in Russia) from which VAT is 22% instead of 20% (Federal Law 425-FZ). */
export const VAT22_EFFECTIVE_FROM = '2026-01-01';

/** Time zone whose calendar decides which rate applies when the caller names none. */
export const DEFAULT_VAT_TIME_ZONE = 'Europe/Moscow';

interface TagInfo {
  /** Rate in whole percent; 0 for `none`. */
  percent: number;
  /** Only before VAT22_EFFECTIVE_FROM ('until'), only from it ('from'), or always. */
  validity: 'always' | 'until' | 'from';
}

const TAGS: Record<AtolVatTag, TagInfo> = {
  none: { percent: 0, validity: 'always' },
  vat0: { percent: 0, validity: 'always' },
  vat5: { percent: 5, validity: 'always' },
  vat7: { percent: 7, validity: 'always' },
  vat10: { percent: 10, validity: 'always' },
  vat22: { percent: 22, validity: 'from' },
  vat105: { percent: 5, validity: 'always' },
  vat107: { percent: 7, validity: 'always' },
  vat110: { percent: 10, validity: 'always' },
  vat122: { percent: 22, validity: 'from' },
  vat20: { percent: 20, validity: 'until' },
  vat120: { percent: 20, validity: 'until' },
};

/** Rate in percent → [plain tag, calculated tag (rate/(100+rate)) for prepayment receipts]. */
const BY_PERCENT: ReadonlyMap<number, readonly [AtolVatTag, AtolVatTag]> = new Map([
  [5, ['vat5', 'vat105']],
  [7, ['vat7', 'vat107']],
  [10, ['vat10', 'vat110']],
  [20, ['vat20', 'vat120']],
  [22, ['vat22', 'vat122']],
] as const);

export interface AtolVatTagOptions {
  /** Calculated rate (22/122 …) as prepayment and advance receipts need it. */
  calculated?: boolean;
  /** Whose calendar decides the day; default Europe/Moscow. */
  timeZone?: string;
}

/**
 * The ATOL VAT tag for one basket item. `rate` is Bitrix's fraction (0.22, 0.1, 0; null = no VAT).
 * Throws when the rate is not one Russia has on that date (e.g. 0.2 in 2026, 0.22 in 2025).
 */
export function atolVatTag(rate: number | null, receiptDate: Date, opts: AtolVatTagOptions = {}): AtolVatTag {
  if (rate === null) return 'none';
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate >= 1) {
    throw new RangeError(`VAT rate must be a fraction between 0 and 1 (e.g. 0.22) or null, got ${String(rate)}`);
  }
  const percent = Math.round(rate * 100);
  // Bitrix sends floats; anything not within float noise of a whole percent is not a Russian VAT rate.
  if (Math.abs(rate * 100 - percent) > 1e-6) throw new RangeError(`VAT rate ${rate} is not a whole percent`);
  if (percent === 0) return 'vat0';
  const pair = BY_PERCENT.get(percent);
  if (!pair) throw new RangeError(`VAT rate ${percent}% is not a Russian VAT rate`);
  const tag = opts.calculated ? pair[1] : pair[0];
  const day = calendarDay(receiptDate, opts.timeZone ?? DEFAULT_VAT_TIME_ZONE);
  if (!isValidOnDay(tag, day)) {
    const hint = percent === 20 ? 'VAT is 22% since 2026-01-01' : 'VAT was 20% before 2026-01-01';
    throw new RangeError(`VAT rate ${percent}% is not valid on ${day}: ${hint}; fix the item's VAT rate in Bitrix`);
  }
  return tag;
}

/** Whether a receipt dated `date` may carry this tag (vat20/vat120 only before 2026, vat22/vat122 only from it). */
export function isVatTagValidOn(tag: AtolVatTag, date: Date, timeZone: string = DEFAULT_VAT_TIME_ZONE): boolean {
  return isValidOnDay(tag, calendarDay(date, timeZone));
}

/** The rate of a tag in whole percent (vat122 → 22; none → 0). */
export function vatPercent(tag: AtolVatTag): number {
  const info = TAGS[tag];
  if (!info) throw new RangeError(`unknown ATOL VAT tag: ${String(tag)}`);
  return info.percent;
}

/**
 * VAT contained in a VAT-inclusive amount: sum × rate / (100 + rate), rounded half-up (away from zero)
 * to the kopeck, in integers only.
 */
export function vatAmount(sum: Kopecks, tag: AtolVatTag): Kopecks {
  if (!Number.isSafeInteger(sum)) throw new RangeError(`not an integer number of kopecks: ${sum}`);
  const rate = vatPercent(tag);
  if (rate === 0) return 0;
  const divisor = 100 + rate;
  const abs = Math.abs(sum);
  const rounded = Math.floor((2 * abs * rate + divisor) / (2 * divisor));
  return sum < 0 ? -rounded : rounded;
}

function isValidOnDay(tag: AtolVatTag, day: string): boolean {
  const info = TAGS[tag];
  if (!info) return false;
  if (info.validity === 'always') return true;
  const before = day < VAT22_EFFECTIVE_FROM;
  return info.validity === 'until' ? before : !before;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** `yyyy-MM-dd` of an instant in a time zone (sorts as a string). */
function calendarDay(date: Date, timeZone: string): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new RangeError('receipt date is not a valid Date');
  let fmt = dayFormats.get(timeZone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch {
      throw new RangeError(`unknown time zone: ${timeZone}`);
    }
    dayFormats.set(timeZone, fmt);
  }
  const parts = Object.fromEntries(fmt.formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}
