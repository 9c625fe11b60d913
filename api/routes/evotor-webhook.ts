import express, { Router } from 'express';
import type { Client } from '@temporalio/client';
import {
  EvotorReceiptWebhookSchema,
  receiptLinesFromWebhook,
  terminalPaymentFromWebhook,
} from '../../activities/evotor/webhook';
import type { TerminalPayment } from '../../domain/payment';
import { walkInReceiptOf, type ReceiptLine } from '../../domain/walk-in';
import type { Logger } from '../../lib/logger';
import { checkBearer } from '../auth';
import { fieldErrors, sendError } from '../errors';
import { receiptIntake, type IntakeOutcome } from '../receipt-intake';
import { walkInIntake } from '../walk-in-intake';
import { findAwaitingOrders } from '../../activities/temporal/activities';
import type { PosConfig } from '../../lib/config';

const RECEIPTS_WITH_MONEY = new Set(['SELL', 'PAYBACK', 'BUY', 'BUYBACK']);

export function evotorWebhookRouter(deps: { client: Client; webhookTokens: string[]; config: PosConfig; logger: Logger }): Router {
  const router = Router();

  const intake = receiptIntake(deps.client);
  const walkIns = walkInIntake(deps.client, { concurrency: 1 });

  /**
   * A sale without our order id: when its store is known and no order there awaits this amount, it is a
   * walk-in sale, recorded and queued for deduction right here (batched with concurrent webhooks). Anything
   * else — a possible order payment, an unknown store — goes to its receipt workflow, which matches it.
   */
  async function sale(payment: TerminalPayment, lines: ReceiptLine[]): Promise<IntakeOutcome> {
    if (lines.length > 0) {
      const match = await findAwaitingOrders(deps.client, deps.config, { terminalStoreId: payment.terminalStoreId, amount: payment.amount, accountNumber: payment.accountNumber });
      if (match.storeId && match.candidates.length === 0) {
        const [outcome] = await walkIns([{ payment, receipt: walkInReceiptOf(payment, match.storeId, lines) }]);
        return outcome;
      }
    }
    return intake.toReceiptWorkflow(payment, 'SELL', lines);
  }

  router.post('/webhooks/evotor/receipts', express.json({ limit: '1mb' }), async (req, res) => {
    const auth = checkBearer(req.header('authorization'), deps.webhookTokens);
    if (!auth.ok) {
      deps.logger.warn({ reason: `bearer token ${auth.reason}` }, 'rejected Evotor webhook');
      return sendError(res, 401, `Authorization: bearer token ${auth.reason}`);
    }
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
    } catch (e) {
      const message = (e as Error).message;
      deps.logger.warn({ reason: message, receiptId: event.data.id }, 'rejected Evotor webhook');
      return sendError(res, 400, message);
    }
    let outcome: IntakeOutcome;
    if (type === 'SELL' && payment.orderId) outcome = await intake.toOrder({ ...payment, orderId: payment.orderId });
    // The sale it refunds is named in the receipt's cloud document (base_document_id): the refund workflow reads it.
    else if (type === 'PAYBACK') outcome = await intake.toRefund(payment, lines);
    else if (type === 'SELL') outcome = await sale(payment, lines);
    else outcome = await intake.toReceiptWorkflow(payment, type, lines);
    deps.logger.info({ receiptId: payment.receiptId, orderId: payment.orderId, ...outcome }, 'Evotor receipt handled');
    res.status(200).json(outcome);
  });
  return router;
}
