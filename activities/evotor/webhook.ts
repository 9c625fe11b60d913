import { z } from 'zod';
import { rublesToKopecks } from '../../domain/money';
import type { TerminalPayment } from '../../domain/payment';
import type { ReceiptLine } from '../../domain/walk-in';
import { AccountNumberSchema, AmountSchema, LIMITS, LineNameSchema, OrderIdSchema, QuantitySchema, TerminalIdSchema } from '../../domain/ids';

const money = z.union([z.number(), z.string()]);

/**
 * The receipt webhook Evotor's cloud POSTs to us (camelCase; docs/external-apis.md §2): only the fields we read
 * are checked (the event's own id, timestamp, shift, employee, prices and taxes pass unread).
 */
export const EvotorReceiptWebhookSchema = z.looseObject({
  data: z.looseObject({
    // These three make workflow ids and search attributes (domain/ids.ts).
    id: TerminalIdSchema,
    deviceId: TerminalIdSchema,
    storeId: TerminalIdSchema,
    dateTime: z.string().min(1).max(64),
    type: z.string().min(1).max(32),
    paymentSource: z.string().max(32).optional(),
    items: z
      .array(
        z.looseObject({
          id: z.string().optional(),
          name: LineNameSchema,
          quantity: z.union([z.number(), z.string()]),
        }),
      )
      .max(LIMITS.linesPerReceipt, `at most ${LIMITS.linesPerReceipt} items`)
      .default([]),
    totalAmount: money,
    extras: z.record(z.string(), z.unknown()).nullish(),
  }),
});

export type EvotorReceiptWebhook = z.infer<typeof EvotorReceiptWebhookSchema>;

/** The keys in `extras` that our terminal app fills when it rings an order. */
export function orderIdFromExtras(extras: Record<string, unknown> | null | undefined): { orderId?: string; accountNumber?: string } {
  if (!extras) return {};
  const pick = (k: string) => (typeof extras[k] === 'string' || typeof extras[k] === 'number' ? String(extras[k]) : undefined);
  return { orderId: pick('bitrixOrderId'), accountNumber: pick('accountNumber') };
}

function toUtcIso(dateTime: string): string {
  const d = new Date(dateTime);
  if (Number.isNaN(d.getTime())) throw new RangeError(`data.dateTime: not a date: ${JSON.stringify(dateTime)}`);
  return d.toISOString();
}

/** Reads a value with a door schema; a RangeError names the field as the sender spells it. */
function checked<T>(field: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RangeError(`${field}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

export function terminalPaymentFromWebhook(event: EvotorReceiptWebhook): TerminalPayment {
  const { orderId, accountNumber } = orderIdFromExtras(event.data.extras);
  return {
    receiptId: event.data.id,
    terminalKind: 'evotor',
    terminalStoreId: event.data.storeId,
    deviceId: event.data.deviceId,
    amount: checked('data.totalAmount', AmountSchema, rublesToKopecks(event.data.totalAmount, 'data.totalAmount')),
    currency: 'RUB',
    paidAt: toUtcIso(event.data.dateTime),
    paymentSource: event.data.paymentSource ?? 'OTHER',
    orderId: orderId === undefined ? undefined : checked('data.extras.bitrixOrderId', OrderIdSchema, orderId),
    accountNumber: accountNumber === undefined ? undefined : checked('data.extras.accountNumber', AccountNumberSchema, accountNumber),
  };
}

/** What left the shelf: the receipt's items by the terminal's product id (mapped to Bitrix by the catalog key). */
export function receiptLinesFromWebhook(event: EvotorReceiptWebhook): ReceiptLine[] {
  return event.data.items.map((item, i) => {
    const quantity = checked(`data.items.${i}.quantity`, QuantitySchema, Number(item.quantity));
    const terminalProductId = item.id === undefined ? undefined : checked(`data.items.${i}.id`, TerminalIdSchema, item.id);
    return { terminalProductId, name: item.name, quantity };
  });
}
