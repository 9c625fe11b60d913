import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createBitrixActivities } from '../activities/bitrix/activities';
import type { BitrixClient } from '../activities/bitrix/client';
import type { AtolClient } from '../activities/atol/client';
import { createEvotorActivities } from '../activities/evotor/activities';
import { createFiscalActivities } from '../activities/fiscal/activities';
import { createTemporalActivities } from '../activities/temporal/activities';
import { createWalkInActivities } from '../activities/walk-in/activities';
import type { EvotorCloudClient } from '../activities/evotor/client';
import { TASK_QUEUES } from '../domain/payment';
import type { PosConfig } from '../lib/config';
import type { Logger } from '../lib/logger';

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
  /** Our API's public base URL, for ATOL callbacks. */
  publicBaseUrl?: string;
  logger: Logger;
  /** Bitrix requests per second allowed across all workers (server-side task-queue limit). */
  bitrixActivitiesPerSecond?: number;
  /** A prebuilt workflow bundle (tests build it once); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/**
 * One worker per task queue: workflows (no I/O), and one per outside system so that each system's
 * limits are set in one place. They can run in one process (sandbox) or be split across many.
 */
export async function createWorkers(deps: WorkerDeps): Promise<Worker[]> {
  const common = { connection: deps.connection, namespace: deps.namespace };
  const workflowSource = deps.workflowBundle
    ? { workflowBundle: deps.workflowBundle }
    : { workflowsPath: require.resolve('../workflows') };
  return Promise.all([
    Worker.create({
      ...common,
      taskQueue: TASK_QUEUES.workflows,
      ...workflowSource,
      activities: createTemporalActivities({ client: deps.client, config: deps.config }),
    }),
    Worker.create({
      ...common,
      taskQueue: TASK_QUEUES.bitrix,
      activities: {
        ...createBitrixActivities({ client: deps.bitrix, config: deps.config, logger: deps.logger.child({ system: 'bitrix' }) }),
        ...createWalkInActivities({ bitrix: deps.bitrix, evotor: deps.evotor, config: deps.config, logger: deps.logger.child({ system: 'bitrix' }) }),
      },
      // Enforced by the Temporal server for the whole task queue, so adding workers never breaks Bitrix's limit.
      maxTaskQueueActivitiesPerSecond: deps.bitrixActivitiesPerSecond,
    }),
    Worker.create({
      ...common,
      taskQueue: TASK_QUEUES.evotor,
      activities: createEvotorActivities({ client: deps.evotor, logger: deps.logger.child({ system: 'evotor' }) }),
    }),
    Worker.create({
      ...common,
      taskQueue: TASK_QUEUES.fiscal,
      activities: createFiscalActivities({
        bitrix: deps.bitrix,
        atol: deps.atol,
        config: deps.config,
        callbackBaseUrl: deps.publicBaseUrl,
        logger: deps.logger.child({ system: 'fiscal' }),
      }),
    }),
  ]);
}

/** Runs all workers until one fails or shutdown is requested; shuts the others down with it. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  }
}
