import type { Connection } from '@temporalio/client';
import { CLUSTER_SPEC } from '../lib/cluster-spec';
import { loadEnv } from '../lib/config';
import { createLogger } from '../lib/logger';
import { runMain } from '../lib/main-helpers';
import { connectClient, temporalTarget } from '../lib/temporal-connection';
import { prepareNamespace } from '../lib/namespace-admin';

// npm run setup:namespace (docker-compose.yml's temporal-setup service): registers TEMPORAL_NAMESPACE on the
// cluster at TEMPORAL_ADDRESS with deploy/temporal.json's retention and the workflows' search attributes.
const logger = createLogger('setup-namespace');
runMain(logger, async () => {
  const env = loadEnv();
  // The same connection as the worker and the API: TEMPORAL_TLS_*, TEMPORAL_API_KEY, TEMPORAL_CONFIG_FILE apply.
  const target = temporalTarget(process.env, { namespace: env.TEMPORAL_NAMESPACE });
  const deadline = Date.now() + 300_000;
  let connection: Connection | undefined;
  // The server may still be starting (compose starts this once its health check passes, a cluster may lag).
  while (!connection) {
    try {
      connection = await connectClient(target);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
  const ready = await prepareNamespace(connection, env.TEMPORAL_NAMESPACE, CLUSTER_SPEC.retentionSeconds, { logger, timeoutMs: 300_000 });
  logger.info({ namespace: env.TEMPORAL_NAMESPACE, registration: ready.namespace, searchAttributesAdded: ready.searchAttributesAdded, retentionDays: CLUSTER_SPEC.retentionDays }, 'namespace ready');
  await connection.close();
});
