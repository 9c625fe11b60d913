import express, { Router } from 'express';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { orderIdOfCloudSellExternalId } from '../../domain/fiscal';
import type { Logger } from '../../lib/logger';
import { fiscalReportHintUpdate } from '../../workflows/pos-payment';
import { fieldErrors, sendError } from '../errors';
import { posPaymentWorkflowId } from '../../domain/workflow-ids';

const CallbackSchema = z.looseObject({
  uuid: z.string().min(1).max(128),
  external_id: z.string().min(1).max(128),
  status: z.string().max(32).optional(),
});

/** One hint per order per this long and API process; the rest are answered without a call to Temporal. */
export const HINT_INTERVAL_MS = 2_000;
const HINT_MEMORY = 10_000;
/** A hint never holds the caller longer than this (a worker that is down must not block the register). */
const HINT_TIMEOUT_MS = 5_000;

type HintOutcome = { status: 'accepted' | 'ignored'; reason?: string };

/**
 * The cloud registers' report callbacks (ATOL Online, OFD.ru Ferma). Neither is signed, so anyone may call
 * them: a callback is only a hint that wakes an order's workflow to read its report from the register now
 * rather than at the next poll. Nothing in the body is trusted or stored, and however often a callback comes,
 * it adds at most a few events to a workflow (the fiscalReportHint Update's validator takes one pending hint
 * at a time, only while that register's report is awaited, at most MAX_FISCAL_HINTS per order; a refused
 * Update writes nothing). Every callback is answered 200: a hint lost is only a later poll.
 */
export function fiscalCallbacksRouter(deps: { client: Client; logger: Logger }): Router {
  const router = Router();
  const recent = new Map<string, number>();

  /** True when a hint for this workflow went out within HINT_INTERVAL_MS (remembered for a bounded number of workflows). */
  function throttled(workflowId: string, now = Date.now()): boolean {
    const last = recent.get(workflowId);
    if (last !== undefined && now - last < HINT_INTERVAL_MS) return true;
    recent.delete(workflowId);
    recent.set(workflowId, now);
    if (recent.size > HINT_MEMORY) recent.delete(recent.keys().next().value!);
    return false;
  }

  async function hint(register: 'atol' | 'ferma', orderId: string): Promise<HintOutcome> {
    const workflowId = posPaymentWorkflowId(orderId);
    if (throttled(workflowId)) return { status: 'ignored', reason: 'a hint for this order was just sent' };
    const call = deps.client.workflow.getHandle(workflowId).executeUpdate(fiscalReportHintUpdate, { args: [register] });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<HintOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'ignored', reason: 'the order workflow did not answer in time' }), HINT_TIMEOUT_MS);
    });
    try {
      return await Promise.race([call.then(() => ({ status: 'accepted' as const })), timeout]);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return { status: 'ignored', reason: 'no running order workflow' };
      if (e instanceof WorkflowUpdateFailedError) return { status: 'ignored', reason: 'the order is not waiting for this report' };
      deps.logger.warn({ orderId, register, err: (e as Error).message }, 'fiscal callback hint not delivered');
      return { status: 'ignored', reason: 'not delivered; the report is polled' };
    } finally {
      clearTimeout(timer);
      call.catch(() => undefined);
    }
  }

  router.post('/webhooks/atol/callback', express.json({ limit: '64kb' }), async (req, res) => {
    const parsed = CallbackSchema.safeParse(req.body);
    if (!parsed.success) {
      const message = fieldErrors(parsed.error);
      deps.logger.warn({ reason: message }, 'rejected ATOL callback');
      return sendError(res, 400, message);
    }
    const orderId = orderIdOfCloudSellExternalId(parsed.data.external_id);
    if (!orderId) return res.status(200).json({ status: 'ignored', reason: 'not a receipt of an order' });
    res.status(200).json(await hint('atol', orderId));
  });

  // Ferma's callback body names only Ferma's ReceiptId: our InvoiceId comes in the callback URL we registered.
  router.post('/webhooks/ferma/callback', express.json({ limit: '64kb', type: () => true }), async (req, res) => {
    const invoiceId = typeof req.query.invoiceId === 'string' ? req.query.invoiceId : '';
    const orderId = invoiceId.length <= 128 ? orderIdOfCloudSellExternalId(invoiceId) : undefined;
    if (!orderId) return res.status(200).json({ status: 'ignored', reason: 'not a receipt of an order' });
    res.status(200).json(await hint('ferma', orderId));
  });
  return router;
}
