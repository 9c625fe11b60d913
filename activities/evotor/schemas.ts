import { z } from 'zod';
import { rublesToKopecks } from '../../domain/money';

/**
 * Evotor cloud REST v2 and publisher API wire formats (snake_case; the camelCase receipt webhook is in
 * webhook.ts). Money arrives in rubles (numbers with ≤2 decimals) and leaves these schemas as kopecks.
 * Field names follow evotor/evotor-cloud-java-sdk (model/document/**) and real SELL documents.
 */

const money = z.union([z.number(), z.string()]).transform((value, ctx) => {
  try {
    return rublesToKopecks(value);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message, input: value });
    return z.NEVER;
  }
});

const optionalMoney = money.nullish().transform((v) => v ?? undefined);
const optionalString = z.string().nullish().transform((v) => v ?? undefined);
const optionalInt = z.number().int().nullish().transform((v) => v ?? undefined);
/** Ids and numbers Evotor sometimes sends as numbers (customer_phone, fiscal sign). */
const stringish = z.union([z.string(), z.number()]).nullish().transform((v) => (v === null || v === undefined ? undefined : String(v)));

/** The published docs wrap array elements (`{ position: {...} }`); real responses do not. Accept both. */
function unwrapped<T extends z.ZodType>(key: string, schema: T) {
  return z.preprocess((v) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const inner = (v as Record<string, unknown>)[key];
      if (keys.length === 1 && inner && typeof inner === 'object') return inner;
    }
    return v;
  }, schema);
}

const listOf = <T extends z.ZodType>(schema: T) => z.array(schema).nullish().transform((v) => v ?? []);

export const EvotorTaxSchema = z.looseObject({
  /** NO_VAT, VAT_0, VAT_10, VAT_10_110, VAT_20, ... (the 22 % tag name is not confirmed by public docs). */
  type: z.string(),
  sum: optionalMoney,
  result_sum: optionalMoney,
});

export const EvotorPositionSchema = z.looseObject({
  id: optionalInt,
  uuid: optionalString,
  product_id: optionalString,
  product_name: optionalString,
  product_type: optionalString,
  code: optionalString,
  bar_code: optionalString,
  measure_name: optionalString,
  quantity: z.number(),
  price: money,
  cost_price: optionalMoney,
  result_price: optionalMoney,
  sum: money,
  result_sum: optionalMoney,
  tax: EvotorTaxSchema.nullish().transform((v) => v ?? undefined),
  print_group_id: optionalString,
});

export const EvotorPaymentSchema = z.looseObject({
  id: z.string(),
  /** UNKNOWN, CASH, ELECTRON, ADVANCE, CREDIT, COUNTEROFFER. */
  type: z.string(),
  sum: money,
  parts: listOf(
    z.looseObject({ print_group_id: optionalString, part_sum: money, change: optionalMoney }),
  ),
});

export const EvotorPrintGroupSchema = z.looseObject({
  id: z.string(),
  /** CASH_RECEIPT, INVOICE, STRING_UTII, ... */
  type: optionalString,
});

/** Fiscal data the terminal's own fiscal drive returned (one entry per print group). */
export const EvotorPosPrintResultSchema = z.looseObject({
  print_group_id: optionalString,
  /** Receipt number within the shift (tag 1042). */
  receipt_number: optionalInt,
  /** The register's own document counter (not the fiscal document number). */
  document_number: optionalInt,
  /** Shift number (tag 1038). */
  session_number: optionalInt,
  /** Device-local date "DDMMYYYY". */
  receipt_date: optionalString,
  /** Device-local time "HHmm"; present in real documents, absent from the published example. */
  receipt_time: optionalString,
  /** ФН factory number (tag 1041). */
  fn_serial_number: optionalString,
  kkt_serial_number: optionalString,
  /** ККТ registration number (tag 1037); real documents carry trailing spaces. */
  kkt_reg_number: optionalString,
  fn_reg_number: optionalString,
  /** Fiscal sign ФПД (tag 1077). */
  fiscal_sign_doc_number: stringish,
  /** Fiscal document number (tag 1040). */
  fiscal_document_number: optionalInt,
  /** Receipt total (tag 1020). */
  check_sum: optionalMoney,
});

export const EvotorDocumentBodySchema = z.looseObject({
  positions: listOf(unwrapped('position', EvotorPositionSchema)),
  payments: listOf(unwrapped('payment', EvotorPaymentSchema)),
  doc_discounts: listOf(unwrapped('doc_discount', z.looseObject({ discount_sum: optionalMoney }))),
  print_groups: listOf(unwrapped('print_group', EvotorPrintGroupSchema)),
  pos_print_results: listOf(unwrapped('pos_print_result', EvotorPosPrintResultSchema)),
  sum: optionalMoney,
  result_sum: optionalMoney,
  /** Personal data: never log it. */
  customer_email: optionalString,
  /** Personal data: never log it. The docs show it as a number. */
  customer_phone: stringish,
  /** PAYBACK only: the sale it refunds. */
  base_document_id: optionalString,
  base_document_number: optionalInt,
});

export const EvotorDocumentSchema = z.looseObject({
  id: z.string(),
  /** SELL, PAYBACK, OPEN_SESSION, CLOSE_SESSION, ... */
  type: z.string(),
  number: optionalInt,
  /** UTC, e.g. "2020-01-23T10:48:57.000+0000". */
  close_date: z.string(),
  /** Device offset from UTC in milliseconds. */
  time_zone_offset: z.number().int().nullish().transform((v) => v ?? 0),
  session_id: optionalString,
  session_number: optionalInt,
  close_user_id: optionalString,
  device_id: z.string(),
  store_id: z.string(),
  user_id: optionalString,
  version: optionalString,
  created_at: optionalString,
  /** Keyed by the id of the app that wrote them (Map<UUID, Map<String, Object>> in the cloud SDK). */
  extras: z.record(z.string(), z.unknown()).nullish().transform((v) => v ?? {}),
  body: EvotorDocumentBodySchema.nullish().transform((v) => v ?? EvotorDocumentBodySchema.parse({})),
});

/** A cloud v2 document, money in kopecks. */
export type EvotorDocument = z.output<typeof EvotorDocumentSchema>;
export type EvotorPosPrintResult = z.output<typeof EvotorPosPrintResultSchema>;

const PagingSchema = z
  .looseObject({ next_cursor: optionalString })
  .nullish()
  .transform((v) => v ?? { next_cursor: undefined });

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.looseObject({ items: z.array(item), paging: PagingSchema });
}

export const EvotorDocumentsPageSchema = pageSchema(EvotorDocumentSchema);

/** Money we only pass along: a value with fractions of a kopeck (the docs show cost_price 100.123) reads as unknown. */
const tolerantMoney = z.unknown().transform((value) => {
  if (typeof value !== 'number' && typeof value !== 'string') return undefined;
  try {
    return rublesToKopecks(value);
  } catch {
    return undefined;
  }
});

/**
 * A product of a store's catalog, cloud v2 (`GET /stores/{store_id}/products[/{product_id}]`), money in
 * kopecks. Field names from developer.evotor.ru's v2 product reference and evotor/evotor-cloud-java-sdk
 * (model/product: AnyProduct, Product, PhysicalProduct; snake_case by the SDK's naming strategy). `code`
 * and `article_number` are free for the shop: a catalog sync writes the Bitrix product id into one of them.
 */
export const EvotorProductSchema = z.looseObject({
  /** The Evotor product uuid: what a receipt webhook's items[].id and a position's product_id carry. */
  id: z.string().min(1),
  name: z.string(),
  /** "Код товара" (the terminal's short product code). */
  code: stringish,
  /** "Артикул". */
  article_number: stringish,
  barcodes: z
    .array(z.union([z.string(), z.number()]))
    .nullish()
    .transform((v) => (v ?? []).map(String)),
  /** Sale price. */
  price: money,
  /** Needs the optional product.quantity:read scope; not used by us, so a malformed value is dropped. */
  cost_price: tolerantMoney,
  /** Stock, up to 3 decimals; may be negative. Needs the optional product.quantity:read scope. */
  quantity: z.number().nullish().transform((v) => v ?? undefined),
  measure_name: optionalString,
  /** NO_VAT, VAT_0, VAT_10, VAT_18, VAT_10_110, VAT_18_118, VAT_20, ... */
  tax: optionalString,
  allow_to_sell: z.boolean().nullish().transform((v) => v ?? undefined),
  description: optionalString,
  /** NORMAL, SERVICE, ALCOHOL_MARKED, ALCOHOL_NOT_MARKED, ... */
  type: optionalString,
  /** The product group, null at the top of the hierarchy. */
  parent_id: optionalString,
  store_id: optionalString,
  user_id: optionalString,
  created_at: optionalString,
  updated_at: optionalString,
});
/** A catalog product, money in kopecks. */
export type EvotorProduct = z.output<typeof EvotorProductSchema>;

export const EvotorProductsPageSchema = pageSchema(EvotorProductSchema);

export const EvotorStoreSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  address: optionalString,
});
export type EvotorStore = z.output<typeof EvotorStoreSchema>;

export const EvotorDeviceSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  store_id: z.string(),
  timezone_offset: z.number().int().nullish().transform((v) => v ?? undefined),
  imei: optionalString,
  firmware: optionalString,
});
export type EvotorDevice = z.output<typeof EvotorDeviceSchema>;

export const EVOTOR_PUSH_STATUSES = ['ACCEPTED', 'DELIVERED', 'EXPIRED', 'REJECTED'] as const;

/** A push task of the publisher API (evotor/evotor-publisher-java-sdk PushScheduledTask). */
export const EvotorPushTaskSchema = z.looseObject({
  id: z.string(),
  /** Task status: ACCEPTED | RUNNING | FAILED | COMPLETED. */
  status: z.string(),
  modified_at: stringish,
  details: listOf(
    z.looseObject({
      device_id: z.string(),
      /** ACCEPTED | DELIVERED | EXPIRED | REJECTED (UNKNOWN for anything newer). */
      status: z.string(),
      active_till: optionalString,
      created_at: optionalString,
      sent_at: optionalString,
      rejected_at: optionalString,
      reply: z.unknown().optional(),
    }),
  ),
});
export type EvotorPushTask = z.output<typeof EvotorPushTaskSchema>;
