import express, { Router, type Request, type Response } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import { OrderIdSchema } from '../../domain/ids';
import { type PosPaymentResult } from '../../domain/payment';
import type { Logger } from '../../lib/logger';
import { cancellationStatusQuery, orderCancellationWorkflow, resolveCancellationUpdate, retryCancellationUpdate } from '../../workflows/order-cancellation';
import { cancelUpdate, resolveUpdate, retryUpdate, statusQuery } from '../../workflows/pos-payment';
import { refundStatusQuery, resolveRefundUpdate, retryRefundUpdate } from '../../workflows/refund';
import { ledgerQuery } from '../../workflows/refund-ledger';
import { PosStage } from '../../domain/search-attributes';
import { requireAdminKey } from '../auth';
import { fieldErrors, sendError } from '../errors';
import { TASK_QUEUES, orderCancellationWorkflowId, orderSaleKey, posPaymentWorkflowId, refundLedgerWorkflowId, refundWorkflowId } from '../../domain/workflow-ids';

const OrderId = OrderIdSchema;
const CancelBody = z.object({ reason: z.string().trim().min(1, 'required') });
const ResolveBody = z.object({ note: z.string().trim().min(1, 'required') });

export function adminRouter(deps: { client: Client; adminApiKey?: string; logger: Logger }): Router {
  const router = Router();

  router.use('/api', requireAdminKey(deps.adminApiKey, deps.logger));

  function orderHandle(req: Request, res: Response) {
    const id = OrderId.safeParse(req.params.orderId);
    if (!id.success) {
      sendError(res, 400, `orderId: ${id.error.issues[0].message}`);
      return undefined;
    }
    return deps.client.workflow.getHandle(posPaymentWorkflowId(id.data));
  }

  /** The query's answer, or undefined when there is no such workflow. */
  async function queryIfAny<T>(workflowId: string, query: QueryDefinition<T>): Promise<T | undefined> {
    try {
      return await deps.client.workflow.getHandle(workflowId).query(query);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    }
  }

  /** The order's refunds: its ledger (what was refunded against the sale) and each refund workflow with its stage. */
  async function refundsOf(orderId: string) {
    const [ledger, cancellation] = await Promise.all([
      queryIfAny(refundLedgerWorkflowId(orderSaleKey(orderId)), ledgerQuery),
      queryIfAny(orderCancellationWorkflowId(orderId), cancellationStatusQuery),
    ]);
    const workflows: { workflowId: string; execution: string; stage?: string }[] = [];
    for await (const wf of deps.client.workflow.list({ query: `WorkflowType = "refundWorkflow" AND PosOrderId = "${orderId}"` })) {
      workflows.push({ workflowId: wf.workflowId, execution: wf.status.name, stage: wf.typedSearchAttributes.get(PosStage) });
      if (workflows.length >= 100) break;
    }
    return { ledger: ledger ?? null, workflows, cancellation: cancellation ?? null };
  }

  router.get('/api/orders/:orderId', async (req, res) => {
    const handle = orderHandle(req, res);
    if (!handle) return;
    try {
      const [description, status] = await Promise.all([handle.describe(), handle.query(statusQuery)]);
      const refunds = await refundsOf(String(req.params.orderId));
      res.json({ workflowId: handle.workflowId, runId: description.runId, execution: description.status.name, status, refunds });
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
          if (path === 'cancel' && closed?.status.name === 'COMPLETED') return cancelPaidOrder(String(req.params.orderId), handle, (parsed.data as { reason: string }).reason, res);
          if (closed) return sendError(res, 409, `the payment workflow of order ${req.params.orderId} has already ended (${closed.status.name})`);
          return sendError(res, 404, `no payment workflow for order ${req.params.orderId}`);
        }
        if (e instanceof WorkflowUpdateFailedError) return sendError(res, 409, (e.cause as Error | undefined)?.message ?? e.message);
        throw e;
      }
    });
  }
  /**
   * Cancelling an order whose payment workflow has completed: the money is refunded at the terminal, so the
   * order's cancellation workflow asks for it and waits. Asked again: the same cancellation answers.
   */
  async function cancelPaidOrder(orderId: string, handle: WorkflowHandle, reason: string, res: Response) {
    const result: PosPaymentResult = await handle.result();
    if (result.outcome !== 'COMPLETED' || result.payments.length === 0)
      return sendError(res, 409, `the payment workflow of order ${orderId} has already ended (${result.outcome}) with nothing paid at the terminal to refund`);
    const workflowId = orderCancellationWorkflowId(orderId);
    try {
      await deps.client.workflow.start(orderCancellationWorkflow, {
        workflowId,
        taskQueue: TASK_QUEUES.workflows,
        args: [{ orderId, reason, requestedBy: 'support', paidAmount: result.paidAmount, currency: result.currency, accountNumber: result.accountNumber, storeId: result.storeId }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: `Refund of cancelled paid order ${orderId} at the terminal`,
      });
      deps.logger.info({ orderId, action: 'cancel' }, 'support action applied: refund requested at the terminal');
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
    const status = await deps.client.workflow.getHandle(workflowId).query(cancellationStatusQuery);
    res.status(202).json({ workflowId, status });
  }

  /** Runs a support update (retry, resolve) on a refund or cancellation workflow; refused ones answer 409. */
  async function act(res: Response, handle: WorkflowHandle, update: UpdateDefinition<unknown, [{ note: string }]> | UpdateDefinition<unknown, []>, args: unknown[], updateId: string | undefined, what: string) {
    try {
      const status = await handle.executeUpdate(update.name, { args: args as [unknown], updateId });
      deps.logger.info({ workflowId: handle.workflowId, action: update.name }, 'support action applied');
      res.json({ workflowId: handle.workflowId, status });
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) {
        const closed = await handle.describe().catch(() => undefined);
        if (closed) return sendError(res, 409, `${what} has already ended (${closed.status.name})`);
        return sendError(res, 404, `no ${what}`);
      }
      if (e instanceof WorkflowUpdateFailedError) return sendError(res, 409, (e.cause as Error | undefined)?.message ?? e.message);
      throw e;
    }
  }

  const ReceiptParam = z.string().min(1).max(128);
  function refundHandle(req: Request, res: Response) {
    const store = ReceiptParam.safeParse(req.params.terminalStoreId);
    const receipt = ReceiptParam.safeParse(req.params.receiptId);
    if (!store.success || !receipt.success) {
      sendError(res, 400, `${store.success ? 'receiptId' : 'terminalStoreId'}: 1 to 128 characters`);
      return undefined;
    }
    return deps.client.workflow.getHandle(refundWorkflowId(store.data, receipt.data));
  }

  router.get('/api/refunds/:terminalStoreId/:receiptId', async (req, res) => {
    const handle = refundHandle(req, res);
    if (!handle) return;
    try {
      const [description, status] = await Promise.all([handle.describe(), handle.query(refundStatusQuery)]);
      res.json({ workflowId: handle.workflowId, runId: description.runId, execution: description.status.name, status });
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return sendError(res, 404, `no refund workflow for receipt ${req.params.receiptId}`);
      throw e;
    }
  });

  const supportUpdates = [
    { path: 'retry', body: z.object({}).passthrough(), refund: retryRefundUpdate, cancellation: retryCancellationUpdate },
    { path: 'resolve', body: ResolveBody, refund: resolveRefundUpdate, cancellation: resolveCancellationUpdate },
  ] as const;
  for (const { path, body, refund, cancellation } of supportUpdates) {
    router.post(`/api/refunds/:terminalStoreId/:receiptId/${path}`, express.json({ limit: '16kb' }), async (req, res) => {
      const handle = refundHandle(req, res);
      if (!handle) return;
      const parsed = body.safeParse(req.body ?? {});
      if (!parsed.success) return sendError(res, 400, fieldErrors(parsed.error));
      await act(res, handle, refund, path === 'retry' ? [] : [parsed.data], req.header('idempotency-key') ?? undefined, `refund workflow ${handle.workflowId}`);
    });
    router.post(`/api/orders/:orderId/cancellation/${path}`, express.json({ limit: '16kb' }), async (req, res) => {
      const id = OrderId.safeParse(req.params.orderId);
      if (!id.success) return sendError(res, 400, `orderId: ${id.error.issues[0].message}`);
      const parsed = body.safeParse(req.body ?? {});
      if (!parsed.success) return sendError(res, 400, fieldErrors(parsed.error));
      const handle = deps.client.workflow.getHandle(orderCancellationWorkflowId(id.data));
      await act(res, handle, cancellation, path === 'retry' ? [] : [parsed.data], req.header('idempotency-key') ?? undefined, `cancellation of order ${id.data}`);
    });
  }
  return router;
}
