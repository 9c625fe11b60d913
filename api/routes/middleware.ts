import express, { Router, type Request, type Response } from 'express';
import { QueryNotRegisteredError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { posPaymentWorkflowId, type PosPaymentStatus, type TerminalPayment } from '../../domain/payment';
import { fiscalConfirmedSignal, statusQuery } from '../../workflows/pos-payment';
import type { PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { fieldErrors, sendError } from '../errors';
import { receiptIntake } from '../receipt-intake';
import { mapLimit, walkInIntake, type WalkInSale } from '../walk-in-intake';
import { walkInReceiptOf } from '../../domain/walk-in';
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
  /** PAYBACK: the receipt id of the sale it refunds (at the same store). */
  baseReceiptId: z.string().min(1).max(128).optional(),
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

/** A 1C:Retail fiscal confirmation: the 54-FZ attributes of the receipt it printed for an order's payment. */
export const FiscalConfirmationSchema = z.object({
  orderId: z.string().regex(/^\d+$/, 'a numeric Bitrix order id'),
  /** The payment receipt this confirms (as reported in the receipts batch), for the log. */
  receiptId: z.string().min(1).max(128).optional(),
  fiscal: z.object({
    fnNumber: z.string().regex(/^\d{16}$/, 'ФН number (tag 1041): 16 digits'),
    fiscalDocumentNumber: z.string().regex(/^\d{1,10}$/, 'ФД number (tag 1040): digits'),
    fiscalSign: z.string().regex(/^\d{1,10}$/, 'ФПД (tag 1077): digits'),
    receiptDateTime: z.string().datetime({ offset: true }).transform((t) => new Date(t).toISOString()),
    receiptNumber: z.string().max(16).optional(),
    shiftNumber: z.string().max(16).optional(),
    registrationNumber: z.string().max(20).optional(),
    ofdUrl: z.string().url().optional(),
    total: z.number().int('kopecks: an integer').nonnegative().optional(),
  }),
});

/** An order waiting for payment at a store, as `GET /middleware/v1/orders` lists it. Money in kopecks. */
export interface WaitingOrder {
  orderId: string;
  accountNumber?: string;
  /** Still to pay (kopecks). */
  total: number;
  currency: string;
  waitingSince: string;
  payBy?: string;
}
const MAX_WAITING_ORDERS = 500;

export type ReceiptResult = { receiptId: string; status: 'accepted' | 'duplicate' | 'rejected'; workflowId?: string; reason?: string };

/**
 * The door for middleware next to terminals without an HTTP API (1C:Retail, a Windows service beside an
 * Ingenico/VeriFone terminal). Requests are HMAC-signed (api/signature.ts). A batch answers per receipt;
 * everything answered "accepted" or "duplicate" is durable in Temporal.
 */
export function middlewareRouter(deps: { client: Client; config: PosConfig; keys: SigningKey[]; logger: Logger }): Router {
  const router = Router();
  const storesById = new Map(deps.config.stores.map((s) => [s.id, s]));
  const intake = receiptIntake(deps.client);
  const walkIns = walkInIntake(deps.client, { concurrency: START_CONCURRENCY });
  const replays = new ReplayGuard();

  /**
   * Checks the signature: over the raw body for POST, over the request target (path and query, exactly as
   * sent) for GET. Answers 401/409 itself and returns undefined when the request is refused.
   */
  function authenticate(req: Request, res: Response): SigningKey | undefined {
    const signed = req.method === 'GET' ? Buffer.from(req.originalUrl, 'utf8') : Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let key: SigningKey;
    try {
      key = verifySignature(
        {
          keyId: req.header(SIGNATURE_HEADERS.keyId),
          timestamp: req.header(SIGNATURE_HEADERS.timestamp),
          signature: req.header(SIGNATURE_HEADERS.signature),
        },
        signed,
        deps.keys,
      );
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      deps.logger.warn({ reason: e.message, path: req.path }, 'rejected middleware request');
      sendError(res, 401, e.message);
      return undefined;
    }
    // A read may be repeated (a poll within one second carries the same signature); a write may not.
    if (req.method !== 'GET' && replays.replayed(key.id, req.header(SIGNATURE_HEADERS.signature) ?? '')) {
      deps.logger.warn({ keyId: key.id, reason: 'replayed signature', path: req.path }, 'rejected middleware request');
      sendError(res, 409, 'x-pos-signature: this signed request was already received (sign every request anew, with a fresh timestamp)');
      return undefined;
    }
    return key;
  }

  /** Why `key` may not speak for `storeId`, or undefined when it may (POS_CONFIG stores[].middlewareKeyId). */
  function storeRefusal(key: SigningKey, storeId: string): string | undefined {
    const store = storesById.get(storeId);
    if (!store) return `storeId: unknown store "${storeId}"`;
    if (store.middlewareKeyId && store.middlewareKeyId !== key.id) return `storeId: store "${storeId}" is not served by key "${key.id}"`;
    return undefined;
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
    const lines = receipt.lines.map((l) => ({ bitrixProductId: l.productId, name: l.name, quantity: l.quantity }));
    const outcome =
      receipt.type === 'PAYBACK'
        ? await intake.toRefund(payment, lines, { baseReceiptId: receipt.baseReceiptId, storeId: receipt.storeId })
        : receipt.orderId
        ? await intake.toOrder({ ...payment, orderId: receipt.orderId })
        : await intake.toReceiptWorkflow(
            payment,
            receipt.type,
            lines,
            // A sale with an order number (walk-ins, with neither id nor number, never come here): matched.
            { storeId: receipt.storeId },
          );
    return {
      receiptId: receipt.receiptId,
      status: outcome.status === 'held' ? 'accepted' : outcome.status,
      workflowId: outcome.workflowId,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
    };
  }

  router.post('/middleware/v1/receipts/batch', express.raw({ type: '*/*', limit: '10mb' }), async (req, res) => {
    const key = authenticate(req, res);
    if (!key) return;
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
      const refusal = storeRefusal(key, r.storeId);
      if (refusal) return reject(refusal);
      if (r.type === 'PAYBACK' && !r.baseReceiptId && !r.orderId) return reject('baseReceiptId: a refund names the sale it refunds (or its orderId)');
      const sum = r.lines.reduce((s, l) => s + (l.price ?? 0) * l.quantity, 0);
      if (r.lines.every((l) => l.price !== undefined) && r.lines.length > 0 && Math.round(sum) !== r.total)
        return reject(`total: ${r.total} is not the sum of the lines (${Math.round(sum)})`);
      if (!isWalkIn(r)) return others.push({ i, receipt: r });
      if (r.lines.length === 0) return reject('lines: a walk-in sale (no orderId or accountNumber) needs the lines that left the shelf');
      const lines = r.lines.map((l) => ({ bitrixProductId: l.productId, name: l.name, quantity: l.quantity }));
      const payment = paymentOf(r);
      sales.push({ i, sale: { payment, receipt: walkInReceiptOf(payment, r.storeId, lines) } });
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
  /**
   * The orders waiting for payment at a store, for middleware that has no push channel: it polls this and
   * lets the cashier pick the order (or rings it by number). Read from Temporal visibility.
   */
  router.get('/middleware/v1/orders', async (req, res) => {
    const key = authenticate(req, res);
    if (!key) return;
    const storeId = typeof req.query.storeId === 'string' ? req.query.storeId : '';
    if (!storeId) return sendError(res, 400, 'storeId: required in the query');
    const refusal = storeRefusal(key, storeId);
    if (refusal) return sendError(res, refusal.includes('unknown') ? 404 : 403, refusal);
    const query = `WorkflowType = 'posPaymentWorkflow' AND ExecutionStatus = 'Running' AND PosStore = '${storeId.replace(/'/g, "''")}' AND PosStage = 'AWAITING_PAYMENT'`;
    const orders: WaitingOrder[] = [];
    for await (const wf of deps.client.workflow.list({ query, pageSize: 100 })) {
      const status = await deps.client.workflow.getHandle(wf.workflowId).query(statusQuery).catch(() => undefined);
      if (!status || status.stage !== 'AWAITING_PAYMENT' || status.total === undefined) continue;
      orders.push({
        orderId: status.orderId,
        accountNumber: status.accountNumber,
        total: status.total - status.paidAmount,
        currency: status.currency ?? 'RUB',
        waitingSince: status.stageSince,
        payBy: status.deadline,
      });
      if (orders.length >= MAX_WAITING_ORDERS) break;
    }
    res.status(200).json({ storeId, orders });
  });

  /**
   * 1C:Retail (fiscalMode "1c") printed the 54-FZ receipt of an order's payment: its fiscal attributes
   * complete the order's workflow. Idempotent: the first confirmation counts, a repeat is "duplicate".
   */
  router.post('/middleware/v1/fiscal-confirmations', express.raw({ type: '*/*', limit: '64kb' }), async (req, res) => {
    const key = authenticate(req, res);
    if (!key) return;
    let raw: unknown;
    try {
      raw = JSON.parse((req.body as Buffer).toString('utf8'));
    } catch {
      return sendError(res, 400, 'body: not valid JSON');
    }
    const parsed = FiscalConfirmationSchema.safeParse(raw);
    if (!parsed.success) {
      const reason = fieldErrors(parsed.error);
      deps.logger.warn({ keyId: key.id, reason }, 'rejected fiscal confirmation');
      return sendError(res, 400, reason);
    }
    const { orderId, receiptId, fiscal } = parsed.data;
    const workflowId = posPaymentWorkflowId(orderId);
    const handle = deps.client.workflow.getHandle(workflowId);
    let status: PosPaymentStatus;
    try {
      status = await handle.query(statusQuery);
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError) && !(e instanceof QueryNotRegisteredError)) throw e;
      deps.logger.warn({ orderId, reason: 'no payment workflow' }, 'rejected fiscal confirmation');
      return sendError(res, 404, `orderId: no payment workflow for order ${orderId}`);
    }
    const refusal = status.storeId ? storeRefusal(key, status.storeId) : undefined;
    if (refusal) {
      deps.logger.warn({ orderId, keyId: key.id, reason: refusal }, 'rejected fiscal confirmation');
      return sendError(res, 403, refusal);
    }
    if (status.fiscal) return res.status(200).json({ status: 'duplicate', workflowId });
    if (status.fiscalMode && status.fiscalMode !== '1c') {
      const reason = `orderId: order ${orderId} is fiscalized by "${status.fiscalMode}", not by 1C:Retail`;
      deps.logger.warn({ orderId, keyId: key.id, reason }, 'rejected fiscal confirmation');
      return sendError(res, 409, reason);
    }
    try {
      await handle.signal(fiscalConfirmedSignal, { ...fiscal, source: '1c' });
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
      return sendError(res, 404, `orderId: the payment workflow of order ${orderId} has ended`);
    }
    deps.logger.info({ orderId, receiptId, keyId: key.id, idempotencyKey: req.header('idempotency-key') }, 'fiscal confirmation accepted');
    res.status(202).json({ status: 'accepted', workflowId });
  });
  return router;
}
