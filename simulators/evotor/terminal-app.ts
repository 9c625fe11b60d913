import { z } from 'zod';
import type { TerminalOrderPayload } from '../../domain/terminal-payload';
import type { SaleLine } from './terminal';

/**
 * Our terminal app, as far as the simulator plays it: it reads the order push (our own contract,
 * domain/terminal-payload.ts) and rings its items with our order id in the receipt's extras.
 */

export const TerminalOrderPayloadSchema: z.ZodType<TerminalOrderPayload> = z.object({
  kind: z.literal('bitrix-order'),
  orderId: z.string().min(1),
  accountNumber: z.string(),
  currency: z.string(),
  total: z.string(),
  items: z
    .array(
      z.object({
        basketId: z.string(),
        productId: z.string(),
        name: z.string(),
        price: z.string(),
        quantity: z.number().positive(),
        vatRate: z.number().nullable(),
      }),
    )
    .min(1),
});

export function orderSaleLines(payload: TerminalOrderPayload): SaleLine[] {
  return payload.items.map((i) => ({
    productId: i.productId,
    name: i.name,
    price: i.price,
    quantity: i.quantity,
    vatRate: i.vatRate,
  }));
}

export function orderExtras(payload: TerminalOrderPayload): Record<string, unknown> {
  return { bitrixOrderId: payload.orderId, accountNumber: payload.accountNumber };
}
