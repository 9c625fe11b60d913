import { z } from 'zod';
import { ATOL_VAT_TAGS } from '../../domain/vat';
import { lenient } from '../shared/lenient';

/** ATOL Online v5 wire format (FFD 1.2), as docs/external-apis.md §4 describes it. Money in rubles, ≤2 decimals. */

export const ATOL_SNO = ['osn', 'usn_income', 'usn_income_outcome', 'esn', 'patent'] as const;
export type AtolSno = (typeof ATOL_SNO)[number];

export const ATOL_PAYMENT_METHODS = [
  'full_payment', 'full_prepayment', 'prepayment', 'advance', 'partial_payment', 'credit', 'credit_payment',
] as const;

/** v5 `measure` (tag 2108). */
export const AtolMeasure = { piece: 0, gram: 10, kilogram: 11, meter: 22, squareMeter: 32, milliliter: 40, liter: 41, cubicMeter: 42, hour: 71, other: 255 } as const;

/** v5 `payment_object` (tag 1212), the ones we send. */
export const AtolPaymentObject = { goods: 1, exciseGoods: 2, service: 4, markedGoods: 33 } as const;

/** `payments[].type` (tags 1031, 1081, 1215, 1216, 1217). */
export const AtolPaymentType = { cash: 0, electronic: 1, prepaymentOffset: 2, credit: 3, other: 4 } as const;

export const atolOperationSchema = z.enum(['sell', 'sell_refund', 'sell_correction']);
export type AtolOperation = z.infer<typeof atolOperationSchema>;

const money = z.number().finite();

export const atolItemSchema = z.object({
  name: z.string().min(1).max(128),
  price: money.nonnegative(),
  quantity: z.number().positive(),
  sum: money.nonnegative(),
  measure: z.number().int(),
  payment_method: z.enum(ATOL_PAYMENT_METHODS),
  payment_object: z.number().int(),
  vat: z.object({ type: z.enum(ATOL_VAT_TAGS), sum: money.optional() }),
});
export type AtolItem = z.infer<typeof atolItemSchema>;

export const atolReceiptRequestSchema = z.object({
  external_id: z.string().min(1).max(128),
  timestamp: z.string(),
  service: z.object({ callback_url: z.string().max(256) }).optional(),
  receipt: z.object({
    client: z.object({ email: z.string().max(64).optional(), phone: z.string().max(64).optional() }),
    company: z.object({
      email: z.string().max(64),
      sno: z.enum(ATOL_SNO),
      inn: z.string(),
      payment_address: z.string().max(256),
    }),
    items: z.array(atolItemSchema).min(1).max(100),
    payments: z.array(z.object({ type: z.number().int().min(0).max(4), sum: money.nonnegative() })).min(1).max(10),
    vats: z.array(z.object({ type: z.enum(ATOL_VAT_TAGS), sum: money })).optional(),
    total: money.nonnegative(),
  }),
});
/** Body of `POST /possystem/v5/{group}/sell | sell_refund`. */
export type AtolReceiptRequest = z.infer<typeof atolReceiptRequestSchema>;

/** Correction basis (tag 1173 type; 1178 date dd.MM.yyyy; 1179 number of the act or of the tax office's order). */
export const atolCorrectionInfoSchema = z.object({
  type: z.enum(['self', 'instruction']),
  base_date: z.string().regex(/^\d{2}\.\d{2}\.\d{4}$/),
  base_number: z.string().min(1).max(32).optional(),
});

/**
 * Body of `POST /possystem/v5/{group}/sell_correction` (FFD 1.2): the receipt's own blocks under `correction`
 * instead of `receipt`, plus `correction_info` (docs/external-apis.md §4, "Correction receipts").
 */
export const atolCorrectionRequestSchema = z.object({
  external_id: z.string().min(1).max(128),
  timestamp: z.string(),
  service: z.object({ callback_url: z.string().max(256) }).optional(),
  correction: atolReceiptRequestSchema.shape.receipt.extend({ correction_info: atolCorrectionInfoSchema }),
});
export type AtolCorrectionRequest = z.infer<typeof atolCorrectionRequestSchema>;

// Answers: a field some flow reads is validated (the client names its path); unread ones (error_id, timestamp,
// uuid of a report, external_id, fns_site, ofd_inn, ...) are left out and pass as unknown keys.

export const atolErrorSchema = z.looseObject({
  code: z.number().int(),
  /** Read with a fallback ("no text" / "unknown"): a value of another shape is as good as none. */
  text: lenient(z.string()),
  type: lenient(z.string()),
});
export type AtolWireError = z.infer<typeof atolErrorSchema>;

export const atolTokenResponseSchema = z.looseObject({
  error: atolErrorSchema.nullish(),
  token: z.string().nullish(),
});

export const atolRegistrationResponseSchema = z.looseObject({
  uuid: z.string().nullish(),
  error: atolErrorSchema.nullish(),
});

const idLike = z.union([z.string(), z.number()]);

export const atolReportPayloadSchema = z.looseObject({
  fiscal_receipt_number: idLike,
  shift_number: idLike,
  receipt_datetime: z.string(),
  total: z.number(),
  fn_number: idLike,
  ecr_registration_number: idLike,
  fiscal_document_number: idLike,
  fiscal_document_attribute: idLike,
  /** Optional in v5 and only passed along as a link. */
  ofd_receipt_url: lenient(z.string()),
});

export const atolReportResponseSchema = z.looseObject({
  status: z.string().nullish(),
  error: atolErrorSchema.nullish(),
  payload: atolReportPayloadSchema.nullish(),
});
export type AtolReportResponse = z.infer<typeof atolReportResponseSchema>;
