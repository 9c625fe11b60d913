import express, { Router, type Request, type Response } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { mergeDayReports, reportItemsToCsv, type ReconciliationReport } from '../../domain/reconciliation';
import type { Logger } from '../../lib/logger';
import { reconciliationReportQuery, reconciliationWorkflow } from '../../workflows/reconciliation';
import { requireAdminKey } from '../auth';
import { mapLimit } from '../../intake/walk-ins';
import { fieldErrors, sendError } from '../errors';
import { TASK_QUEUES, manualRunWorkflowId } from '../../domain/workflow-ids';

const DAY = 86_400_000;
const Date_ = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), 'not a date');
const Instant = z.iso.datetime({ offset: true, error: 'an ISO 8601 date-time, e.g. 2026-11-29T10:00:00Z' });
const RunBody = z
  .object({
    from: Instant.optional(),
    to: Instant.optional(),
    /** Without from/to: the last `windowMinutes` (default: the frequent window, 2 h). */
    windowMinutes: z.number().int().positive().max(31 * 24 * 60).optional(),
  })
  .strict()
  .refine((b) => (b.from === undefined) === (b.to === undefined), { message: 'from and to go together', path: ['to'] })
  .refine((b) => !b.from || !b.to || Date.parse(b.from) < Date.parse(b.to), { message: 'must be after from', path: ['to'] })
  .refine((b) => !b.from || !b.to || Date.parse(b.to) - Date.parse(b.from) <= 31 * DAY, { message: 'a window of at most 31 days', path: ['to'] });
const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits, "_", ".", ":" and "-", at most 64');

/**
 * Reconciliation through the admin API: the reports (latest run, or all runs of a day merged; JSON, or CSV
 * for the accountant) and runs by hand. Reports are the run workflows' results, read from Temporal.
 */
export function reconciliationRouter(deps: { client: Client; adminApiKey?: string; logger: Logger }): Router {
  const router = Router();
  const { client } = deps;

  router.use('/api/reconciliation', requireAdminKey(deps.adminApiKey, deps.logger));

  const wantsCsv = (req: Request) => req.query.format === 'csv' || (req.query.format === undefined && req.accepts(['application/json', 'text/csv']) === 'text/csv');
  const sendCsv = (res: Response, name: string, csv: string) => {
    res.setHeader('content-type', 'text/csv; charset=utf-8');
    res.setHeader('content-disposition', `attachment; filename="${name}.csv"`);
    res.send(csv);
  };

  /** Completed runs closed in [from, to), newest first. */
  async function completedRuns(from: Date, to?: Date, limit = 500): Promise<{ workflowId: string; runId: string; closeTime?: Date }[]> {
    let query = `WorkflowType = "reconciliationWorkflow" AND ExecutionStatus = "Completed" AND CloseTime >= "${from.toISOString()}"`;
    if (to) query += ` AND CloseTime < "${to.toISOString()}"`;
    const runs: { workflowId: string; runId: string; closeTime?: Date }[] = [];
    for await (const wf of client.workflow.list({ query, pageSize: 500 })) {
      runs.push({ workflowId: wf.workflowId, runId: wf.runId, closeTime: wf.closeTime });
      if (runs.length >= limit) break;
    }
    return runs.sort((a, b) => (b.closeTime?.getTime() ?? 0) - (a.closeTime?.getTime() ?? 0));
  }

  const resultOf = (run: { workflowId: string; runId: string }) =>
    client.workflow.getHandle(run.workflowId, run.runId, { followRuns: false }).result() as Promise<ReconciliationReport>;

  router.get('/api/reconciliation/reports/latest', async (req, res) => {
    // The last day first (cheap); a quiet installation may need to look further back.
    let runs = await completedRuns(new Date(Date.now() - DAY), undefined, 1000);
    if (runs.length === 0) runs = await completedRuns(new Date(0), undefined, 5000);
    if (runs.length === 0) return sendError(res, 404, 'no reconciliation run has completed yet');
    const report = await resultOf(runs[0]);
    if (wantsCsv(req)) return sendCsv(res, `reconciliation-${report.runId}`, reportItemsToCsv(report.items, report.runId));
    res.json(report);
  });

  router.get('/api/reconciliation/reports/:date', async (req, res) => {
    const date = Date_.safeParse(req.params.date);
    if (!date.success) return sendError(res, 400, `date: ${date.error.issues[0].message}`);
    const dayStart = new Date(`${date.data}T00:00:00Z`);
    // A run belongs to the (UTC) day it started; it may close the next day.
    const runs = await completedRuns(dayStart, new Date(dayStart.getTime() + 2 * DAY), 2000);
    const reports = (await mapLimit(runs, 16, resultOf)).filter((r) => r.startedAt.slice(0, 10) === date.data);
    if (reports.length === 0) return sendError(res, 404, `no reconciliation run started on ${date.data} (UTC) has completed`);
    const day = mergeDayReports(date.data, reports);
    if (wantsCsv(req)) return sendCsv(res, `reconciliation-${date.data}`, reportItemsToCsv(day.items));
    res.json(day);
  });

  router.post('/api/reconciliation/runs', express.json({ limit: '4kb' }), async (req, res) => {
    const body = RunBody.safeParse(req.body ?? {});
    if (!body.success) return sendError(res, 400, fieldErrors(body.error));
    const keyHeader = req.header('idempotency-key');
    const key = keyHeader === undefined ? undefined : IdempotencyKey.safeParse(keyHeader);
    if (key && !key.success) return sendError(res, 400, `Idempotency-Key: ${key.error.issues[0].message}`);
    const workflowId = manualRunWorkflowId(new Date(), key?.data);
    const { from, to, windowMinutes } = body.data;
    let handle;
    try {
      handle = await client.workflow.start(reconciliationWorkflow, {
        workflowId,
        taskQueue: TASK_QUEUES.workflows,
        args: [{ kind: 'manual', from, to, windowMs: windowMinutes ? windowMinutes * 60_000 : undefined }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: from ? `Reconciliation by hand of ${from} … ${to}` : 'Reconciliation by hand',
      });
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      // The same Idempotency-Key again: the run it started.
      handle = client.workflow.getHandle(workflowId);
    }
    deps.logger.info({ workflowId }, 'reconciliation run requested');
    if (req.query.wait === 'true' || req.query.wait === '1') return res.json(await handle.result());
    res.status(202).json({ workflowId, status: `/api/reconciliation/runs/${encodeURIComponent(workflowId)}` });
  });

  router.get('/api/reconciliation/runs/:workflowId', async (req, res) => {
    const workflowId = req.params.workflowId;
    if (!/^reconciliation-[A-Za-z0-9_.:-]+$/.test(workflowId)) return sendError(res, 400, 'workflowId: a reconciliation run id');
    const handle = client.workflow.getHandle(workflowId);
    try {
      const description = await handle.describe();
      const running = description.status.name === 'RUNNING';
      const report = running ? await handle.query(reconciliationReportQuery) : description.status.name === 'COMPLETED' ? await handle.result() : undefined;
      res.json({ workflowId, execution: description.status.name, report });
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return sendError(res, 404, `no reconciliation run ${workflowId}`);
      throw e;
    }
  });

  return router;
}
