import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { QueryNotRegisteredError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { AccountNumberSchema, AmountSchema, LIMITS, LineNameSchema, OrderIdSchema, ProductIdSchema, QuantitySchema, TerminalIdSchema } from '../../domain/ids';
import { type PosPaymentStatus, type TerminalPayment } from '../../domain/payment';
import type { FiscalAttributes } from '../../domain/fiscal';
import { confirmFiscalUpdate, statusQuery } from '../../workflows/pos-payment';
import type { PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { fieldErrors, requireContentType, sendError } from '../errors';
import { terminalReceiptIntake, type TerminalReceipt } from '../../intake/terminal-receipts';
import { checkSignatureHeaders, ReplayGuard, SIGNATURE_HEADERS, SignatureError, verifySignature, type SigningKey } from '../signature';
import { posPaymentWorkflowId } from '../../domain/workflow-ids';

export const MAX_RECEIPTS_PER_BATCH = 1000;
const START_CONCURRENCY = 16;

const KopecksSchema = z.number().int('kopecks: an integer').nonnegative().max(LIMITS.maxAmountKopecks, `at most ${LIMITS.maxAmountKopecks} kopecks`);

/** One receipt in the middleware contract v1 (docs/middleware-api.md). Money in kopecks; ids and limits: domain/ids.ts. */
export const MiddlewareReceiptSchema = z.object({
  receiptId: TerminalIdSchema,
  storeId: z.string().min(1).max(LIMITS.terminalIdLength, `at most ${LIMITS.terminalIdLength} characters`),
  deviceId: TerminalIdSchema,
  type: z.enum(['SELL', 'PAYBACK']),
  dateTime: z.string().datetime({ offset: true }),
  orderId: OrderIdSchema.optional(),
  /** PAYBACK: the receipt id of the sale it refunds (at the same store). */
  baseReceiptId: TerminalIdSchema.optional(),
  accountNumber: AccountNumberSchema.optional(),
  total: AmountSchema,
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as RUB').default('RUB'),
  paymentType: z.enum(['card', 'cash', 'other']).default('card'),
  lines: z
    .array(
      z.object({
        productId: ProductIdSchema,
        name: LineNameSchema,
        quantity: QuantitySchema,
        price: KopecksSchema.optional(),
      }),
    )
    .max(LIMITS.linesPerReceipt, `at most ${LIMITS.linesPerReceipt} lines`)
    .default([]),
});
export type MiddlewareReceipt = z.infer<typeof MiddlewareReceiptSchema>;

/** A 1C:Retail fiscal confirmation: the 54-FZ attributes of the receipt it printed for an order's payment. */
export const FiscalConfirmationSchema = z.object({
  orderId: OrderIdSchema,
  /** The payment receipt this confirms (as reported in the receipts batch), for the log. */
  receiptId: TerminalIdSchema.optional(),
  fiscal: z.object({
    fnNumber: z.string().regex(/^\d{16}$/, 'ФН number (tag 1041): 16 digits'),
    fiscalDocumentNumber: z.string().regex(/^\d{1,10}$/, 'ФД number (tag 1040): digits'),
    fiscalSign: z.string().regex(/^\d{1,10}$/, 'ФПД (tag 1077): digits'),
    receiptDateTime: z.string().datetime({ offset: true }).transform((t) => new Date(t).toISOString()),
    receiptNumber: z.string().regex(/^\d{1,10}$/, 'digits').optional(),
    shiftNumber: z.string().regex(/^\d{1,10}$/, 'digits').optional(),
    registrationNumber: z.string().regex(/^\d{1,20}$/, 'digits').optional(),
    ofdUrl: z.url({ protocol: /^https$/, error: 'an https:// URL' }).max(512).optional(),
    total: AmountSchema.optional(),
  }),
});

/** Two confirmations are the same receipt when their fiscal drive, document number and sign agree. */
function sameReceipt(a: FiscalAttributes, b: { fnNumber: string; fiscalDocumentNumber: string; fiscalSign: string }): boolean {
  return a.fnNumber === b.fnNumber && a.fiscalDocumentNumber === b.fiscalDocumentNumber && a.fiscalSign === b.fiscalSign;
}

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
  // The middleware reads each receipt's answer: a payment for another store's order is "rejected" with the reason.
  const take = terminalReceiptIntake(deps.client, deps.config, { concurrency: START_CONCURRENCY, onForeignOrder: 'reject' });
  const replays = new ReplayGuard();

  function refuse(req: Request, res: Response, e: SignatureError): void {
    deps.logger.warn({ reason: e.message, path: req.path }, 'rejected middleware request');
    sendError(res, 401, e.message);
  }

  const signatureHeaders = (req: Request) => ({
    keyId: req.header(SIGNATURE_HEADERS.keyId),
    timestamp: req.header(SIGNATURE_HEADERS.timestamp),
    signature: req.header(SIGNATURE_HEADERS.signature),
  });

  /** Runs before the body parser: a request without a known key and a fresh timestamp is refused unread. */
  function headersFirst(req: Request, res: Response, next: NextFunction): void {
    try {
      checkSignatureHeaders(signatureHeaders(req), deps.keys);
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      return refuse(req, res, e);
    }
    next();
  }

  /**
   * Checks the signature: over the raw body for POST, over the request target (path and query, exactly as
   * sent) for GET. Answers 401/409 itself and returns undefined when the request is refused.
   */
  function authenticate(req: Request, res: Response): SigningKey | undefined {
    const signed = req.method === 'GET' ? Buffer.from(req.originalUrl, 'utf8') : Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let key: SigningKey;
    try {
      key = verifySignature(signatureHeaders(req), signed, deps.keys);
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      refuse(req, res, e);
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
    if (!store) return `storeId: unknown store "${storeId.slice(0, LIMITS.terminalIdLength)}"`;
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

  /** The body as JSON, or undefined after answering 415 or 400. */
  function jsonBody(req: Request, res: Response): unknown {
    if (!requireContentType(req, res, 'json')) return undefined;
    try {
      return JSON.parse((req.body as Buffer).toString('utf8'));
    } catch {
      sendError(res, 400, 'body: not valid JSON');
      return undefined;
    }
  }

  router.post('/middleware/v1/receipts/batch', headersFirst, express.raw({ type: '*/*', limit: '10mb' }), async (req, res) => {
    const key = authenticate(req, res);
    if (!key) return;
    const body = jsonBody(req, res);
    if (body === undefined) return;
    const envelope = z.object({ receipts: z.array(z.unknown()).min(1, 'at least one receipt') }).safeParse(body);
    if (!envelope.success) return sendError(res, 400, fieldErrors(envelope.error));
    if (envelope.data.receipts.length > MAX_RECEIPTS_PER_BATCH)
      return sendError(res, 413, `receipts: at most ${MAX_RECEIPTS_PER_BATCH} per request (got ${envelope.data.receipts.length})`);

    const results = new Array<ReceiptResult>(envelope.data.receipts.length);
    const valid: { i: number; receipt: TerminalReceipt }[] = [];
    envelope.data.receipts.forEach((raw, i) => {
      const parsed = MiddlewareReceiptSchema.safeParse(raw);
      const rawId = (raw as { receiptId?: unknown })?.receiptId;
      // Echoed back to the sender: never longer than an id may be.
      const receiptId = typeof rawId === 'string' && rawId.length <= LIMITS.terminalIdLength ? rawId : `#${i}`;
      const reject = (reason: string) => (results[i] = { receiptId, status: 'rejected', reason });
      if (!parsed.success) return reject(fieldErrors(parsed.error));
      const r = parsed.data;
      const refusal = storeRefusal(key, r.storeId);
      if (refusal) return reject(refusal);
      if (r.type === 'PAYBACK' && !r.baseReceiptId && !r.orderId) return reject('baseReceiptId: a refund names the sale it refunds (or its orderId)');
      const sum = r.lines.reduce((s, l) => s + (l.price ?? 0) * l.quantity, 0);
      if (r.lines.every((l) => l.price !== undefined) && r.lines.length > 0 && Math.round(sum) !== r.total)
        return reject(`total: ${r.total} is not the sum of the lines (${Math.round(sum)})`);
      if (r.type === 'SELL' && !r.orderId && !r.accountNumber && r.lines.length === 0)
        return reject('lines: a walk-in sale (no orderId or accountNumber) needs the lines that left the shelf');
      const lines = r.lines.map((l) => ({ bitrixProductId: l.productId, name: l.name, quantity: l.quantity }));
      valid.push({ i, receipt: { payment: paymentOf(r), type: r.type, lines, storeId: r.storeId, baseReceiptId: r.baseReceiptId } });
    });
    const outcomes = await take(valid.map((v) => v.receipt));
    valid.forEach(({ i, receipt }, k) => {
      const outcome = outcomes[k];
      results[i] =
        outcome.status === 'rejected'
          ? { receiptId: receipt.payment.receiptId, status: 'rejected', reason: outcome.reason }
          : {
              receiptId: receipt.payment.receiptId,
              status: outcome.status === 'held' ? 'accepted' : outcome.status,
              workflowId: outcome.workflowId,
              ...(outcome.reason ? { reason: outcome.reason } : {}),
            };
    });
    const rejected = results.filter((r) => r.status === 'rejected');
    for (const r of rejected) deps.logger.warn({ receiptId: r.receiptId, reason: r.reason }, 'middleware receipt rejected');
    deps.logger.info({ receipts: results.length, rejected: rejected.length, idempotencyKey: req.header('idempotency-key')?.slice(0, 128) }, 'middleware batch handled');
    res.status(200).json({ results });
  });
  /**
   * The orders waiting for payment at a store, for middleware that has no push channel: it polls this and
   * lets the cashier pick the order (or rings it by number). Read from Temporal visibility.
   */
  router.get('/middleware/v1/orders', headersFirst, async (req, res) => {
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
   * complete the order's workflow. Only an order waiting for exactly that takes it; the same confirmation
   * again is "duplicate", a different one for an order already confirmed is a conflict (409).
   */
  router.post('/middleware/v1/fiscal-confirmations', headersFirst, express.raw({ type: '*/*', limit: '64kb' }), async (req, res) => {
    const key = authenticate(req, res);
    if (!key) return;
    const raw = jsonBody(req, res);
    if (raw === undefined) return;
    const parsed = FiscalConfirmationSchema.safeParse(raw);
    const refuseConfirmation = (status: number, reason: string, orderId?: string) => {
      deps.logger.warn({ orderId, keyId: key.id, reason }, 'rejected fiscal confirmation');
      sendError(res, status, reason);
    };
    if (!parsed.success) return refuseConfirmation(400, fieldErrors(parsed.error));
    const { orderId, receiptId, fiscal } = parsed.data;
    const workflowId = posPaymentWorkflowId(orderId);
    const handle = deps.client.workflow.getHandle(workflowId);
    let status: PosPaymentStatus;
    try {
      status = await handle.query(statusQuery);
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError) && !(e instanceof QueryNotRegisteredError)) throw e;
      return refuseConfirmation(404, `orderId: no payment workflow for order ${orderId}`, orderId);
    }
    const refusal = status.storeId ? storeRefusal(key, status.storeId) : undefined;
    if (refusal) return refuseConfirmation(403, refusal, orderId);
    if (status.fiscal) {
      if (sameReceipt(status.fiscal, fiscal)) return res.status(200).json({ status: 'duplicate', workflowId });
      return refuseConfirmation(409, `fiscal: order ${orderId} is already confirmed by another receipt (ФН ${status.fiscal.fnNumber}, ФД ${status.fiscal.fiscalDocumentNumber})`, orderId);
    }
    if (status.fiscalMode && status.fiscalMode !== '1c') return refuseConfirmation(409, `orderId: order ${orderId} is fiscalized by "${status.fiscalMode}", not by 1C:Retail`, orderId);
    let outcome: 'accepted' | 'duplicate';
    try {
      // An Update with a validator: a confirmation the order is not waiting for is refused without touching its history.
      outcome = await handle.executeUpdate(confirmFiscalUpdate, { args: [{ ...fiscal, source: '1c' }] });
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return refuseConfirmation(404, `orderId: the payment workflow of order ${orderId} has ended`, orderId);
      if (e instanceof WorkflowUpdateFailedError) return refuseConfirmation(409, `orderId: ${e.cause?.message ?? e.message}`, orderId);
      throw e;
    }
    deps.logger.info({ orderId, receiptId, keyId: key.id, outcome }, 'fiscal confirmation handled');
    res.status(outcome === 'accepted' ? 202 : 200).json({ status: outcome, workflowId });
  });
  return router;
}
