import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mergeDayReports, reportItemsToCsv, type ReconciliationReport } from '../domain/reconciliation';
import type { Logger } from '../lib/logger';

/**
 * Reconciliation reports kept on disk, independent of the Temporal namespace's retention (a run's result
 * vanishes with its closed workflow): `<dir>/<YYYY-MM-DD>/<run id>.json` and `.csv`, by the UTC day the run
 * started, each written once per run (a retry writes the same file again), days older than `keepMs` removed.
 *
 * Why disk and not a workflow: a day of runs (96 frequent + 1 nightly, up to 1,000 items each) is far more than
 * a workflow's state may carry across continue-as-new, and the accountant needs the reports for years;
 * files are cheap, readable without Temporal, and easy to back up. The worker that runs reconciliation writes
 * them; the API reads them (`GET /api/reconciliation/archive/...`): both mount the same REPORTS_DIR volume.
 */
export interface ReportArchiveOptions {
  dir?: string;
  keepMs: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;
const safeName = (runId: string) => runId.replace(/[^A-Za-z0-9_.:-]/g, '_').replace(/:/g, '_');

export function createReportArchiveActivities(opts: ReportArchiveOptions) {
  return {
    /** Writes a finished run's report (JSON and CSV) and removes days past the keeping period. Never throws. */
    async archiveReconciliationReport(report: ReconciliationReport): Promise<{ archived: boolean; path?: string; removedDays: number }> {
      if (!opts.dir) return { archived: false, removedDays: 0 };
      try {
        const day = report.startedAt.slice(0, 10);
        const dayDir = join(opts.dir, day);
        await mkdir(dayDir, { recursive: true });
        const base = join(dayDir, safeName(report.runId));
        await writeAtomically(`${base}.json`, JSON.stringify(report));
        await writeAtomically(`${base}.csv`, reportItemsToCsv(report.items, report.runId));
        const removedDays = await prune(opts.dir, opts.keepMs);
        opts.logger?.info({ runId: report.runId, day, removedDays }, 'reconciliation report archived');
        return { archived: true, path: `${base}.json`, removedDays };
      } catch (e) {
        // The run's result is still in Temporal until retention: a full disk must not hold the run up.
        opts.logger?.error({ runId: report.runId, err: (e as Error).message }, 'reconciliation report could not be archived');
        return { archived: false, removedDays: 0 };
      }
    },
  };
}

export type ReportArchiveActivities = ReturnType<typeof createReportArchiveActivities>;

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

async function prune(dir: string, keepMs: number): Promise<number> {
  const cutoff = new Date(Date.now() - keepMs).toISOString().slice(0, 10);
  let removed = 0;
  for (const name of await readdir(dir)) {
    if (DAY_DIR.test(name) && name < cutoff && (await stat(join(dir, name))).isDirectory()) {
      await rm(join(dir, name), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

/** The archived days, newest first. */
export async function archivedDays(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => DAY_DIR.test(n)).sort().reverse();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** A day's archived runs merged as the live report door merges them; undefined when nothing was archived. */
export async function archivedDay(dir: string, date: string): Promise<ReturnType<typeof mergeDayReports> | undefined> {
  if (!DAY_DIR.test(date)) return undefined;
  let names: string[];
  try {
    names = (await readdir(join(dir, date))).filter((n) => n.endsWith('.json'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (names.length === 0) return undefined;
  const reports = await Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, date, n), 'utf8')) as ReconciliationReport));
  return mergeDayReports(date, reports);
}
