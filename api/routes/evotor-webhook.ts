import express, { Router } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import {
  EvotorReceiptWebhookSchema,
  receiptLinesFromWebhook,
  terminalPaymentFromWebhook,
} from '../../activities/evotor/webhook';
import {
  posPaymentWorkflowId,
  TASK_QUEUES,
  terminalReceiptWorkflowId,
  type PosPaymentResult,
  type TerminalPayment,
} from '../../domain/payment';
import type { ReceiptLine } from '../../domain/walk-in';
import type { Logger } from '../../lib/logger';
import { paymentReceivedSignal, posPaymentWorkflow } from '../../workflows/pos-payment';
import { terminalReceiptWorkflow } from '../../workflows/terminal-receipt';
import { checkBearer } from '../auth';
import { fieldErrors, sendError } from '../errors';

type Outcome = { status: 'accepted' | 'duplicate' | 'held' | 'ignored'; workflowId?: string; reason?: string };


const RECEIPTS_WITH_MONEY = new Set(['SELL', 'PAYBACK', 'BUY', 'BUYBACK']);

export function evotorWebhookRouter(deps: { client: Client; webhookTokens: string[]; logger: Logger }): Router {
  const router = Router();

  /**
   * A receipt without an order id (matched by number/amount/store in its own workflow), or one that no
   * order workflow can take (held there), keyed by the receipt so that redeliveries are duplicates.
   */
  async function toReceiptWorkflow(payment: TerminalPayment, receiptType: string, lines: ReceiptLine[], heldReason?: string): Promise<Outcome> {
    const workflowId = terminalReceiptWorkflowId(payment.terminalStoreId, payment.receiptId);
    try {
      await deps.client.workflow.start(terminalReceiptWorkflow, {
        workflowId,
        taskQueue: TASK_QUEUES.workflows,
        args: [{ payment, receiptType, lines, heldReason }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `${receiptType} receipt ${payment.receiptId} from terminal ${payment.deviceId}`,
      });
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) return { status: 'duplicate', workflowId };
      throw e;
    }
    return heldReason ? { status: 'held', workflowId, reason: heldReason } : { status: 'accepted', workflowId };
  }

  async function deliverToOrder(payment: TerminalPayment & { orderId: string }): Promise<Outcome> {
    const workflowId = posPaymentWorkflowId(payment.orderId);
    try {
      await deps.client.workflow.signalWithStart(posPaymentWorkflow, {
        workflowId,
        taskQueue: TASK_QUEUES.workflows,
        args: [{ orderId: payment.orderId, trigger: 'terminal-receipt' }],
        signal: paymentReceivedSignal,
        signalArgs: [payment],
        // A late duplicate after completion must not start the order again (EXTERNAL-APIS.md §5).
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: `POS payment of Bitrix order ${payment.orderId}`,
      });
      return { status: 'accepted', workflowId };
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
    const closed: PosPaymentResult = await deps.client.workflow.getHandle(workflowId).result();
    if (closed.payments.some((p) => p.receiptId === payment.receiptId)) return { status: 'duplicate', workflowId };
    return toReceiptWorkflow(payment, 'SELL', [], `order ${payment.orderId}'s payment workflow already ended (${closed.stage}): a second payment?`);
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
    let outcome: Outcome;
    if (type === 'SELL' && payment.orderId) outcome = await deliverToOrder({ ...payment, orderId: payment.orderId });
    else outcome = await toReceiptWorkflow(payment, type, lines);
    deps.logger.info({ receiptId: payment.receiptId, orderId: payment.orderId, ...outcome }, 'Evotor receipt handled');
    res.status(200).json(outcome);
  });
  return router;
}
