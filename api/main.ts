import { Client } from '@temporalio/client';
import { durationMs, loadEnv, loadPosConfig, reportsDirOf } from '../lib/config';
import { parseSigningKeys } from './signature';
import { createLogger } from '../lib/logger';
import { onShutdown, runMain } from '../lib/main-helpers';
import { collectProcessMetrics } from '../lib/metrics';
import { connectClient, temporalTarget } from '../lib/temporal-connection';
import { handoverMetricsInterceptor } from './metrics';
import { tracingFromEnv } from '../lib/tracing';
import { closeGracefully, createApi, listen, type ApiLifecycle } from './server';

// Production API process: the webhook doors and the admin API, in front of Temporal (TEMPORAL_ADDRESS, TLS / API key).
// SIGTERM/SIGINT: /readyz answers 503, requests in flight are answered (API_SHUTDOWN_GRACE), then it exits.
const logger = createLogger('api');
runMain(logger, async () => {
  const env = loadEnv();
  const target = temporalTarget(process.env, { namespace: env.TEMPORAL_NAMESPACE });
  const connection = await connectClient(target);
  const tracing = tracingFromEnv(env, 'bitrix-pos-bridge-api');
  const client = new Client({
    connection,
    namespace: target.namespace,
    interceptors: { workflow: [handoverMetricsInterceptor(), ...(tracing ? [tracing.clientInterceptor] : [])] },
  });
  collectProcessMetrics();
  const lifecycle: ApiLifecycle = { shuttingDown: false };
  const app = createApi({
    client,
    logger,
    bitrixApplicationToken: env.BITRIX_APP_TOKEN,
    bitrixEventMaxAgeMs: durationMs(env.BITRIX_EVENT_MAX_AGE),
    evotorWebhookTokens: env.EVOTOR_WEBHOOK_TOKEN ? env.EVOTOR_WEBHOOK_TOKEN.split(',') : [],
    adminApiKey: env.ADMIN_API_KEY,
    config: loadPosConfig(env.POS_CONFIG),
    middlewareKeys: parseSigningKeys(env.MIDDLEWARE_KEYS),
    lifecycle,
    reportsDir: reportsDirOf(env),
    bitrixCashboxSecret: env.BITRIX_CASHBOX_SECRET,
  });
  const { server, url } = await listen(app, env.API_PORT, env.API_HOST);
  logger.info({ url, temporal: target.describe }, 'API listening');
  const delayMs = durationMs(env.API_SHUTDOWN_DELAY);
  const graceMs = durationMs(env.API_SHUTDOWN_GRACE);
  onShutdown(
    logger,
    async () => {
      await closeGracefully(server, lifecycle, { delayMs, graceMs });
      await connection.close();
      await tracing?.shutdown().catch(() => undefined);
    },
    { hardLimitMs: delayMs + graceMs + 5_000 },
  );
});
