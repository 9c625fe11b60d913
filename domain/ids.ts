import { z } from 'zod';

/**
 * The one canonical form of every id that becomes part of a workflow id, a search attribute or a memo, and
 * the limits of the fields that travel with it. Every door and reconciliation check their input here, so
 * `029078082` and `29078082` can never become two workflows of one order. README "Public doors" lists them.
 */
export const LIMITS = {
  /** Bitrix order and product ids: decimal, no leading zero (Bitrix's own ids are int columns). */
  bitrixIdDigits: 18,
  /** Terminal receipt, device and store ids (Evotor uuids are 36 characters). */
  terminalIdLength: 128,
  /** The order number the customer sees (Bitrix accountNumber, e.g. "392" or "2026/392"). */
  accountNumberLength: 64,
  /** Lines per receipt; each line's product name. */
  linesPerReceipt: 500,
  lineNameLength: 256,
  /** A receipt's total: 100 million rubles, far above any pickup-point sale. */
  maxAmountKopecks: 10_000_000_000,
  /** One line's quantity (54-FZ quantities have up to 3 decimals). */
  maxQuantity: 100_000,
  quantityDecimals: 3,
  /** A Bitrix REST cashbox check's uuid (`check|<portal host>|<check id>`), part of its workflow id. */
  bitrixCheckUuidLength: 230,
} as const;

const BITRIX_ID = new RegExp(`^[1-9][0-9]{0,${LIMITS.bitrixIdDigits - 1}}$`);
/** Letters, digits, `.`, `_` and `-`: no `:` (the workflow-id separator), no space, nothing to quote. */
const TERMINAL_ID = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${LIMITS.terminalIdLength - 1}}$`);
const ACCOUNT_NUMBER = new RegExp(`^[\\p{L}\\p{N}][\\p{L}\\p{N}/._#-]{0,${LIMITS.accountNumberLength - 1}}$`, 'u');

/** The patterns as the published contracts state them (docs/middleware-openapi.yaml; a test keeps them equal). */
export const ID_PATTERNS = { bitrixId: BITRIX_ID.source, terminalId: TERMINAL_ID.source } as const;

/** Why `raw` is not a canonical Bitrix id (order or product), or undefined when it is. */
export function bitrixIdProblem(raw: string): string | undefined {
  if (BITRIX_ID.test(raw)) return undefined;
  if (/^0+[0-9]+$/.test(raw) && raw.length <= LIMITS.bitrixIdDigits + 8)
    return `not canonical: write it without leading zeros ("${raw.replace(/^0+/, '')}")`;
  if (/^[0-9]+$/.test(raw)) return raw === '0' || /^0+$/.test(raw) ? 'must be a positive number' : `at most ${LIMITS.bitrixIdDigits} digits`;
  return `a Bitrix id: digits without a leading zero, at most ${LIMITS.bitrixIdDigits}`;
}

/** Why `raw` is not a canonical terminal id (receipt, device, terminal store), or undefined when it is. */
export function terminalIdProblem(raw: string): string | undefined {
  if (TERMINAL_ID.test(raw)) return undefined;
  if (raw.length > LIMITS.terminalIdLength) return `at most ${LIMITS.terminalIdLength} characters (got ${raw.length})`;
  if (raw.trim() !== raw) return 'not canonical: no leading or trailing spaces';
  return 'letters, digits, ".", "_" and "-" only, starting with a letter or digit';
}

function refine(problem: (raw: string) => string | undefined) {
  return (value: string, ctx: z.RefinementCtx) => {
    const found = problem(value);
    if (found) ctx.addIssue({ code: 'custom', message: found });
  };
}

/** A Bitrix order id as every door takes it. */
export const OrderIdSchema = z.string({ error: 'required' }).superRefine(refine(bitrixIdProblem));
/** A Bitrix product id (middleware lines). */
export const ProductIdSchema = z.string({ error: 'required' }).superRefine(refine(bitrixIdProblem));
/** A terminal receipt, device or store id. */
export const TerminalIdSchema = z.string({ error: 'required' }).superRefine(refine(terminalIdProblem));
export const AccountNumberSchema = z
  .string()
  .max(LIMITS.accountNumberLength, `at most ${LIMITS.accountNumberLength} characters`)
  .regex(ACCOUNT_NUMBER, 'letters, digits, "/", ".", "_", "#" and "-" only');
/** A receipt's total in kopecks, as a door accepts it: positive (the receipt type says the direction) and plausible. */
export const AmountSchema = z
  .number()
  .int('kopecks: an integer')
  .positive('must be positive (the receipt type says the direction)')
  .max(LIMITS.maxAmountKopecks, `at most ${LIMITS.maxAmountKopecks} kopecks`);
export const QuantitySchema = z
  .number()
  .positive('must be positive')
  .max(LIMITS.maxQuantity, `at most ${LIMITS.maxQuantity}`)
  .refine((q) => Math.abs(Math.round(q * 1000) - q * 1000) < 1e-6, `at most ${LIMITS.quantityDecimals} decimals`);
export const LineNameSchema = z.string().min(1, 'required').max(LIMITS.lineNameLength, `at most ${LIMITS.lineNameLength} characters`);

/** Bitrix's check uuid (`check|<portal host>|<check id>`, CashboxRest::buildUuid): host letters, digits, `.`, `:`, `-`. */
const CHECK_UUID = /^check\|[A-Za-z0-9.:-]{1,200}\|[1-9][0-9]{0,17}$/;

/** Why `raw` is not a Bitrix check uuid we take, or undefined when it is. */
export function checkUuidProblem(raw: string): string | undefined {
  if (raw.length > LIMITS.bitrixCheckUuidLength) return `at most ${LIMITS.bitrixCheckUuidLength} characters (got ${raw.length})`;
  if (CHECK_UUID.test(raw)) return undefined;
  return 'a Bitrix check uuid "check|<portal host>|<check id>"';
}
