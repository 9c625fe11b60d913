import { z } from 'zod';
import { rublesToKopecks } from '../../domain/money';
import { lenient } from '../shared/lenient';

/**
 * Evotor cloud REST v2 and publisher API wire formats (snake_case; the camelCase receipt webhook is in
 * webhook.ts). Money arrives in rubles (numbers with ≤2 decimals) and leaves these schemas as kopecks.
 * Field names follow evotor/evotor-cloud-java-sdk (model/document/**) and real SELL documents.
 * A field some flow reads is validated (the error names its path); one nothing reads is `lenient`, so
 * an answer without it, or with it in another shape, still parses.
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

/** A receipt line. Reconciliation reads product_id, product_name and quantity; the rest is lenient. */
export const EvotorPositionSchema = z.looseObject({
  id: lenient(optionalInt),
  uuid: lenient(optionalString),
  product_id: optionalString,
  product_name: optionalString,
  product_type: lenient(optionalString),
  code: lenient(optionalString),
  bar_code: lenient(optionalString),
  measure_name: lenient(optionalString),
  /** Sold (or refunded) quantity: what a walk-in writes off. */
  quantity: z.number(),
  price: lenient(money),
  cost_price: lenient(money),
  result_price: lenient(money),
  sum: lenient(money),
  result_sum: lenient(money),
  tax: lenient(EvotorTaxSchema),
  print_group_id: lenient(optionalString),
});

/** A payment of a receipt: type (cash or card) and sum are read; id and parts are lenient. */
export const EvotorPaymentSchema = z.looseObject({
  id: lenient(z.string()),
  /** UNKNOWN, CASH, ELECTRON, ADVANCE, CREDIT, COUNTEROFFER. */
  type: z.string(),
  sum: money,
  parts: lenient(z.array(z.looseObject({ print_group_id: optionalString, part_sum: money, change: optionalMoney }))),
});

/** Not read by any flow. */
export const EvotorPrintGroupSchema = z.looseObject({
  id: lenient(z.string()),
  /** CASH_RECEIPT, INVOICE, STRING_UTII, ... */
  type: lenient(optionalString),
});

/** Fiscal data the terminal's own fiscal drive returned (one entry per print group). */
export const EvotorPosPrintResultSchema = z.looseObject({
  print_group_id: lenient(optionalString),
  /** Receipt number within the shift (tag 1042). */
  receipt_number: optionalInt,
  /** The register's own document counter (not the fiscal document number). */
  document_number: lenient(optionalInt),
  /** Shift number (tag 1038). */
  session_number: optionalInt,
  /** Device-local date "DDMMYYYY". */
  receipt_date: optionalString,
  /** Device-local time "HHmm"; present in real documents, absent from the published example. */
  receipt_time: optionalString,
  /** ФН factory number (tag 1041). */
  fn_serial_number: optionalString,
  kkt_serial_number: lenient(optionalString),
  /** ККТ registration number (tag 1037); real documents carry trailing spaces. */
  kkt_reg_number: optionalString,
  fn_reg_number: lenient(optionalString),
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
  doc_discounts: lenient(z.array(unwrapped('doc_discount', z.looseObject({ discount_sum: optionalMoney })))),
  print_groups: lenient(z.array(unwrapped('print_group', EvotorPrintGroupSchema))),
  pos_print_results: listOf(unwrapped('pos_print_result', EvotorPosPrintResultSchema)),
  sum: optionalMoney,
  result_sum: optionalMoney,
  /** Personal data: never log it. Not read. */
  customer_email: lenient(optionalString),
  /** Personal data: never log it. The docs show it as a number. Not read. */
  customer_phone: lenient(stringish),
  /** PAYBACK only: the sale it refunds. */
  base_document_id: optionalString,
  base_document_number: lenient(optionalInt),
});

export const EvotorDocumentSchema = z.looseObject({
  id: z.string(),
  /** SELL, PAYBACK, OPEN_SESSION, CLOSE_SESSION, ... */
  type: z.string(),
  number: lenient(optionalInt),
  /** UTC, e.g. "2020-01-23T10:48:57.000+0000". */
  close_date: z.string(),
  /** Device offset from UTC in milliseconds. */
  time_zone_offset: z.number().int().nullish().transform((v) => v ?? 0),
  session_id: lenient(optionalString),
  session_number: lenient(optionalInt),
  close_user_id: lenient(optionalString),
  /** Both read by reconciliation: the receipt's terminal and store. */
  device_id: z.string(),
  store_id: z.string(),
  user_id: lenient(optionalString),
  version: lenient(optionalString),
  /** When the terminal uploaded it; an unreadable value only means "unknown" (reconciliation). */
  created_at: lenient(optionalString),
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

/**
 * Money we only pass along: absent, or with fractions of a kopeck (the docs show cost_price 100.123), reads
 * as unknown. (A bare z.unknown() key is required in zod 4: that made a catalog without cost_price fail.)
 */
const tolerantMoney = lenient(money);

/**
 * A product of a store's catalog, cloud v2 (`GET /stores/{store_id}/products[/{product_id}]`), money in
 * kopecks. Field names from developer.evotor.ru's v2 product reference and evotor/evotor-cloud-java-sdk
 * (model/product: AnyProduct, Product, PhysicalProduct; snake_case by the SDK's naming strategy). `code`
 * and `article_number` are free for the shop: a catalog sync writes the Bitrix product id into one of them.
 */
export const EvotorProductSchema = z.looseObject({
  /** The Evotor product uuid: what a receipt webhook's items[].id and a position's product_id carry. */
  id: z.string().min(1),
  // Only id, code and article_number are read (the walk-in product mapping); everything else is lenient.
  name: lenient(z.string()),
  /** "Код товара" (the terminal's short product code). */
  code: stringish,
  /** "Артикул". */
  article_number: stringish,
  barcodes: lenient(z.array(z.union([z.string(), z.number()])).transform((v) => v.map(String))).transform((v) => v ?? []),
  /** Sale price. */
  price: tolerantMoney,
  /** Needs the optional product.quantity:read scope; not used by us, so a malformed value is dropped. */
  cost_price: tolerantMoney,
  /** Stock, up to 3 decimals; may be negative. Needs the optional product.quantity:read scope. */
  quantity: lenient(z.number()),
  measure_name: lenient(optionalString),
  /** NO_VAT, VAT_0, VAT_10, VAT_18, VAT_10_110, VAT_18_118, VAT_20, ... */
  tax: lenient(optionalString),
  allow_to_sell: lenient(z.boolean()),
  description: lenient(optionalString),
  /** NORMAL, SERVICE, ALCOHOL_MARKED, ALCOHOL_NOT_MARKED, ... */
  type: lenient(optionalString),
  /** The product group, null at the top of the hierarchy. */
  parent_id: lenient(optionalString),
  store_id: lenient(optionalString),
  user_id: lenient(optionalString),
  created_at: lenient(optionalString),
  updated_at: lenient(optionalString),
});
/** A catalog product, money in kopecks. */
export type EvotorProduct = z.output<typeof EvotorProductSchema>;

export const EvotorProductsPageSchema = pageSchema(EvotorProductSchema);

/** GET /stores and /devices: no flow calls them, so only the id is checked. */
export const EvotorStoreSchema = z.looseObject({
  id: z.string(),
  name: lenient(z.string()),
  address: lenient(optionalString),
});
export type EvotorStore = z.output<typeof EvotorStoreSchema>;

export const EvotorDeviceSchema = z.looseObject({
  id: z.string(),
  name: lenient(z.string()),
  store_id: lenient(z.string()),
  timezone_offset: lenient(z.number().int()),
  imei: lenient(optionalString),
  firmware: lenient(optionalString),
});
export type EvotorDevice = z.output<typeof EvotorDeviceSchema>;

export const EVOTOR_PUSH_STATUSES = ['ACCEPTED', 'DELIVERED', 'EXPIRED', 'REJECTED'] as const;

/** A push task of the publisher API (evotor/evotor-publisher-java-sdk PushScheduledTask). */
export const EvotorPushTaskSchema = z.looseObject({
  /** The one field the flows keep (the push id they log and return). */
  id: z.string(),
  /** Task status: ACCEPTED | RUNNING | FAILED | COMPLETED. Not read by any flow. */
  status: lenient(z.string()),
  modified_at: lenient(stringish),
  details: lenient(
    z.array(
      z.looseObject({
        device_id: lenient(z.string()),
        /** ACCEPTED | DELIVERED | EXPIRED | REJECTED (UNKNOWN for anything newer). */
        status: lenient(z.string()),
        active_till: lenient(optionalString),
        created_at: lenient(optionalString),
        sent_at: lenient(optionalString),
        rejected_at: lenient(optionalString),
        reply: z.unknown().optional(),
      }),
    ),
  ).transform((v) => v ?? []),
});
export type EvotorPushTask = z.output<typeof EvotorPushTaskSchema>;
