import { Client, Connection } from '@temporalio/client';
import { durationMs, loadEnv, loadPosConfig } from '../lib/config';
import { parseSigningKeys } from './signature';
import { createLogger } from '../lib/logger';
import { onShutdown, runMain } from '../lib/main-helpers';
import { createApi, listen } from './server';

// Production API process: the webhook doors and the admin API, in front of TEMPORAL_ADDRESS.
const logger = createLogger('api');
runMain(logger, async () => {
  const env = loadEnv();
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const app = createApi({
    client,
    logger,
    bitrixApplicationToken: env.BITRIX_APP_TOKEN,
    bitrixEventMaxAgeMs: durationMs(env.BITRIX_EVENT_MAX_AGE),
    evotorWebhookTokens: env.EVOTOR_WEBHOOK_TOKEN ? env.EVOTOR_WEBHOOK_TOKEN.split(',') : [],
    adminApiKey: env.ADMIN_API_KEY,
    config: loadPosConfig(env.POS_CONFIG),
    middlewareKeys: parseSigningKeys(env.MIDDLEWARE_KEYS),
  });
  const { server, url } = await listen(app, env.API_PORT, env.API_HOST);
  logger.info({ url }, 'API listening');
  onShutdown(logger, async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await connection.close();
  });
});
