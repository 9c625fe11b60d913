import { Router } from 'express';
import { archivedDay, archivedDays } from '../cross-system/report-archive';
import { reportItemsToCsv } from '../domain/reconciliation';
import type { Logger } from '../lib/logger';
import { requireAdminKey } from './auth';
import { sendError } from './errors';

/**
 * The archived reconciliation reports (REPORTS_DIR), kept for RECONCILIATION_REPORTS_KEEP whatever the
 * Temporal namespace's retention: `GET /api/reconciliation/archive` lists the days,
 * `GET /api/reconciliation/archive/:date` is the day's runs merged (JSON, or CSV with `?format=csv`).
 */
export function reportArchiveRouter(deps: { dir?: string; adminApiKey?: string; logger: Logger }): Router {
  const router = Router();
  router.use('/api/reconciliation/archive', requireAdminKey(deps.adminApiKey, deps.logger));
  router.get('/api/reconciliation/archive', async (_req, res) => {
    if (!deps.dir) return sendError(res, 404, 'no report archive is configured (REPORTS_DIR)');
    res.json({ days: await archivedDays(deps.dir) });
  });
  router.get('/api/reconciliation/archive/:date', async (req, res) => {
    // Bad input is named first, whatever the archive's state.
    const date = String(req.params.date);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return sendError(res, 400, 'date: a date YYYY-MM-DD');
    if (!deps.dir) return sendError(res, 404, 'no report archive is configured (REPORTS_DIR)');
    const day = await archivedDay(deps.dir, date);
    if (!day) return sendError(res, 404, `no archived reconciliation report for ${date}`);
    if (req.query.format === 'csv') {
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', `attachment; filename="reconciliation-${date}.csv"`);
      return res.send(reportItemsToCsv(day.items));
    }
    res.json(day);
  });
  return router;
}
