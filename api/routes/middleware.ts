import express, { Router, type Request } from 'express';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { TerminalPayment } from '../../domain/payment';
import type { PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { fieldErrors, sendError } from '../errors';
import { receiptIntake } from '../receipt-intake';
import { ReplayGuard, SIGNATURE_HEADERS, SignatureError, verifySignature, type SigningKey } from '../signature';

export const MAX_RECEIPTS_PER_BATCH = 1000;
const START_CONCURRENCY = 16;

/** One receipt in the middleware contract v1 (docs/middleware-api.md). Money in kopecks. */
export const MiddlewareReceiptSchema = z.object({
  receiptId: z.string().min(1).max(128),
  storeId: z.string().min(1),
  deviceId: z.string().min(1).max(128),
  type: z.enum(['SELL', 'PAYBACK']),
  dateTime: z.string().datetime({ offset: true }),
  orderId: z.string().regex(/^\d+$/, 'a numeric Bitrix order id').optional(),
  accountNumber: z.string().min(1).max(64).optional(),
  total: z.number().int('kopecks: an integer').nonnegative(),
  currency: z.string().length(3).default('RUB'),
  paymentType: z.enum(['card', 'cash', 'other']).default('card'),
  lines: z
    .array(
      z.object({
        productId: z.string().regex(/^\d+$/, 'a Bitrix product id'),
        name: z.string().min(1).max(256),
        quantity: z.number().positive(),
        price: z.number().int('kopecks: an integer').nonnegative().optional(),
      }),
    )
    .max(500)
    .default([]),
});
export type MiddlewareReceipt = z.infer<typeof MiddlewareReceiptSchema>;

export type ReceiptResult = { receiptId: string; status: 'accepted' | 'duplicate' | 'rejected'; workflowId?: string; reason?: string };

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/**
 * The door for middleware next to terminals without an HTTP API (1C:Retail, a Windows service beside an
 * Ingenico/VeriFone terminal). Requests are HMAC-signed (api/signature.ts). A batch answers per receipt;
 * everything answered "accepted" or "duplicate" is durable in Temporal.
 */
export function middlewareRouter(deps: { client: Client; config: PosConfig; keys: SigningKey[]; logger: Logger }): Router {
  const router = Router();
  const stores = new Set(deps.config.stores.map((s) => s.id));
  const intake = receiptIntake(deps.client);
  const replays = new ReplayGuard();

  function authenticate(req: Request): SigningKey {
    return verifySignature(
      {
        keyId: req.header(SIGNATURE_HEADERS.keyId),
        timestamp: req.header(SIGNATURE_HEADERS.timestamp),
        signature: req.header(SIGNATURE_HEADERS.signature),
      },
      Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      deps.keys,
    );
  }

  async function accept(receipt: MiddlewareReceipt): Promise<ReceiptResult> {
    const payment: TerminalPayment = {
      receiptId: receipt.receiptId,
      terminalKind: 'middleware',
      terminalStoreId: receipt.storeId,
      deviceId: receipt.deviceId,
      amount: receipt.total,
      currency: receipt.currency,
      paidAt: new Date(receipt.dateTime).toISOString(),
      paymentSource: receipt.paymentType.toUpperCase(),
      orderId: receipt.orderId,
      accountNumber: receipt.accountNumber,
    };
    const outcome =
      receipt.type === 'SELL' && receipt.orderId
        ? await intake.toOrder({ ...payment, orderId: receipt.orderId })
        : await intake.toReceiptWorkflow(
            payment,
            receipt.type,
            receipt.lines.map((l) => ({ bitrixProductId: l.productId, name: l.name, quantity: l.quantity })),
            // Middleware reports order payments with an order id or number: without either it is a walk-in sale.
            { storeId: receipt.storeId, matchOrders: Boolean(receipt.accountNumber) },
          );
    return {
      receiptId: receipt.receiptId,
      status: outcome.status === 'held' ? 'accepted' : outcome.status,
      workflowId: outcome.workflowId,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
    };
  }

  router.post('/middleware/v1/receipts/batch', express.raw({ type: '*/*', limit: '10mb' }), async (req, res) => {
    let key: SigningKey;
    try {
      key = authenticate(req);
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      deps.logger.warn({ reason: e.message, path: req.path }, 'rejected middleware request');
      return sendError(res, 401, e.message);
    }
    if (replays.replayed(key.id, req.header(SIGNATURE_HEADERS.signature) ?? '')) {
      deps.logger.warn({ keyId: key.id, reason: 'replayed signature' }, 'rejected middleware request');
      return sendError(res, 409, 'x-pos-signature: this signed request was already received (sign every request anew, with a fresh timestamp)');
    }
    let body: unknown;
    try {
      body = JSON.parse((req.body as Buffer).toString('utf8'));
    } catch {
      return sendError(res, 400, 'body: not valid JSON');
    }
    const envelope = z.object({ receipts: z.array(z.unknown()).min(1, 'at least one receipt') }).safeParse(body);
    if (!envelope.success) return sendError(res, 400, fieldErrors(envelope.error));
    if (envelope.data.receipts.length > MAX_RECEIPTS_PER_BATCH)
      return sendError(res, 413, `receipts: at most ${MAX_RECEIPTS_PER_BATCH} per request (got ${envelope.data.receipts.length})`);

    const results = await mapLimit(envelope.data.receipts, START_CONCURRENCY, async (raw, i): Promise<ReceiptResult> => {
      const parsed = MiddlewareReceiptSchema.safeParse(raw);
      const receiptId = typeof (raw as { receiptId?: unknown })?.receiptId === 'string' ? (raw as { receiptId: string }).receiptId : `#${i}`;
      if (!parsed.success) return { receiptId, status: 'rejected', reason: fieldErrors(parsed.error) };
      if (!stores.has(parsed.data.storeId)) return { receiptId, status: 'rejected', reason: `storeId: unknown store "${parsed.data.storeId}"` };
      const sum = parsed.data.lines.reduce((s, l) => s + (l.price ?? 0) * l.quantity, 0);
      if (parsed.data.lines.every((l) => l.price !== undefined) && parsed.data.lines.length > 0 && Math.round(sum) !== parsed.data.total)
        return { receiptId, status: 'rejected', reason: `total: ${parsed.data.total} is not the sum of the lines (${Math.round(sum)})` };
      return accept(parsed.data);
    });
    const rejected = results.filter((r) => r.status === 'rejected');
    for (const r of rejected) deps.logger.warn({ receiptId: r.receiptId, reason: r.reason }, 'middleware receipt rejected');
    deps.logger.info({ receipts: results.length, rejected: rejected.length, idempotencyKey: req.header('idempotency-key') }, 'middleware batch handled');
    res.status(200).json({ results });
  });
  return router;
}
