import express, { Router } from 'express';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { orderIdOfCloudSellExternalId } from '../../domain/fiscal';
import { posPaymentWorkflowId } from '../../domain/payment';
import type { Logger } from '../../lib/logger';
import { atolReportReadySignal } from '../../workflows/pos-payment';
import { fieldErrors, sendError } from '../errors';

const CallbackSchema = z.looseObject({
  uuid: z.string().min(1),
  external_id: z.string().min(1),
  status: z.string().optional(),
});

/**
 * ATOL's report callback is unsigned, so it is only a hint: it wakes the order's workflow, which then
 * reads the report from ATOL itself. Nothing in the callback body is trusted or stored.
 */
export function atolCallbackRouter(deps: { client: Client; logger: Logger }): Router {
  const router = Router();
  /** Wakes the order's workflow to read its receipt's status now rather than at the next poll. */
  async function wake(orderId: string): Promise<{ status: string; workflowId?: string; reason?: string }> {
    const workflowId = posPaymentWorkflowId(orderId);
    try {
      await deps.client.workflow.getHandle(workflowId).signal(atolReportReadySignal);
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
      return { status: 'ignored', reason: 'the order workflow is not running' };
    }
    return { status: 'accepted', workflowId };
  }
  router.post('/webhooks/atol/callback', express.json({ limit: '256kb' }), async (req, res) => {
    const parsed = CallbackSchema.safeParse(req.body);
    if (!parsed.success) {
      const message = fieldErrors(parsed.error);
      deps.logger.warn({ reason: message }, 'rejected ATOL callback');
      return sendError(res, 400, message);
    }
    const orderId = orderIdOfCloudSellExternalId(parsed.data.external_id);
    if (!orderId) {
      deps.logger.info({ externalId: parsed.data.external_id }, 'ATOL callback for a receipt we do not track');
      return res.status(200).json({ status: 'ignored' });
    }
    res.status(200).json(await wake(orderId));
  });

  // OFD.ru Ferma's callback: unsigned too, and its body names only Ferma's ReceiptId — our InvoiceId comes in
  // the callback URL we registered. Same hint to the order's workflow (the signal's name predates Ferma).
  router.post('/webhooks/ferma/callback', express.json({ limit: '256kb', type: () => true }), async (req, res) => {
    const invoiceId = typeof req.query.invoiceId === 'string' ? req.query.invoiceId : '';
    const orderId = orderIdOfCloudSellExternalId(invoiceId);
    if (!orderId) {
      deps.logger.info({ invoiceId: invoiceId.slice(0, 64) }, 'Ferma callback for a receipt we do not track');
      return res.status(200).json({ status: 'ignored' });
    }
    res.status(200).json(await wake(orderId));
  });
  return router;
}
