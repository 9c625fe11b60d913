import { z } from 'zod';
import type { AtolVatTag } from '../../domain/vat';
import { lenient } from '../shared/lenient';

/**
 * OFD.ru Ferma wire format (FFD 1.2) as docs/external-apis.md §4 names it, with the field names of Ferma's API
 * document (ofd.ru/razrabotchikam/ferma). Money in rubles, ≤2 decimals. Every answer is the envelope
 * `{Status: "Success", Data}` or `{Status: "Failed", Error: {Code, Message}}`.
 */

export const FERMA_TAXATION_SYSTEMS = ['Common', 'SimpleIn', 'SimpleInOut', 'Unified', 'UnifiedAgricultural', 'Patent'] as const;
export type FermaTaxationSystem = (typeof FERMA_TAXATION_SYSTEMS)[number];

/**
 * Item `Vat` (tag 1199). Vat5/Vat7/Vat22 and their calculated forms come from integrations written against
 * Ferma's 2025–2026 document versions, not from a copy of the document itself (*unconfirmed*).
 */
export const FERMA_VATS = [
  'VatNo', 'Vat0', 'Vat5', 'Vat7', 'Vat10', 'Vat20', 'Vat22',
  'CalculatedVat5105', 'CalculatedVat7107', 'CalculatedVat10110', 'CalculatedVat20120', 'CalculatedVat22122',
] as const;
export type FermaVat = (typeof FERMA_VATS)[number];

/**
 * Our VAT tags (domain/vat.ts decides which one a line gets on a date) in Ferma's names. Doubt: newer
 * Ferma versions also list ObsoleteVat20/ObsoleteVat20120; whether a 2026 refund of a 2025 sale needs those
 * instead of Vat20 is not documented where we could read it.
 */
export const FERMA_VAT_BY_TAG: Readonly<Record<AtolVatTag, FermaVat>> = {
  none: 'VatNo',
  vat0: 'Vat0',
  vat5: 'Vat5',
  vat7: 'Vat7',
  vat10: 'Vat10',
  vat22: 'Vat22',
  vat105: 'CalculatedVat5105',
  vat107: 'CalculatedVat7107',
  vat110: 'CalculatedVat10110',
  vat122: 'CalculatedVat22122',
  vat20: 'Vat20',
  vat120: 'CalculatedVat20120',
};

/** Item `Measure` (tag 2108), required by FFD 1.2. */
export const FERMA_MEASURES = [
  'PIECE', 'GRAM', 'KILOGRAM', 'TON', 'CENTIMETER', 'DECIMETER', 'METER',
  'SQUARE_CENTIMETER', 'SQUARE_DECIMETER', 'SQUARE_METER', 'MILLILITER', 'LITER', 'CUBIC_METER',
  'KILOWATT_HOUR', 'GIGACALORIE', 'DAY', 'HOUR', 'MINUTE', 'SECOND',
  'KILOBYTE', 'MEGABYTE', 'GIGABYTE', 'TERABYTE', 'OTHER',
] as const;
export type FermaMeasure = (typeof FERMA_MEASURES)[number];

/** Item `PaymentMethod` (tag 1214, способ расчёта). */
export const FermaPaymentMethod = {
  fullPrepayment: 1, prepayment: 2, advance: 3, fullPayment: 4, partialPayment: 5, credit: 6, creditPayment: 7,
} as const;

/** Item `PaymentType` (tag 1212, предмет расчёта), the ones we send. */
export const FermaPaymentObject = { goods: 1, exciseGoods: 2, service: 4, markedGoods: 33 } as const;

/** `PaymentItems[].PaymentType` (form of payment). */
export const FermaPaymentKind = { cash: 0, electronic: 1, prepaymentOffset: 2, credit: 3, counter: 4 } as const;

export const FERMA_RECEIPT_TYPES = ['Income', 'IncomeReturn', 'IncomeCorrection'] as const;
export const fermaReceiptTypeSchema = z.enum(FERMA_RECEIPT_TYPES);
export type FermaReceiptType = z.infer<typeof fermaReceiptTypeSchema>;

/**
 * Error codes. 1019 (InvoiceId already exists) is seen in two independent integrations; Ferma's code table
 * was not at hand for the others, so they are this project's stand-ins, used by the simulator. The client
 * also goes by HTTP status and lets the lists be configured (FermaClientOptions).
 */
export const FermaErrorCode = {
  badRequest: 1000,
  wrongCredentials: 1001,
  missingToken: 1002,
  expiredToken: 1003,
  validation: 1004,
  notFound: 1005,
  duplicateInvoiceId: 1019,
  rateLimited: 1029,
  server: 1500,
} as const;

/** Ferma's receipt stages in `/kkt/cloud/status` (`StatusCode` / `StatusName`). */
export const FermaStatusCode = { NEW: 0, PROCESSED: 1, CONFIRMED: 2, KKT_ERROR: 3 } as const;
export type FermaStage = keyof typeof FermaStatusCode;

const money = z.number().finite();

export const fermaItemSchema = z.object({
  Label: z.string().min(1).max(128),
  Price: money.nonnegative(),
  Quantity: z.number().positive(),
  Amount: money.nonnegative(),
  Vat: z.enum(FERMA_VATS),
  Measure: z.enum(FERMA_MEASURES),
  PaymentMethod: z.number().int().min(1).max(7),
  PaymentType: z.number().int().min(1).max(33),
});
export type FermaItem = z.infer<typeof fermaItemSchema>;

export const fermaPaymentItemSchema = z.object({
  PaymentType: z.number().int().min(0).max(4),
  Sum: money.nonnegative(),
});
export type FermaPaymentItem = z.infer<typeof fermaPaymentItemSchema>;

/** `SELF`: corrected on the seller's own initiative; `INSTRUCTION`: by the tax office's order. ReceiptDate dd.MM.yyyy. */
export const fermaCorrectionInfoSchema = z.object({
  Type: z.enum(['SELF', 'INSTRUCTION']),
  ReceiptDate: z.string().regex(/^\d{2}\.\d{2}\.\d{4}$/),
  /** Number of the act (or of the tax office's order). */
  ReceiptId: z.string().min(1).max(32).optional(),
  Description: z.string().max(256).optional(),
});

export const fermaReceiptRequestSchema = z.object({
  Request: z.object({
    Inn: z.string().regex(/^(\d{10}|\d{12})$/),
    Type: fermaReceiptTypeSchema,
    /** Our idempotency key: Ferma refuses a second receipt with the same InvoiceId (code 1019). */
    InvoiceId: z.string().min(1).max(64),
    CallbackUrl: z.string().max(256).optional(),
    CustomerReceipt: z.object({
      TaxationSystem: z.enum(FERMA_TAXATION_SYSTEMS),
      Email: z.string().max(64).optional(),
      Phone: z.string().max(19).optional(),
      /** Место расчётов (tag 1187). */
      BillAddress: z.string().max(256).optional(),
      Items: z.array(fermaItemSchema).min(1).max(100),
      PaymentItems: z.array(fermaPaymentItemSchema).min(1).max(10).optional(),
      /** IncomeCorrection only: the basis (tags 1173, 1178, 1179), docs/external-apis.md §4 "Correction receipts". */
      CorrectionInfo: fermaCorrectionInfoSchema.optional(),
    }).refine((r) => Boolean(r.Email || r.Phone), { message: 'Email or Phone is required', path: ['Email'] }),
  }),
});
/** Body of `POST /api/kkt/cloud/receipt?AuthToken=…`. */
export type FermaReceiptRequest = z.infer<typeof fermaReceiptRequestSchema>;

/** Body of `POST /api/kkt/cloud/status?AuthToken=…`: one of the two keys. */
export type FermaStatusRequest = { Request: { ReceiptId: string } } | { Request: { InvoiceId: string } };

// Answers: a field some flow reads is validated (the client names its path); unread ones (DeviceId, ZN,
// ModifiedDateUtc, ...) are left out and pass as unknown keys.

export const fermaErrorSchema = z.looseObject({
  Code: z.number().int(),
  /** Read with a fallback ("no message"). */
  Message: lenient(z.string()),
});
export type FermaWireError = z.infer<typeof fermaErrorSchema>;

const envelope = <T extends z.ZodType>(data: T) => z.looseObject({
  Status: z.string(),
  Data: data.nullish(),
  Error: fermaErrorSchema.nullish(),
});

export const fermaAuthResponseSchema = envelope(z.looseObject({
  AuthToken: z.string().min(1),
  /** UTC without a zone designator, e.g. 2026-03-16T09:29:58. Optional: without it the token lives the fallback TTL. */
  ExpirationDateUtc: lenient(z.string()),
}));

export const fermaReceiptResponseSchema = envelope(z.looseObject({ ReceiptId: z.string().min(1) }));

const idLike = z.union([z.string(), z.number()]);

export const fermaDeviceSchema = z.looseObject({
  RNM: idLike,
  FN: idLike,
  FDN: idLike,
  FPD: idLike,
  ShiftNumber: idLike.nullish(),
  ReceiptNumInShift: idLike.nullish(),
  /** Only passed along as a link. */
  OfdReceiptUrl: lenient(z.string()),
});

export const fermaStatusDataSchema = z.looseObject({
  StatusCode: z.number().int(),
  StatusName: z.string().nullish(),
  /** Read with a fallback ("no reason given"). */
  StatusMessage: lenient(z.string()),
  ReceiptDateUtc: z.string().nullish(),
  /** Not in every document version (*unconfirmed*); needed when the status is read by InvoiceId. */
  ReceiptId: z.string().nullish(),
  Device: fermaDeviceSchema.nullish(),
});
export type FermaStatusData = z.infer<typeof fermaStatusDataSchema>;

export const fermaStatusResponseSchema = envelope(fermaStatusDataSchema);
