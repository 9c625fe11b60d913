import express, { Router, type Request } from 'express';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { TerminalPayment } from '../../domain/payment';
import type { PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { fieldErrors, sendError } from '../errors';
import { receiptIntake } from '../receipt-intake';
import { mapLimit, walkInIntake, type WalkInSale } from '../walk-in-intake';
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

/**
 * The door for middleware next to terminals without an HTTP API (1C:Retail, a Windows service beside an
 * Ingenico/VeriFone terminal). Requests are HMAC-signed (api/signature.ts). A batch answers per receipt;
 * everything answered "accepted" or "duplicate" is durable in Temporal.
 */
export function middlewareRouter(deps: { client: Client; config: PosConfig; keys: SigningKey[]; logger: Logger }): Router {
  const router = Router();
  const stores = new Set(deps.config.stores.map((s) => s.id));
  const intake = receiptIntake(deps.client);
  const walkIns = walkInIntake(deps.client, { concurrency: START_CONCURRENCY });
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

  function paymentOf(receipt: MiddlewareReceipt): TerminalPayment {
    return {
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
  }

  /** A sale without an order id or number is a walk-in sale: its lines leave the store's warehouse. */
  const isWalkIn = (r: MiddlewareReceipt) => r.type === 'SELL' && !r.orderId && !r.accountNumber;

  async function accept(receipt: MiddlewareReceipt): Promise<ReceiptResult> {
    const payment = paymentOf(receipt);
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

    const results = new Array<ReceiptResult>(envelope.data.receipts.length);
    const others: { i: number; receipt: MiddlewareReceipt }[] = [];
    const sales: { i: number; sale: WalkInSale }[] = [];
    envelope.data.receipts.forEach((raw, i) => {
      const parsed = MiddlewareReceiptSchema.safeParse(raw);
      const receiptId = typeof (raw as { receiptId?: unknown })?.receiptId === 'string' ? (raw as { receiptId: string }).receiptId : `#${i}`;
      const reject = (reason: string) => (results[i] = { receiptId, status: 'rejected', reason });
      if (!parsed.success) return reject(fieldErrors(parsed.error));
      const r = parsed.data;
      if (!stores.has(r.storeId)) return reject(`storeId: unknown store "${r.storeId}"`);
      const sum = r.lines.reduce((s, l) => s + (l.price ?? 0) * l.quantity, 0);
      if (r.lines.every((l) => l.price !== undefined) && r.lines.length > 0 && Math.round(sum) !== r.total)
        return reject(`total: ${r.total} is not the sum of the lines (${Math.round(sum)})`);
      if (!isWalkIn(r)) return others.push({ i, receipt: r });
      if (r.lines.length === 0) return reject('lines: a walk-in sale (no orderId or accountNumber) needs the lines that left the shelf');
      const lines = r.lines.map((l) => ({ bitrixProductId: l.productId, name: l.name, quantity: l.quantity }));
      sales.push({ i, sale: { payment: paymentOf(r), receipt: { key: `${r.storeId}:${r.receiptId}`, receiptId: r.receiptId, storeId: r.storeId, terminalStoreId: r.storeId, lines } } });
    });
    const [walkInOutcomes] = await Promise.all([
      walkIns(sales.map((s) => s.sale)),
      mapLimit(others, START_CONCURRENCY, async ({ i, receipt }) => {
        results[i] = await accept(receipt);
      }),
    ]);
    sales.forEach(({ i, sale }, k) => (results[i] = { receiptId: sale.receipt.receiptId, ...walkInOutcomes[k] }));
    const rejected = results.filter((r) => r.status === 'rejected');
    for (const r of rejected) deps.logger.warn({ receiptId: r.receiptId, reason: r.reason }, 'middleware receipt rejected');
    deps.logger.info({ receipts: results.length, rejected: rejected.length, idempotencyKey: req.header('idempotency-key') }, 'middleware batch handled');
    res.status(200).json({ results });
  });
  return router;
}
