/** ATOL's wall-clock format `dd.MM.yyyy HH:mm:ss`, rendered in and parsed from a store's IANA time zone. */

const ATOL_DATE_TIME = /^(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})$/;

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let fmt = formats.get(timeZone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-GB', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit',
      });
    } catch {
      throw new RangeError(`unknown time zone: ${timeZone}`);
    }
    formats.set(timeZone, fmt);
  }
  return fmt;
}

interface WallClock { year: number; month: number; day: number; hour: number; minute: number; second: number }

function wallClock(date: Date, timeZone: string): WallClock {
  const parts = Object.fromEntries(formatFor(timeZone).formatToParts(date).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year), month: Number(parts.month), day: Number(parts.day),
    hour: Number(parts.hour), minute: Number(parts.minute), second: Number(parts.second),
  };
}

const two = (n: number): string => String(n).padStart(2, '0');

/** `dd.MM.yyyy HH:mm:ss` of an instant as the clock in `timeZone` shows it. */
export function formatAtolDateTime(date: Date, timeZone: string): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('not a valid Date');
  const w = wallClock(date, timeZone);
  return `${two(w.day)}.${two(w.month)}.${w.year} ${two(w.hour)}:${two(w.minute)}:${two(w.second)}`;
}

/** Offset of `timeZone` from UTC at an instant, in ms (Moscow: +3 h). */
function offsetMs(instant: number, timeZone: string): number {
  const w = wallClock(new Date(instant), timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant a wall-clock `dd.MM.yyyy HH:mm:ss` in `timeZone` denotes. Also accepts ISO 8601 with an
 * explicit offset or `Z`, in case ATOL answers that way. Throws on anything else.
 */
export function parseAtolDateTime(text: string, timeZone: string): Date {
  const m = ATOL_DATE_TIME.exec(text.trim());
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(text.trim())) {
      const d = new Date(text.trim());
      if (!Number.isNaN(d.getTime())) return d;
    }
    throw new RangeError(`not an ATOL date-time (dd.MM.yyyy HH:mm:ss): ${JSON.stringify(text)}`);
  }
  const [, dd, mm, yyyy, hh, mi, ss] = m.map(Number);
  if (!isValidWallClock(yyyy, mm, dd, hh, mi, ss)) throw new RangeError(`not a valid date-time: ${JSON.stringify(text)}`);
  const asUtc = Date.UTC(yyyy, mm - 1, dd, hh, mi, ss);
  // Two passes settle the offset around DST changes (Russia has none now; other zones may).
  let instant = asUtc - offsetMs(asUtc, timeZone);
  instant = asUtc - offsetMs(instant, timeZone);
  return new Date(instant);
}

/** Whether `dd.MM.yyyy HH:mm:ss` names a real calendar moment. */
export function isValidAtolDateTime(text: string): boolean {
  const m = ATOL_DATE_TIME.exec(text);
  if (!m) return false;
  const [, dd, mm, yyyy, hh, mi, ss] = m.map(Number);
  return isValidWallClock(yyyy, mm, dd, hh, mi, ss);
}

function isValidWallClock(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth;
}
