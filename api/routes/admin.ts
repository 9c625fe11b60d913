import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { posPaymentWorkflowId } from '../../domain/payment';
import type { Logger } from '../../lib/logger';
import { cancelUpdate, resolveUpdate, retryUpdate, statusQuery } from '../../workflows/pos-payment';
import { checkBearer } from '../auth';
import { fieldErrors, sendError } from '../errors';

const OrderId = z.string().regex(/^\d+$/, 'a numeric Bitrix order id');
const CancelBody = z.object({ reason: z.string().trim().min(1, 'required') });
const ResolveBody = z.object({ note: z.string().trim().min(1, 'required') });

export function adminRouter(deps: { client: Client; adminApiKey?: string; logger: Logger }): Router {
  const router = Router();

  router.use('/api', (req: Request, res: Response, next: NextFunction) => {
    if (!deps.adminApiKey) return sendError(res, 503, 'the admin API is disabled: ADMIN_API_KEY is not configured');
    const auth = checkBearer(req.header('authorization'), [deps.adminApiKey]);
    if (!auth.ok) {
      deps.logger.warn({ path: req.path, reason: `bearer token ${auth.reason}` }, 'rejected admin request');
      return sendError(res, 401, `Authorization: bearer token ${auth.reason}`);
    }
    next();
  });

  function orderHandle(req: Request, res: Response) {
    const id = OrderId.safeParse(req.params.orderId);
    if (!id.success) {
      sendError(res, 400, `orderId: ${id.error.issues[0].message}`);
      return undefined;
    }
    return deps.client.workflow.getHandle(posPaymentWorkflowId(id.data));
  }

  router.get('/api/orders/:orderId', async (req, res) => {
    const handle = orderHandle(req, res);
    if (!handle) return;
    try {
      const [description, status] = await Promise.all([handle.describe(), handle.query(statusQuery)]);
      res.json({ workflowId: handle.workflowId, runId: description.runId, execution: description.status.name, status });
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return sendError(res, 404, `no payment workflow for order ${req.params.orderId}`);
      throw e;
    }
  });

  const updates = [
    { path: 'cancel', update: cancelUpdate, body: CancelBody },
    { path: 'retry', update: retryUpdate, body: z.object({}).passthrough() },
    { path: 'resolve', update: resolveUpdate, body: ResolveBody },
  ] as const;
  for (const { path, update, body } of updates) {
    router.post(`/api/orders/:orderId/${path}`, express.json({ limit: '16kb' }), async (req, res) => {
      const handle = orderHandle(req, res);
      if (!handle) return;
      const parsed = body.safeParse(req.body ?? {});
      if (!parsed.success) return sendError(res, 400, fieldErrors(parsed.error));
      const updateId = req.header('idempotency-key') ?? undefined;
      try {
        const args = (path === 'retry' ? [] : [parsed.data]) as never;
        const status = await handle.executeUpdate(update as never, { args, updateId });
        deps.logger.info({ orderId: req.params.orderId, action: path }, 'support action applied');
        res.json({ workflowId: handle.workflowId, status });
      } catch (e) {
        if (e instanceof WorkflowNotFoundError) {
          const closed = await handle.describe().catch(() => undefined);
          if (closed) return sendError(res, 409, `the payment workflow of order ${req.params.orderId} has already ended (${closed.status.name})`);
          return sendError(res, 404, `no payment workflow for order ${req.params.orderId}`);
        }
        if (e instanceof WorkflowUpdateFailedError) return sendError(res, 409, (e.cause as Error | undefined)?.message ?? e.message);
        throw e;
      }
    });
  }
  return router;
}
