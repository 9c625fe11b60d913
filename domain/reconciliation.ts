import { kopecksToRubles, type Kopecks } from './money';

/**
 * What a reconciliation run can find between the terminals (Evotor cloud documents), Bitrix (POS payments)
 * and our own workflows (which hold the fiscal receipts we got). Each class is healed through the same
 * idempotent door the live traffic uses, or reported for a person.
 */
export const DIVERGENCE_CLASSES = {
  'terminal-payment-not-recorded': 'Paid at the terminal, not recorded in Bitrix: the payment was handed to the order\'s workflow',
  'missed-bitrix-event': 'A Bitrix order waiting for in-store payment had no workflow (its event was lost): the order was handed to its events workflow',
  'payment-without-fiscal-receipt': 'A payment without its fiscal receipt: fiscalization started through the order\'s workflow, or reported',
  'walk-in-not-recorded': 'A terminal sale without our order id that no workflow knew (a walk-in sale never deducted): its receipt workflow was started',
  'refund-not-reflected': 'A refund (PAYBACK) at the terminal that no workflow knew (so Bitrix never saw it): its refund workflow was started',
  'bitrix-paid-without-terminal-receipt': 'A POS payment marked paid in Bitrix with no terminal receipt behind it',
  'amount-mismatch': 'The terminal took a different amount than Bitrix shows for the payment',
  'stuck-workflow': 'A workflow in one stage for longer than that stage\'s limit',
} as const;

export type DivergenceClass = keyof typeof DIVERGENCE_CLASSES;
export const DIVERGENCE_CLASS_IDS = Object.keys(DIVERGENCE_CLASSES) as DivergenceClass[];

/**
 * The 54-FZ correction a late-found settlement needs: `issued` — a correction receipt is issued through the
 * order's workflow at the store's cloud register (ATOL sell_correction / Ferma IncomeCorrection), exactly once;
 * `at-terminal` — the store fiscalizes on the terminal: the cashier makes it there; `in-1c` — in 1C:Retail.
 */
export type CorrectionAction = 'issued' | 'at-terminal' | 'in-1c';

/** healed: handed to a workflow that does the rest; reported: a person must look. */
export type ReconciliationAction = 'healed' | 'reported';

/** One divergence: ids only (no personal data), what was found and what was done. */
export interface ReportItem {
  class: DivergenceClass;
  /** Stable identity of the divergence (the same thing found again has the same key). */
  key: string;
  action: ReconciliationAction;
  /** What was found, for a person. */
  found: string;
  /** What was done about it: the workflow id it was handed to, or what a person should do. */
  done: string;
  orderId?: string;
  receiptId?: string;
  terminalStoreId?: string;
  storeId?: string;
  workflowId?: string;
  terminalAmount?: Kopecks;
  bitrixAmount?: Kopecks;
  /** When it happened at the source (receipt close time, payment time, stage entered), ISO 8601 UTC. */
  at?: string;
  /** A settlement without its receipt: how the correction receipt is made (see CorrectionAction). */
  correction?: CorrectionAction;
}

export type ReconciliationKind = 'frequent' | 'nightly' | 'manual';

export type Counts = Record<DivergenceClass, { healed: number; reported: number }>;

export interface ReconciliationTotals {
  terminalDocuments: number;
  bitrixPayments: number;
  workflowsChecked: number;
}

export interface RequestCounts {
  evotor: number;
  bitrix: number;
  /** Temporal calls made by the activities (visibility, describe, query, start, signal). */
  temporal: number;
}

/** The outcome of one page (one activity call) of a run. */
export interface PageOutcome {
  items: ReportItem[];
  totals: Partial<ReconciliationTotals>;
  requests: Partial<RequestCounts>;
}

export interface ReconciliationReport {
  /** The run's workflow id (the schedule's, the API's or the CLI's). */
  runId: string;
  kind: ReconciliationKind;
  /** The window of terminal documents and Bitrix payments compared, ISO 8601 UTC, [from, to). */
  from: string;
  to: string;
  startedAt: string;
  finishedAt?: string;
  counts: Counts;
  totals: ReconciliationTotals;
  requests: RequestCounts;
  /** Activity calls (pages) and continue-as-new hops the run took. */
  pages: number;
  continuedAsNew: number;
  items: ReportItem[];
  /** Items found but not listed because the report was full (they are in `counts`). */
  itemsOmitted: number;
  /** Sources that could not be read (the run went on without them): the report is incomplete there. */
  problems: string[];
}

export function emptyCounts(): Counts {
  return Object.fromEntries(DIVERGENCE_CLASS_IDS.map((c) => [c, { healed: 0, reported: 0 }])) as Counts;
}

export function newReport(runId: string, kind: ReconciliationKind, window: { from: string; to: string }, startedAt: string): ReconciliationReport {
  return {
    runId,
    kind,
    from: window.from,
    to: window.to,
    startedAt,
    counts: emptyCounts(),
    totals: { terminalDocuments: 0, bitrixPayments: 0, workflowsChecked: 0 },
    requests: { evotor: 0, bitrix: 0, temporal: 0 },
    pages: 0,
    continuedAsNew: 0,
    items: [],
    itemsOmitted: 0,
    problems: [],
  };
}

/** Adds a page's outcome to the report; an item already listed (same class and key) is not counted twice. */
export function addPage(report: ReconciliationReport, page: PageOutcome, maxItems: number): void {
  report.pages++;
  for (const k of Object.keys(page.totals) as (keyof ReconciliationTotals)[]) report.totals[k] += page.totals[k] ?? 0;
  for (const k of Object.keys(page.requests) as (keyof RequestCounts)[]) report.requests[k] += page.requests[k] ?? 0;
  for (const item of page.items) {
    if (report.items.some((i) => i.class === item.class && i.key === item.key)) continue;
    report.counts[item.class][item.action]++;
    if (report.items.length < maxItems) report.items.push(item);
    else report.itemsOmitted++;
  }
}

export function totalFound(counts: Counts): { healed: number; reported: number } {
  let healed = 0;
  let reported = 0;
  for (const c of DIVERGENCE_CLASS_IDS) {
    healed += counts[c].healed;
    reported += counts[c].reported;
  }
  return { healed, reported };
}

/** The run's summary for the Temporal Web UI (markdown). */
export function reportSummary(report: ReconciliationReport, progress?: string): string {
  const { healed, reported } = totalFound(report.counts);
  const lines = [
    `**Reconciliation (${report.kind})** of ${report.from} … ${report.to}`,
    progress ? `Now: ${progress}` : `Finished ${report.finishedAt ?? ''}`.trim(),
    `Checked ${report.totals.terminalDocuments} terminal documents, ${report.totals.bitrixPayments} Bitrix POS payments, ${report.totals.workflowsChecked} workflows; ${report.requests.evotor} Evotor and ${report.requests.bitrix} Bitrix requests`,
    `**${healed} healed, ${reported} reported for a person**`,
  ];
  const rows = DIVERGENCE_CLASS_IDS.filter((c) => report.counts[c].healed + report.counts[c].reported > 0);
  if (rows.length) {
    lines.push(['| divergence | healed | reported |', '| --- | --- | --- |', ...rows.map((c) => `| ${c} | ${report.counts[c].healed} | ${report.counts[c].reported} |`)].join('\n'));
  }
  const corrections = (action: CorrectionAction) => report.items.filter((i) => i.correction === action).length;
  if (report.items.some((i) => i.correction)) {
    lines.push(
      `Correction receipts (payments without their receipt): ${corrections('issued')} issued at a cloud register, ${corrections('at-terminal')} to be made at the terminal, ${corrections('in-1c')} in 1C:Retail`,
    );
  }
  if (report.itemsOmitted) lines.push(`${report.itemsOmitted} more item(s) counted but not listed.`);
  if (report.problems.length) lines.push(`**Incomplete**: ${report.problems.join('; ')}`);
  return lines.join('\n\n');
}

const HOUR = 3_600_000;

/** The window of a frequent (or manual) run: `window` long, ending `settle` before now (younger documents are left to the webhooks). */
export function recentWindow(nowMs: number, windowMs: number, settleMs: number): { from: string; to: string } {
  const to = nowMs - settleMs;
  return { from: new Date(to - windowMs).toISOString(), to: new Date(to).toISOString() };
}

/** The previous calendar day in `timeZone`, as a UTC window: what the nightly run compares. */
export function previousDayWindow(nowMs: number, timeZone: string): { from: string; to: string; date: string } {
  const today = localDate(nowMs, timeZone);
  const yesterday = new Date(Date.UTC(today.y, today.m - 1, today.d) - 24 * HOUR);
  const from = localMidnightUtc(yesterday.getUTCFullYear(), yesterday.getUTCMonth() + 1, yesterday.getUTCDate(), timeZone);
  const to = localMidnightUtc(today.y, today.m, today.d, timeZone);
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), date: yesterday.toISOString().slice(0, 10) };
}

function localDate(ms: number, timeZone: string): { y: number; m: number; d: number } {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { y: get('year'), m: get('month'), d: get('day') };
}

/** Offset of `timeZone` from UTC at instant `ms`, in ms. */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

function localMidnightUtc(y: number, m: number, d: number, timeZone: string): number {
  const guess = Date.UTC(y, m - 1, d);
  // Two passes settle the offset across a DST change on that day.
  const first = guess - zoneOffsetMs(guess, timeZone);
  return guess - zoneOffsetMs(first, timeZone);
}

/** Merges the reports of one day's runs: an item found by several runs is listed once (healed wins). */
export function mergeDayReports(date: string, reports: ReconciliationReport[]) {
  const sorted = [...reports].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const items = new Map<string, ReportItem & { runs: number; firstRunId: string }>();
  for (const r of sorted) {
    for (const item of r.items) {
      const key = `${item.class}|${item.key}`;
      const seen = items.get(key);
      if (!seen) items.set(key, { ...item, runs: 1, firstRunId: r.runId });
      else {
        seen.runs++;
        if (item.action === 'healed' && seen.action !== 'healed') Object.assign(seen, { action: 'healed', done: item.done, workflowId: item.workflowId });
      }
    }
  }
  const counts = emptyCounts();
  for (const item of items.values()) counts[item.class][item.action]++;
  return {
    date,
    runs: sorted.map((r) => ({
      runId: r.runId,
      kind: r.kind,
      from: r.from,
      to: r.to,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      counts: r.counts,
      totals: r.totals,
      itemsOmitted: r.itemsOmitted,
      problems: r.problems,
    })),
    counts,
    items: [...items.values()],
  };
}

export const CSV_COLUMNS = ['class', 'action', 'order_id', 'receipt_id', 'terminal_store_id', 'store_id', 'terminal_amount_rub', 'bitrix_amount_rub', 'at', 'workflow_id', 'found', 'done', 'run_id', 'correction'] as const;

/** One line per item, for the accountant (RFC 4180; amounts in rubles with two decimals). */
export function reportItemsToCsv(items: (ReportItem & { firstRunId?: string; runId?: string })[], runId?: string): string {
  const cell = (v: unknown) => {
    let s = v === undefined || v === null ? '' : String(v);
    // A spreadsheet must not run an id that starts like a formula.
    if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const money = (k?: Kopecks) => (k === undefined ? '' : kopecksToRubles(k));
  const rows = items.map((i) =>
    [i.class, i.action, i.orderId, i.receiptId, i.terminalStoreId, i.storeId, money(i.terminalAmount), money(i.bitrixAmount), i.at, i.workflowId, i.found, i.done, i.firstRunId ?? i.runId ?? runId, i.correction]
      .map(cell)
      .join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}

