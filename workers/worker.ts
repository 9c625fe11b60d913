import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createBitrixActivities } from '../activities/bitrix/activities';
import type { BitrixClient } from '../activities/bitrix/client';
import type { AtolClient } from '../activities/atol/client';
import { createFermaActivities } from '../activities/ferma/activities';
import type { FermaClient } from '../activities/ferma/client';
import { createTerminalActivities } from '../activities/terminals/activities';
import { createAtolActivities } from '../activities/atol/activities';
import { createBitrixRefundActivities } from '../activities/bitrix/refund';
import { createNotificationActivities } from '../activities/bitrix/notifications';
import { createAtolRefundActivities } from '../activities/atol/refund';
import { createFermaRefundActivities } from '../activities/ferma/refund';
import { createEvotorRefundActivities } from '../activities/evotor/refund';
import { createRefundLookupActivities } from '../cross-system/refund-lookup';
import { createTemporalActivities } from '../cross-system/order-lookup';
import { createWalkInActivities } from '../cross-system/walk-in-write-offs';
import { createReconciliationTerminalActivities } from '../cross-system/reconciliation/evotor';
import { createReconciliationBitrixActivities } from '../cross-system/reconciliation/bitrix';
import { createReconciliationTemporalActivities } from '../cross-system/reconciliation/workflows';
import { ensureReconciliationSchedules } from '../cross-system/reconciliation/schedules';
import { createReportArchiveActivities } from '../cross-system/report-archive';
import { createCashboxLookupActivities, ensureBitrixCashboxes } from '../cross-system/bitrix-cashbox';
import { createBitrixCashboxActivities } from '../activities/bitrix/cashbox';
import type { EvotorCloudClient } from '../activities/evotor/client';
import { CompanyAccounts, type CompanyClients } from '../activities/shared/company-clients';

import type { PosConfig } from '../lib/config';
import { walkInDeductionsWorkflow } from '../workflows/walk-in-deductions';
import type { Logger } from '../lib/logger';
import { TASK_QUEUES, walkInDeductionsWorkflowId } from '../domain/workflow-ids';

export type TaskQueue = (typeof TASK_QUEUES)[keyof typeof TASK_QUEUES];
export const ALL_TASK_QUEUES = Object.values(TASK_QUEUES) as TaskQueue[];

export interface WorkerDeps {
  connection: NativeConnection;
  /** For activities that read Temporal's visibility (matching receipts to orders). */
  client: Client;
  namespace: string;
  config: PosConfig;
  bitrix: BitrixClient;
  evotor: EvotorCloudClient;
  /** ATOL Online, for stores with fiscalMode "atol". */
  atol?: AtolClient;
  /** OFD.ru Ferma, for stores with fiscalMode "ferma". */
  ferma?: FermaClient;
  /** The accounts of POS_CONFIG `companies`, by company id (the clients above are the default company's). */
  companies?: ReadonlyMap<string, CompanyClients>;
  /** Our API's public base URL, for ATOL and Ferma callbacks and the Bitrix REST cashboxes' PRINT_URL. */
  publicBaseUrl?: string;
  /** BITRIX_CASHBOX_SECRET: with publicBaseUrl, the Bitrix REST cashboxes of POS_CONFIG are registered at start. */
  bitrixCashboxSecret?: string;
  /** The Temporal Web UI support opens (TEMPORAL_WEB_UI_URL): linked from Bitrix notifications. */
  webUiUrl?: string;
  logger: Logger;
  /** Bitrix requests per second allowed across all workers (server-side task-queue limit). */
  bitrixActivitiesPerSecond?: number;
  /** Which task queues this process serves (default: all). Split them across processes to scale out. */
  taskQueues?: TaskQueue[];
  /** A prebuilt workflow bundle (tests build it once); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Where finished reconciliation reports are archived (unset: not archived), and for how long. */
  reportsDir?: string;
  reportsKeepMs?: number;
  /** Activity interceptors (OpenTelemetry tracing: lib/tracing). */
  activityInterceptors?: NonNullable<WorkerOptions['interceptors']>['activity'];
  /** On shutdown, running activities get this long to finish; then they are cancelled (WORKER_SHUTDOWN). */
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** From the start of shutdown, when the worker stops waiting for cancelled activities and fails instead. */
  shutdownForceTime?: WorkerOptions['shutdownForceTime'];
}

const quietBundler = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };

/**
 * One worker per task queue: workflows (no I/O), and one per outside system so that each system's
 * limits are set in one place. They can run in one process (sandbox) or be split across many.
 */
export async function createWorkers(deps: WorkerDeps): Promise<Worker[]> {
  const common = {
    connection: deps.connection,
    namespace: deps.namespace,
    ...(deps.shutdownGraceTime !== undefined ? { shutdownGraceTime: deps.shutdownGraceTime } : {}),
    ...(deps.shutdownForceTime !== undefined ? { shutdownForceTime: deps.shutdownForceTime } : {}),
    ...(deps.activityInterceptors ? { interceptors: { activity: deps.activityInterceptors } } : {}),
  };
  const queues = new Set<TaskQueue>(deps.taskQueues ?? ALL_TASK_QUEUES);
  const runsWorkflows = queues.has(TASK_QUEUES.workflows) || queues.has(TASK_QUEUES.deductions);
  // Bundled once for the two workflow task queues.
  const workflowBundle = runsWorkflows
    ? (deps.workflowBundle ?? (await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietBundler })))
    : undefined;
  // Refunds reverse a sale in every outside system: each part runs on that system's queue, with its limits.
  const accounts = new CompanyAccounts(deps.config, { evotor: deps.evotor, atol: deps.atol, ferma: deps.ferma }, deps.companies);
  const refundDeps = {
    bitrix: deps.bitrix,
    accounts,
    config: deps.config,
    callbackBaseUrl: deps.publicBaseUrl,
    logger: deps.logger.child({ system: 'refund' }),
  };
  const refunds = {
    bitrix: createBitrixRefundActivities(refundDeps),
    fiscal: { ...createAtolRefundActivities(refundDeps), ...createFermaRefundActivities(refundDeps) },
    evotor: createEvotorRefundActivities(refundDeps),
  };
  const factories: Record<TaskQueue, () => Promise<Worker>> = {
    [TASK_QUEUES.workflows]: () =>
      Worker.create({
        ...common,
        taskQueue: TASK_QUEUES.workflows,
        workflowBundle,
        activities: {
          ...createTemporalActivities({ client: deps.client, config: deps.config }),
          ...createRefundLookupActivities({ client: deps.client, config: deps.config, accounts }),
          ...createReconciliationTemporalActivities({ client: deps.client, config: deps.config }),
          ...createCashboxLookupActivities({ client: deps.client }),
          ...createReportArchiveActivities({ dir: deps.reportsDir, keepMs: deps.reportsKeepMs ?? 400 * 86_400_000, logger: deps.logger.child({ system: 'reports' }) }),
        },
      }),
    [TASK_QUEUES.deductions]: () => Worker.create({ ...common, taskQueue: TASK_QUEUES.deductions, workflowBundle }),
    [TASK_QUEUES.bitrix]: () =>
      Worker.create({
        ...common,
        taskQueue: TASK_QUEUES.bitrix,
        activities: {
          ...createBitrixActivities({ client: deps.bitrix, config: deps.config, logger: deps.logger.child({ system: 'bitrix' }) }),
          ...createWalkInActivities({ bitrix: deps.bitrix, accounts, config: deps.config, logger: deps.logger.child({ system: 'bitrix' }) }),
          ...refunds.bitrix,
          ...createBitrixCashboxActivities({ client: deps.bitrix, logger: deps.logger.child({ system: 'bitrix-cashbox' }) }),
          ...createNotificationActivities({
            client: deps.bitrix,
            config: deps.config,
            portalUrl: deps.bitrix.portalOrigin,
            webUiUrl: deps.webUiUrl,
            namespace: deps.namespace,
            logger: deps.logger.child({ system: 'bitrix' }),
          }),
          ...createReconciliationBitrixActivities({ client: deps.client, bitrix: deps.bitrix, config: deps.config, logger: deps.logger.child({ system: 'reconciliation' }) }),
        },
        // Enforced by the Temporal server for the whole task queue, so adding workers never breaks Bitrix's limit.
        maxTaskQueueActivitiesPerSecond: deps.bitrixActivitiesPerSecond,
      }),
    [TASK_QUEUES.evotor]: () =>
      Worker.create({
        ...common,
        taskQueue: TASK_QUEUES.evotor,
        activities: {
          ...createTerminalActivities({ accounts, config: deps.config, logger: deps.logger.child({ system: 'evotor' }) }),
          ...refunds.evotor,
          ...createReconciliationTerminalActivities({ client: deps.client, accounts, config: deps.config, logger: deps.logger.child({ system: 'reconciliation' }) }),
        },
      }),
    [TASK_QUEUES.fiscal]: () =>
      Worker.create({
        ...common,
        taskQueue: TASK_QUEUES.fiscal,
        activities: {
          ...createAtolActivities({
            bitrix: deps.bitrix,
            accounts,
            config: deps.config,
            callbackBaseUrl: deps.publicBaseUrl,
            logger: deps.logger.child({ system: 'fiscal' }),
          }),
          ...createFermaActivities({
            bitrix: deps.bitrix,
            accounts,
            config: deps.config,
            callbackBaseUrl: deps.publicBaseUrl,
            logger: deps.logger.child({ system: 'ferma' }),
          }),
          ...refunds.fiscal,
        },
      }),
  };
  const workers = await Promise.all(ALL_TASK_QUEUES.filter((q) => queues.has(q)).map((q) => factories[q]()));
  if (queues.has(TASK_QUEUES.deductions)) await ensureDeductionWorkflows(deps.client, deps.config);
  // The process that runs the workflows keeps the reconciliation schedules in step with POS_CONFIG.
  if (queues.has(TASK_QUEUES.workflows)) await ensureReconciliationSchedules(deps.client, deps.config, deps.logger);
  // The process that talks to Bitrix keeps the REST cashboxes in step with POS_CONFIG (only once the API's address is known).
  if (queues.has(TASK_QUEUES.bitrix) && deps.publicBaseUrl && deps.bitrixCashboxSecret) {
    await registerBitrixCashboxes(deps.bitrix, deps.config, { publicBaseUrl: deps.publicBaseUrl, masterSecret: deps.bitrixCashboxSecret, logger: deps.logger });
  }
  return workers;
}

/**
 * Registers the Bitrix REST cashboxes; a Bitrix that cannot be reached now does not stop the workers (the next
 * start registers them; print requests are refused until then, and Bitrix shows the check as failed).
 */
export async function registerBitrixCashboxes(bitrix: BitrixClient, config: PosConfig, opts: { publicBaseUrl: string; masterSecret: string; logger: Logger }): Promise<void> {
  try {
    await ensureBitrixCashboxes(bitrix, config, opts);
  } catch (e) {
    opts.logger.error({ err: (e as Error).message }, 'Bitrix REST cashboxes could not be registered');
  }
}

/** Starts each store's long-lived walk-in deductions workflow unless it runs already (idempotent). */
export async function ensureDeductionWorkflows(client: Client, config: PosConfig): Promise<void> {
  for (const store of config.stores) {
    await client.workflow.start(walkInDeductionsWorkflow, {
      workflowId: walkInDeductionsWorkflowId(store.id),
      taskQueue: TASK_QUEUES.deductions,
      args: [{ storeId: store.id }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `Walk-in stock deductions of store ${store.id}`,
    });
  }
}

/** Runs all workers until one fails or shutdown is requested; shuts the others down with it. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  }
}
