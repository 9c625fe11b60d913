import type { ReportItem, PageOutcome } from '../../domain/reconciliation';
import { durationMs } from '../../lib/config';
import { ReconciliationActivityDeps, StageLimit, ReconciliationPlan, quote, DEFAULT_SETTLE, DEFAULT_MAX_ITEMS } from './shared';

/** Activities on the workflow task queue: the plan of a run, and workflows stuck beyond their stage's limit. */
export function createReconciliationTemporalActivities({ client, config }: ReconciliationActivityDeps) {
  const rec = config.reconciliation;

  /** Per stage, whatever the workflow type (payments, receipts, walk-in problems, refunds, cancellations). */
  function stageLimits(): StageLimit[] {
    const hour = 3_600_000;
    const overrides = rec?.stageLimits ?? {};
    const defaults: [string, number][] = [
      ['LOADING', hour],
      ['MATCHING', hour],
      ['AWAITING_PAYMENT', durationMs(config.payment.deadline) + hour],
      ['FISCALIZING', durationMs(config.payment.fiscalDeadline) + hour],
      ['CONFIRMING', hour],
      ['DEDUCTING_STOCK', hour],
      ['LOCATING_SALE', durationMs(config.refunds.saleDeadline) + hour],
      ['RETURNING_STOCK', hour],
      ['AWAITING_REFUND', durationMs(config.refunds.paybackDeadline) + hour],
      ['NEEDS_ATTENTION', 24 * hour],
    ];
    const stages = new Map<string, number>(defaults);
    for (const [stage, limit] of Object.entries(overrides)) stages.set(stage, durationMs(limit));
    return [...stages].map(([stage, limitMs]) => ({ stage, limitMs }));
  }

  return {
    /** What a run compares, read from POS_CONFIG when the run starts (so a config change applies to the next run). */
    async planReconciliation(): Promise<ReconciliationPlan> {
      return {
        stores: config.stores
          .filter((s) => s.terminalKind === 'evotor' && s.evotorStoreId)
          .map((s) => ({ storeId: s.id, terminalStoreId: s.evotorStoreId!, fiscalMode: s.fiscalMode })),
        settleMs: durationMs(rec?.settle ?? DEFAULT_SETTLE),
        maxItems: rec?.maxItems ?? DEFAULT_MAX_ITEMS,
        stageLimits: stageLimits(),
      };
    },

    /** Running workflows that entered a stage longer ago than its limit (PosStage / PosStageSince). */
    async findStuckWorkflows(input: { limits: StageLimit[]; now: string; maxPerStage: number }): Promise<PageOutcome> {
      const items: ReportItem[] = [];
      let checked = 0;
      const now = Date.parse(input.now);
      for (const l of input.limits) {
        const since = new Date(now - l.limitMs).toISOString();
        const query = `ExecutionStatus = "Running" AND PosStage = ${quote(l.stage)} AND PosStageSince < ${quote(since)}`;
        let found = 0;
        for await (const wf of client.workflow.list({ query, pageSize: 1000 })) {
          checked++;
          if (++found > input.maxPerStage) break;
          const attrs = new Map(wf.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
          const sinceAt = attrs.get('PosStageSince');
          const hours = Math.round(((now - (sinceAt instanceof Date ? sinceAt.getTime() : now)) / 3_600_000) * 10) / 10;
          items.push({
            class: 'stuck-workflow',
            key: `${wf.workflowId}@${l.stage}`,
            action: 'reported',
            found: `${wf.type} in ${l.stage} for ${hours} h (limit ${Math.round((l.limitMs / 3_600_000) * 100) / 100} h)`,
            done: 'Open it in the Web UI: its details say what it waits for and what to do (retry, resolve, cancel).',
            workflowId: wf.workflowId,
            ...(typeof attrs.get('PosOrderId') === 'string' ? { orderId: attrs.get('PosOrderId') as string } : {}),
            ...(typeof attrs.get('PosReceiptId') === 'string' ? { receiptId: attrs.get('PosReceiptId') as string } : {}),
            ...(typeof attrs.get('PosStore') === 'string' ? { storeId: attrs.get('PosStore') as string } : {}),
            ...(sinceAt instanceof Date ? { at: sinceAt.toISOString() } : {}),
          });
        }
      }
      return { items, totals: { workflowsChecked: checked }, requests: { temporal: input.limits.length } };
    },
  };
}

export type ReconciliationTemporalActivities = ReturnType<typeof createReconciliationTemporalActivities>;
