import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { OrderCandidate, ReconciliationPlan } from '../cross-system/reconciliation/shared';
import type { ReconciliationTerminalActivities } from '../cross-system/reconciliation/evotor';
import type { ReconciliationBitrixActivities } from '../cross-system/reconciliation/bitrix';
import type { ReconciliationTemporalActivities } from '../cross-system/reconciliation/workflows';
import type { ReportArchiveActivities } from '../cross-system/report-archive';
import {
  addPage,
  newReport,
  previousDayWindow,
  recentWindow,
  reportSummary,
  totalFound,
  type ReconciliationKind,
  type ReconciliationReport,
} from '../domain/reconciliation';
import { OUTSIDE_SYSTEM_RETRY } from './support-actions';
import { TASK_QUEUES } from '../domain/workflow-ids';

export interface ReconciliationInput {
  kind: ReconciliationKind;
  /** An explicit window (a run by hand), ISO 8601; otherwise from the kind. */
  from?: string;
  to?: string;
  /** frequent/manual: the window's length (default 2 h), ending `settle` before the run starts. */
  windowMs?: number;
  /** nightly: the previous day in this time zone. */
  timeZone?: string;
  /** How the schedule runs it (informational; a changed schedule changes its arguments). */
  every?: string;
  at?: string;
  /** Chunking (defaults suit production; tests and the benchmark make them small or large). */
  tuning?: { callsPerRun?: number; terminalPagesPerCall?: number; storesInParallel?: number };
  /** Carried across continue-as-new. */
  progress?: ReconciliationProgress;
}

/** Per store (as plan.stores): where its documents stand. */
type StoreProgress = { cursor?: string; done?: true };

type Phase =
  | { name: 'terminal'; stores: StoreProgress[] }
  | { name: 'bitrix'; mode: 'awaiting' | 'paid'; start: number }
  | { name: 'stuck' };

export interface ReconciliationProgress {
  plan: ReconciliationPlan;
  report: ReconciliationReport;
  phase: Phase;
  /** Documents uploaded after this instant (ms) are left to their webhooks. */
  uploadedBefore: number;
}

export const reconciliationReportQuery = defineQuery<ReconciliationReport>('report');

const DEFAULT_WINDOW_MS = 2 * 3_600_000;
/** Evotor pages per activity call (heartbeating), and activity calls per run before continue-as-new. */
const TERMINAL_PAGES_PER_CALL = 5;
/** Stores whose documents are read at the same time (each store's pages one after the other: cursors). */
const STORES_IN_PARALLEL = 4;
const CALLS_PER_RUN = 150;
const CANDIDATES_PER_CALL = 50;
const STUCK_PER_STAGE = 200;

// Outages are retried for a while; a source that stays unreadable is named in the report, and the run goes on.
const retry = OUTSIDE_SYSTEM_RETRY;
const terminal = proxyActivities<ReconciliationTerminalActivities>({
  taskQueue: TASK_QUEUES.evotor,
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  scheduleToCloseTimeout: '30m',
  retry,
});
const bitrix = proxyActivities<ReconciliationBitrixActivities>({ taskQueue: TASK_QUEUES.bitrix, startToCloseTimeout: '2m', scheduleToCloseTimeout: '30m', retry });
const temporal = proxyActivities<ReconciliationTemporalActivities>({ taskQueue: TASK_QUEUES.workflows, startToCloseTimeout: '2m', scheduleToCloseTimeout: '10m', retry });
const archive = proxyActivities<ReportArchiveActivities>({ taskQueue: TASK_QUEUES.workflows, startToCloseTimeout: '1m', scheduleToCloseTimeout: '10m', retry });
/** A finished run's report is archived (REPORTS_DIR), so that it outlives the namespace's retention. */
const ARCHIVE_REPORT = 'archive-report';

/**
 * One reconciliation run: reads the terminal documents of every Evotor store, the Bitrix POS payments and
 * our own workflows over a window, heals what can be healed through the same idempotent doors the live
 * traffic uses (so a second run changes nothing), and reports the rest. Every page is one activity call
 * with its cursor kept here; the run continues as new every CALLS_PER_RUN calls with the partial report.
 */
export async function reconciliationWorkflow(input: ReconciliationInput): Promise<ReconciliationReport> {
  const p: ReconciliationProgress = input.progress ?? (await begin(input));
  const { report, plan } = p;
  setHandler(reconciliationReportQuery, () => report);
  let calls = 0;
  const callsPerRun = input.tuning?.callsPerRun ?? CALLS_PER_RUN;
  const terminalPagesPerCall = input.tuning?.terminalPagesPerCall ?? TERMINAL_PAGES_PER_CALL;
  const storesInParallel = input.tuning?.storesInParallel ?? STORES_IN_PARALLEL;

  const problem = (where: string, err: ActivityFailure) => {
    const cause = err.cause instanceof ApplicationFailure || err.cause instanceof Error ? err.cause.message : err.message;
    report.problems.push(`${where}: ${cause}`);
    log.warn('reconciliation: a source could not be read', { where, error: cause });
  };

  async function handOver(candidates: OrderCandidate[]): Promise<void> {
    for (let i = 0; i < candidates.length; i += CANDIDATES_PER_CALL) {
      const chunk = candidates.slice(i, i + CANDIDATES_PER_CALL);
      try {
        addPage(report, await bitrix.reconcileOrderReceipts({ candidates: chunk }), plan.maxItems);
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        problem(`order payments ${chunk.map((c) => c.orderId).join(', ')}`, err);
      }
    }
  }

  for (;;) {
    const phase = p.phase;
    let spent = 1;
    setCurrentDetails(reportSummary(report, describePhase(p)));
    if (phase.name === 'terminal') {
      const open = phase.stores.flatMap((st, i) => (st.done ? [] : [i])).slice(0, storesInParallel);
      if (open.length === 0) {
        p.phase = { name: 'bitrix', mode: 'awaiting', start: 0 };
        continue;
      }
      await Promise.all(
        open.map(async (i) => {
          const store = plan.stores[i];
          try {
            const page = await terminal.reconcileTerminalDocuments({
              store,
              from: report.from,
              to: report.to,
              uploadedBefore: p.uploadedBefore,
              cursor: phase.stores[i].cursor,
              maxPages: terminalPagesPerCall,
            });
            addPage(report, page, plan.maxItems);
            await handOver(page.orderCandidates);
            phase.stores[i] = page.cursor ? { cursor: page.cursor } : { done: true };
          } catch (err) {
            if (!(err instanceof ActivityFailure)) throw err;
            problem(`terminal documents of store ${store.storeId}`, err);
            phase.stores[i] = { done: true };
          }
        }),
      );
      spent = open.length;
    } else if (phase.name === 'bitrix') {
      const next = (): Phase => (phase.mode === 'awaiting' ? { name: 'bitrix', mode: 'paid', start: 0 } : { name: 'stuck' });
      try {
        const page = await bitrix.reconcileBitrixPayments({ mode: phase.mode, from: report.from, to: report.to, start: phase.start });
        addPage(report, page, plan.maxItems);
        p.phase = page.nextStart !== undefined ? { ...phase, start: page.nextStart } : next();
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        problem(`Bitrix POS payments (${phase.mode})`, err);
        p.phase = next();
      }
    } else {
      try {
        addPage(
          report,
          await temporal.findStuckWorkflows({ limits: plan.stageLimits, now: new Date(Date.now()).toISOString(), maxPerStage: STUCK_PER_STAGE }),
          plan.maxItems,
        );
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        problem('stuck workflows', err);
      }
      report.finishedAt = new Date(Date.now()).toISOString();
      setCurrentDetails(reportSummary(report));
      log.info('reconciliation finished', { runId: report.runId, ...totalFound(report.counts), problems: report.problems.length });
      if (patched(ARCHIVE_REPORT)) {
        try {
          await archive.archiveReconciliationReport(report);
        } catch (err) {
          // The report is still this run's result: a failed archive is logged, never the run's failure.
          log.warn('reconciliation report not archived', { runId: report.runId, error: (err as Error).message });
        }
      }
      return report;
    }
    calls += spent;
    if (calls >= callsPerRun || workflowInfo().continueAsNewSuggested) {
      report.continuedAsNew++;
      await continueAsNew<typeof reconciliationWorkflow>({ ...input, progress: p });
    }
  }
}

async function begin(input: ReconciliationInput): Promise<ReconciliationProgress> {
  const plan = await temporal.planReconciliation();
  const now = Date.now();
  const window =
    input.from && input.to
      ? { from: new Date(input.from).toISOString(), to: new Date(input.to).toISOString() }
      : input.kind === 'nightly'
        ? previousDayWindow(now, input.timeZone ?? 'Europe/Moscow')
        : recentWindow(now, input.windowMs ?? DEFAULT_WINDOW_MS, plan.settleMs);
  const report = newReport(workflowInfo().workflowId, input.kind, window, new Date(now).toISOString());
  return { plan, report, phase: { name: 'terminal', stores: plan.stores.map(() => ({})) }, uploadedBefore: now - plan.settleMs };
}

function describePhase(p: ReconciliationProgress): string {
  const phase = p.phase;
  if (phase.name === 'terminal') return `terminal documents (${phase.stores.filter((st) => st.done).length} of ${p.plan.stores.length} stores done)`;
  if (phase.name === 'bitrix') return `Bitrix POS payments ${phase.mode === 'awaiting' ? 'awaiting payment' : 'paid'} (from row ${phase.start})`;
  return 'workflows stuck beyond their stage limits';
}
