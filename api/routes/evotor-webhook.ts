import express, { Router } from 'express';
import type { Client } from '@temporalio/client';
import {
  EvotorReceiptWebhookSchema,
  receiptLinesFromWebhook,
  terminalPaymentFromWebhook,
} from '../../activities/evotor/webhook';
import type { TerminalPayment } from '../../domain/payment';
import type { ReceiptLine } from '../../domain/walk-in';
import type { Logger } from '../../lib/logger';
import { checkBearer } from '../auth';
import { fieldErrors, requireContentType, sendError } from '../errors';
import { terminalReceiptIntake } from '../../intake/terminal-receipts';
import type { PosConfig } from '../../lib/config';

const RECEIPTS_WITH_MONEY = new Set(['SELL', 'PAYBACK', 'BUY', 'BUYBACK']);

/** The configured Evotor store ids, for telling a mistyped one (another case) from a store we do not serve. */
function nonCanonicalStore(config: PosConfig, storeId: string): string | undefined {
  const configured = config.stores.map((s) => s.evotorStoreId).filter((id): id is string => Boolean(id));
  if (configured.includes(storeId)) return undefined;
  const other = configured.find((id) => id.toLowerCase() === storeId.toLowerCase());
  return other ? `data.storeId: not canonical: this store is written "${other}"` : undefined;
}

export function evotorWebhookRouter(deps: { client: Client; webhookTokens: string[]; config: PosConfig; logger: Logger }): Router {
  const router = Router();
  // A receipt from one Evotor store for an order of another is held for a person: Evotor only retries.
  const take = terminalReceiptIntake(deps.client, deps.config, { concurrency: 1, onForeignOrder: 'hold' });

  router.post('/webhooks/evotor/receipts', express.json({ limit: '1mb' }), async (req, res) => {
    const auth = checkBearer(req.header('authorization'), deps.webhookTokens);
    if (!auth.ok) {
      deps.logger.warn({ reason: `bearer token ${auth.reason}` }, 'rejected Evotor webhook');
      return sendError(res, 401, `Authorization: bearer token ${auth.reason}`);
    }
    if (!requireContentType(req, res, 'json')) return;
    const parsed = EvotorReceiptWebhookSchema.safeParse(req.body);
    if (!parsed.success) {
      const message = fieldErrors(parsed.error);
      deps.logger.warn({ reason: message }, 'rejected Evotor webhook');
      return sendError(res, 400, message);
    }
    const event = parsed.data;
    const type = event.data.type.toUpperCase();
    if (!RECEIPTS_WITH_MONEY.has(type)) {
      deps.logger.info({ receiptId: event.data.id, type }, 'Evotor document ignored: carries no payment');
      return res.status(200).json({ status: 'ignored', reason: `document type ${type} carries no payment` });
    }
    let payment: TerminalPayment;
    let lines: ReceiptLine[];
    try {
      payment = terminalPaymentFromWebhook(event);
      lines = receiptLinesFromWebhook(event);
      const storeProblem = nonCanonicalStore(deps.config, payment.terminalStoreId);
      if (storeProblem) throw new RangeError(storeProblem);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      deps.logger.warn({ reason: e.message, receiptId: event.data.id }, 'rejected Evotor webhook');
      return sendError(res, 400, e.message);
    }
    const [outcome] = await take([{ payment, type, lines }]);
    if (outcome.status === 'rejected') {
      deps.logger.warn({ reason: outcome.reason, receiptId: payment.receiptId }, 'rejected Evotor webhook');
      return sendError(res, 400, outcome.reason);
    }
    deps.logger.info({ receiptId: payment.receiptId, orderId: payment.orderId, ...outcome }, 'Evotor receipt handled');
    res.status(200).json(outcome);
  });
  return router;
}
