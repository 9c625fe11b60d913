import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { durationMs, type PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import type { reconciliationWorkflow, ReconciliationInput } from '../../workflows/reconciliation';
import { TASK_QUEUES, reconciliationScheduleId } from '../../domain/workflow-ids';

type Options = ScheduleOptions<ScheduleOptionsStartWorkflowAction<typeof reconciliationWorkflow>>;

/** The two schedules POS_CONFIG `reconciliation` asks for. */
export function reconciliationSchedules(config: NonNullable<PosConfig['reconciliation']>): Options[] {
  const frequent: ReconciliationInput = { kind: 'frequent', windowMs: durationMs(config.frequent.window), every: config.frequent.every };
  const [hour, minute] = config.nightly.at.split(':').map(Number);
  const nightly: ReconciliationInput = { kind: 'nightly', timeZone: config.nightly.timeZone, at: config.nightly.at };
  const action = (input: ReconciliationInput, summary: string): Options['action'] => ({
    type: 'startWorkflow',
    workflowType: 'reconciliationWorkflow',
    // Temporal appends the scheduled time: reconciliation-frequent-2026-11-29T14:15:00Z.
    workflowId: reconciliationScheduleId(input.kind as 'frequent' | 'nightly'),
    taskQueue: TASK_QUEUES.workflows,
    args: [input],
    staticSummary: summary,
  });
  // A run still going when the next is due is not doubled: the next one covers the same ground anyway.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 3_600_000 };
  return [
    {
      scheduleId: reconciliationScheduleId('frequent'),
      spec: { intervals: [{ every: durationMs(config.frequent.every) }] },
      action: action(frequent, `Reconciliation every ${config.frequent.every} over the last ${config.frequent.window}`),
      policies,
    },
    {
      scheduleId: reconciliationScheduleId('nightly'),
      spec: { calendars: [{ hour, minute, comment: `nightly at ${config.nightly.at}` }], timezone: config.nightly.timeZone },
      action: action(nightly, `Nightly reconciliation of the previous day (${config.nightly.timeZone})`),
      policies,
    },
  ];
}

/**
 * Creates the reconciliation schedules, or brings existing ones up to date when POS_CONFIG changed
 * (idempotent: called at every worker start). Returns what it did per schedule.
 */
export async function ensureReconciliationSchedules(client: Client, config: PosConfig, logger?: Logger): Promise<Record<string, 'created' | 'updated' | 'unchanged'>> {
  const done: Record<string, 'created' | 'updated' | 'unchanged'> = {};
  if (!config.reconciliation) return done;
  for (const options of reconciliationSchedules(config.reconciliation)) {
    try {
      await client.schedule.create(options);
      done[options.scheduleId] = 'created';
      continue;
    } catch (e) {
      if (!(e instanceof ScheduleAlreadyRunning)) throw e;
    }
    const handle = client.schedule.getHandle(options.scheduleId);
    const current = await handle.describe();
    const same =
      current.action.type === 'startWorkflow' &&
      JSON.stringify(current.action.args) === JSON.stringify(options.action.args) &&
      sameSpec(current.spec, options.spec);
    if (same) {
      done[options.scheduleId] = 'unchanged';
      continue;
    }
    await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }));
    done[options.scheduleId] = 'updated';
  }
  logger?.info({ schedules: done }, 'reconciliation schedules ensured');
  return done;
}

function sameSpec(current: Awaited<ReturnType<ReturnType<Client['schedule']['getHandle']>['describe']>>['spec'], wanted: Options['spec']): boolean {
  const every = wanted.intervals?.[0]?.every;
  if (every !== undefined) return current.intervals?.length === 1 && current.intervals[0].every === every;
  const cal = wanted.calendars?.[0];
  const got = current.calendars?.[0];
  const first = (v: unknown) => (Array.isArray(v) ? (v[0] as { start?: number })?.start : undefined);
  return Boolean(cal && got && first(got.hour) === cal.hour && first(got.minute) === cal.minute && current.timezone === wanted.timezone);
}
