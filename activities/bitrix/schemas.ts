import { z } from 'zod';
import { rublesToKopecks } from '../../domain/money';
import type { OrderItem, OrderPayment, OrderShipment, OrderSnapshot } from '../../domain/order';
import { lenient } from '../shared/lenient';

/**
 * Wire types of the Bitrix REST answers we read, each mapped straight to the domain shape:
 * money in kopecks, ids as strings, Y/N as booleans. Bitrix sends numbers and numeric strings
 * interchangeably, so every numeric field accepts both. A field some flow reads is validated (and named in
 * the error when it is wrong); one nothing reads is `lenient`: a vendor omitting or reshaping it fails nothing.
 */

const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/** An id as Bitrix sends it: 236 or "255". */
export const wireId = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)])
  .transform((v) => String(v));

/** A ruble amount (1234.5 or "1234.50") as kopecks; fractions of a kopeck are an error, never rounded. */
export const wireMoney = z.union([z.number(), z.string()]).transform((v, ctx) => {
  try {
    return rublesToKopecks(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a ruble amount with at most two decimals' });
    return z.NEVER;
  }
});

/** Quantities and stock amounts: a number, possibly fractional (kg), possibly sent as a string. */
export const wireNumber = z.union([z.number(), z.string().regex(DECIMAL)]).transform((v) => Number(v));

export const wireYesNo = z.enum(['Y', 'N']).transform((v) => v === 'Y');

/** Optional free text that Bitrix renders as null, "" or a number (psInvoiceId: 2). */
const optText = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : String(v)));

const vatRate = z
  .union([z.number(), z.string().regex(DECIMAL), z.literal(''), z.null()])
  .transform((v) => (v === null || v === '' ? null : Number(v)));

export const timeSchema = z.object({
  start: z.number(),
  finish: z.number(),
  duration: z.number(),
  processing: z.number(),
  date_start: z.string(),
  date_finish: z.string(),
  operating_reset_at: z.number().optional(),
  operating: z.number().optional(),
});

export const successEnvelopeSchema = z.object({
  result: z.unknown(),
  // The count of a list: no caller reads it, so a string or a float here fails nothing.
  total: lenient(z.number().int()),
  next: z.number().int().optional(),
  // Not validated here: the client needs only result/total/next, and time gains fields over the years.
  time: z.unknown().optional(),
});

export const errorEnvelopeSchema = z.object({
  error: z.union([z.string(), z.number()]),
  error_description: z.string().optional(),
});

export const basketItemSchema = z
  .object({
    id: wireId,
    productId: wireId,
    name: z.string(),
    price: wireMoney,
    quantity: wireNumber,
    vatRate,
    vatIncluded: wireYesNo,
    measureCode: optText,
    reservations: z
      .array(z.object({ storeId: wireId, quantity: wireNumber }))
      .nullish()
      .transform((v) => v ?? []),
  })
  .transform(
    (b): OrderItem => ({
      basketId: b.id,
      productId: b.productId,
      name: b.name,
      price: b.price,
      quantity: b.quantity,
      vatRate: b.vatRate,
      vatIncluded: b.vatIncluded,
      ...(b.measureCode !== undefined ? { measureCode: b.measureCode } : {}),
      reservations: b.reservations,
    }),
  );

const paymentFields = {
  id: wireId,
  paySystemId: wireId,
  sum: wireMoney,
  paid: wireYesNo,
  psInvoiceId: optText,
  isReturn: optText,
};

function toOrderPayment(p: { id: string; paySystemId: string; sum: number; paid: boolean; psInvoiceId?: string; isReturn?: string }): OrderPayment {
  return {
    id: p.id,
    paySystemId: p.paySystemId,
    sum: p.sum,
    paid: p.paid,
    ...(p.psInvoiceId !== undefined ? { psInvoiceId: p.psInvoiceId } : {}),
    ...(p.isReturn !== undefined ? { isReturn: p.isReturn } : {}),
  };
}

/** A payment as sale.payment.* and sale.order.get render it. */
export const paymentSchema = z.object(paymentFields).transform(toOrderPayment);

/** A payment of sale.payment.list|add|update|get: adds the order it belongs to and the dates we write. */
export const paymentWithOrderSchema = z
  .object({
    ...paymentFields,
    orderId: wireId,
    datePaid: optText,
    // Written by us, never read back.
    comments: lenient(optText),
    xmlId: lenient(optText),
    payReturnNum: optText,
    payReturnDate: lenient(optText),
    payReturnComment: optText,
  })
  .transform((p) => ({
    ...toOrderPayment(p),
    orderId: p.orderId,
    ...(p.datePaid !== undefined ? { datePaid: p.datePaid } : {}),
    ...(p.comments !== undefined ? { comments: p.comments } : {}),
    ...(p.xmlId !== undefined ? { xmlId: p.xmlId } : {}),
    ...(p.payReturnNum !== undefined ? { payReturnNum: p.payReturnNum } : {}),
    ...(p.payReturnDate !== undefined ? { payReturnDate: p.payReturnDate } : {}),
    ...(p.payReturnComment !== undefined ? { payReturnComment: p.payReturnComment } : {}),
  }));

export const shipmentSchema = z
  .object({
    id: wireId,
    deliveryId: wireId,
    deducted: wireYesNo,
    system: wireYesNo.optional(),
    isSystem: wireYesNo.optional(),
  })
  .transform((s): OrderShipment => {
    const system = s.system ?? s.isSystem;
    return { id: s.id, deliveryId: s.deliveryId, deducted: s.deducted, ...(system !== undefined ? { system } : {}) };
  });

// A property row without a value is an empty one (z.unknown() alone would make the key required).
const propertyValueSchema = z.object({ code: z.string().nullish(), value: z.unknown().optional() });

export const orderSchema = z
  .object({
    id: wireId,
    accountNumber: z.union([z.string(), z.number()]).transform(String),
    currency: z.string(),
    price: wireMoney,
    statusId: z.string(),
    payed: wireYesNo,
    canceled: wireYesNo,
    deducted: wireYesNo,
    basketItems: z.array(basketItemSchema),
    payments: z.array(paymentSchema),
    shipments: z.array(shipmentSchema),
    propertyValues: z
      .array(propertyValueSchema)
      .nullish()
      .transform((v) => v ?? []),
  })
  .transform((o): OrderSnapshot => {
    const prop = (code: string): string | undefined => {
      const v = o.propertyValues.find((p) => p.code === code)?.value;
      return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
    };
    const email = prop('EMAIL');
    const phone = prop('PHONE');
    const name = prop('FIO');
    return {
      id: o.id,
      accountNumber: o.accountNumber,
      currency: o.currency,
      total: o.price,
      statusId: o.statusId,
      paid: o.payed,
      canceled: o.canceled,
      deducted: o.deducted,
      items: o.basketItems,
      payments: o.payments,
      shipments: o.shipments,
      buyer: { ...(email ? { email } : {}), ...(phone ? { phone } : {}), ...(name ? { name } : {}) },
    };
  });

/** A row of sale.order.list; only `id` is always there, the rest depends on `select`. */
export const orderListItemSchema = z
  .object({
    id: wireId,
    // Reconciliation reads only id and canceled; the rest is passed along for callers who select it.
    accountNumber: lenient(z.union([z.string(), z.number()]).transform(String)),
    statusId: lenient(z.string()),
    payed: lenient(wireYesNo),
    canceled: wireYesNo.optional(),
    deducted: lenient(wireYesNo),
    price: lenient(wireMoney),
    currency: lenient(z.string()),
    dateUpdate: lenient(z.string()),
    xmlId: lenient(optText),
  })
  .transform((o) => ({
    id: o.id,
    ...(o.accountNumber !== undefined ? { accountNumber: o.accountNumber } : {}),
    ...(o.statusId !== undefined ? { statusId: o.statusId } : {}),
    ...(o.payed !== undefined ? { paid: o.payed } : {}),
    ...(o.canceled !== undefined ? { canceled: o.canceled } : {}),
    ...(o.deducted !== undefined ? { deducted: o.deducted } : {}),
    ...(o.price !== undefined ? { total: o.price } : {}),
    ...(o.currency !== undefined ? { currency: o.currency } : {}),
    ...(o.dateUpdate ? { dateUpdate: o.dateUpdate } : {}),
    ...(o.xmlId !== undefined ? { xmlId: o.xmlId } : {}),
  }));

/** sale.status.list, catalog.store.list, catalog.storeproduct.list: no flow calls them, so only the row id is checked. */
export const statusSchema = z
  .object({ id: z.string(), type: lenient(z.string()), sort: lenient(wireNumber) })
  .transform((s) => ({ id: s.id, type: s.type ?? '', ...(s.sort !== undefined ? { sort: s.sort } : {}) }));

export const storeSchema = z
  .object({ id: wireId, title: lenient(z.string()), active: lenient(wireYesNo), code: lenient(optText), xmlId: lenient(optText) })
  .transform((s) => ({
    id: s.id,
    title: s.title ?? '',
    active: s.active ?? true,
    ...(s.code !== undefined ? { code: s.code } : {}),
    ...(s.xmlId !== undefined ? { xmlId: s.xmlId } : {}),
  }));

export const storeProductSchema = z.object({
  id: wireId,
  productId: lenient(wireId),
  storeId: lenient(wireId),
  amount: lenient(wireNumber),
  quantityReserved: lenient(wireNumber).transform((v) => v ?? 0),
});

export const documentSchema = z
  .object({
    id: wireId,
    // store-documents reads id and status (a conducted document is not written again); the rest is ours, echoed.
    docType: lenient(z.string()),
    status: z.string(),
    title: lenient(optText),
    commentary: lenient(optText),
    currency: lenient(optText),
  })
  .transform((d) => ({
    id: d.id,
    ...(d.docType !== undefined ? { docType: d.docType } : {}),
    status: d.status,
    ...(d.title !== undefined ? { title: d.title } : {}),
    ...(d.commentary !== undefined ? { commentary: d.commentary } : {}),
    ...(d.currency !== undefined ? { currency: d.currency } : {}),
  }));

/** Only the new element's id is read; docId and elementId are what we sent. */
export const documentElementSchema = z.object({ id: wireId });

/** PHP renders an empty associative array as `[]` and one with keys 0..n-1 as a list. */
function phpMap<S extends z.ZodType>(value: S) {
  return z.union([
    z.record(z.string(), value),
    z.array(value).transform((list) => Object.fromEntries(list.map((v, i) => [String(i), v])) as Record<string, z.output<S>>),
  ]);
}

export const batchErrorSchema = z
  .object({ error: z.union([z.string(), z.number()]), error_description: z.string().nullish() })
  .transform((e) => ({ error: String(e.error), error_description: e.error_description ?? '' }));

export const batchResultSchema = z.object({
  result: phpMap(z.unknown()),
  result_error: phpMap(batchErrorSchema),
  // result_total, result_next, result_time: not read.
});

export const orderGetResultSchema = z.object({ order: orderSchema });
export const orderListResultSchema = z.object({ orders: z.array(orderListItemSchema) });
/** Answers to writes: nothing in them is read (the echo, when it parses, is returned as a courtesy), but one without its object is not a Bitrix answer to that call. */
export const orderUpdateResultSchema = z.object({ order: z.looseObject({}) });
const echoOf = <S extends z.ZodType>(schema: S) =>
  z.looseObject({}).transform((v): z.output<S> | undefined => {
    const parsed = schema.safeParse(v);
    return parsed.success ? parsed.data : undefined;
  });
export const paymentUpdateResultSchema = z.object({ payment: echoOf(paymentWithOrderSchema) });
export const shipmentUpdateResultSchema = z.object({ shipment: echoOf(shipmentSchema) });
export const paymentResultSchema = z.object({ payment: paymentWithOrderSchema });
export const paymentListResultSchema = z.object({ payments: z.array(paymentWithOrderSchema) });
export const shipmentResultSchema = z.object({ shipment: shipmentSchema });
export const statusListResultSchema = z.object({ statuses: z.array(statusSchema) });
export const storeListResultSchema = z.object({ stores: z.array(storeSchema) });
export const storeProductListResultSchema = z.object({ storeProducts: z.array(storeProductSchema) });
export const documentResultSchema = z.object({ document: documentSchema });
/** catalog.document.add: only the new document's id is read. */
export const documentAddResultSchema = z.object({ document: z.object({ id: wireId }) });
export const documentListResultSchema = z.object({ documents: z.array(documentSchema) });
export const documentElementResultSchema = z.object({ documentElement: documentElementSchema });
export const booleanResultSchema = z.literal(true);
export const documentModeResultSchema = wireYesNo;

// REST cashboxes (sale.cashbox.*, docs/external-apis.md §1a). Lists are plain arrays of upper-case rows.
const cashboxHandlerSchema = z.object({
  ID: wireId,
  CODE: z.string(),
  NAME: lenient(z.string()),
  SETTINGS: lenient(z.object({ PRINT_URL: lenient(z.string()), CHECK_URL: lenient(z.string()) }).passthrough()),
});
export const cashboxHandlerListResultSchema = z.array(cashboxHandlerSchema);
const cashboxSchema = z.object({
  ID: wireId,
  NAME: lenient(z.string()),
  // Bitrix answers "" for a cashbox without one.
  NUMBER_KKM: z.union([z.string(), z.null()]).transform((v) => v ?? ''),
  ACTIVE: lenient(z.enum(['Y', 'N'])),
});
export const cashboxListResultSchema = z.array(cashboxSchema);
/** sale.cashbox.handler.add / sale.cashbox.add: the new id. */
export const cashboxIdResultSchema = wireId;
/** sale.cashbox.check.apply, sale.cashbox.update, sale.cashbox.handler.update: true. */
export const cashboxTrueResultSchema = z.union([z.literal(true), z.literal(1), z.literal('1'), z.literal('Y')]);
