import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createClients } from '../lib/clients';
import { loadEnv, loadPosConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { onShutdown, runMain } from '../lib/main-helpers';
import { installTemporalRuntime } from '../lib/temporal-runtime';
import { ALL_TASK_QUEUES, createWorkers, runWorkers, type TaskQueue } from './worker';
import { ConfigError } from '../lib/config';

function parseTaskQueues(text: string | undefined): TaskQueue[] | undefined {
  if (!text) return undefined;
  const names = text.split(',');
  const unknown = names.filter((n) => !(ALL_TASK_QUEUES as string[]).includes(n));
  if (unknown.length) throw new ConfigError(`WORKER_TASK_QUEUES: unknown task queue(s) ${unknown.join(', ')}; known: ${ALL_TASK_QUEUES.join(', ')}`);
  return names as TaskQueue[];
}

// Production worker process: connects to TEMPORAL_ADDRESS and runs every task queue's worker.
const logger = createLogger('worker');
runMain(logger, async () => {
  const env = loadEnv();
  const config = loadPosConfig(env.POS_CONFIG);
  installTemporalRuntime(logger);
  const address = env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const connection = await NativeConnection.connect({ address });
  const clientConnection = await Connection.connect({ address });
  const workers = await createWorkers({
    connection,
    client: new Client({ connection: clientConnection, namespace: env.TEMPORAL_NAMESPACE }),
    namespace: env.TEMPORAL_NAMESPACE,
    config,
    ...createClients(env, logger),
    logger,
    bitrixActivitiesPerSecond: env.BITRIX_RATE_LIMIT_RPS,
    publicBaseUrl: env.PUBLIC_BASE_URL,
    taskQueues: parseTaskQueues(env.WORKER_TASK_QUEUES),
  });
  onShutdown(logger, async () => {
    for (const w of workers) w.shutdown();
  });
  logger.info({ namespace: env.TEMPORAL_NAMESPACE }, 'workers running');
  await runWorkers(workers);
  await connection.close();
  await clientConnection.close();
});
