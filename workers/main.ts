import { Client } from '@temporalio/client';
import { createClients } from '../app/clients';
import { durationMs, loadEnv, loadPosConfig, reportsDirOf, resolveCompanyCredentials } from '../lib/config';
import { createLogger } from '../lib/logger';
import { onShutdown, runMain } from '../lib/main-helpers';
import { collectProcessMetrics } from '../lib/metrics';
import { freePort } from '../lib/ports';
import { connectClient, connectNative, temporalTarget } from '../lib/temporal-connection';
import { installTemporalRuntime } from '../lib/temporal-runtime';
import { prebuiltWorkflowBundle } from '../lib/workflow-bundle';
import { tracingFromEnv } from '../lib/tracing';
import { startWorkerMetricsServer } from '../lib/worker-metrics';
import { ALL_TASK_QUEUES, createWorkers, runWorkers, type TaskQueue } from './worker';
import { ConfigError } from '../lib/config';

function parseTaskQueues(text: string | undefined): TaskQueue[] | undefined {
  if (!text) return undefined;
  const names = text.split(',');
  const unknown = names.filter((n) => !(ALL_TASK_QUEUES as string[]).includes(n));
  if (unknown.length) throw new ConfigError(`WORKER_TASK_QUEUES: unknown task queue(s) ${unknown.join(', ')}; known: ${ALL_TASK_QUEUES.join(', ')}`);
  return names as TaskQueue[];
}

// Production worker process: connects to Temporal (TEMPORAL_ADDRESS, TLS / API key) and runs every task queue's worker.
// SIGTERM/SIGINT: the workers stop polling, running activities get WORKER_SHUTDOWN_GRACE to finish, are then
// cancelled (their calls abandoned, so Temporal retries them at once on another worker), and the process exits.
const logger = createLogger('worker');
runMain(logger, async () => {
  const env = loadEnv();
  const config = loadPosConfig(env.POS_CONFIG);
  // Each company's secrets, from the variables POS_CONFIG names: a missing one stops the start here.
  const clients = createClients(env, config, resolveCompanyCredentials(config), logger);
  const target = temporalTarget(process.env, { namespace: env.TEMPORAL_NAMESPACE });
  const graceMs = durationMs(env.WORKER_SHUTDOWN_GRACE);
  const forceMs = graceMs + durationMs(env.WORKER_SHUTDOWN_FORCE);
  const workflowBundle = prebuiltWorkflowBundle(env.WORKFLOW_BUNDLE_PATH);

  // The SDK's own metrics are served by its core on a loopback port and read through by our /metrics.
  const coreMetricsAddress = env.WORKER_METRICS_ADDRESS ? `127.0.0.1:${await freePort()}` : undefined;
  installTemporalRuntime(logger, 'INFO', coreMetricsAddress);
  let metrics: Awaited<ReturnType<typeof startWorkerMetricsServer>> | undefined;
  if (env.WORKER_METRICS_ADDRESS) {
    collectProcessMetrics();
    metrics = await startWorkerMetricsServer({ address: env.WORKER_METRICS_ADDRESS, coreAddress: coreMetricsAddress, logger });
    logger.info({ url: metrics.url }, 'worker metrics served');
  }

  const tracing = tracingFromEnv(env, 'bitrix-pos-bridge-worker');
  const connection = await connectNative(target);
  const clientConnection = await connectClient(target);
  const workers = await createWorkers({
    connection,
    client: new Client({ connection: clientConnection, namespace: target.namespace, interceptors: { workflow: tracing ? [tracing.clientInterceptor] : [] } }),
    namespace: target.namespace,
    config,
    ...clients,
    logger,
    bitrixActivitiesPerSecond: env.BITRIX_RATE_LIMIT_RPS,
    publicBaseUrl: env.PUBLIC_BASE_URL,
    bitrixCashboxSecret: env.BITRIX_CASHBOX_SECRET,
    webUiUrl: env.TEMPORAL_WEB_UI_URL,
    taskQueues: parseTaskQueues(env.WORKER_TASK_QUEUES),
    workflowBundle,
    reportsDir: reportsDirOf(env),
    reportsKeepMs: durationMs(env.RECONCILIATION_REPORTS_KEEP),
    shutdownGraceTime: graceMs,
    shutdownForceTime: forceMs,
    activityInterceptors: tracing?.activityInterceptors,
  });
  const running = runWorkers(workers);
  const closed = running
    .catch((e: unknown) => logger.error({ err: e }, 'a worker failed'))
    .finally(async () => {
      await connection.close().catch(() => undefined);
      await clientConnection.close().catch(() => undefined);
      await metrics?.close();
      await tracing?.shutdown().catch(() => undefined);
    });
  onShutdown(
    logger,
    async () => {
      const started = Date.now();
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await closed;
      logger.info({ ms: Date.now() - started }, 'workers drained');
    },
    // The SDK gives up at the force time; a little more for closing the connections.
    { hardLimitMs: forceMs + 5_000 },
  );
  logger.info({ ...target.describe, prebuiltWorkflowBundle: Boolean(workflowBundle), shutdownGraceMs: graceMs }, 'workers running');
  await running;
});
