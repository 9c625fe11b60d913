import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadEnv, loadPosConfig, missingOutsideSystems, reportsDirOf } from '../lib/config';
import { createLogger } from '../lib/logger';
import { SANDBOX_INFO_FILE, type SandboxInfo } from '../lib/sandbox-info';
import { ensureSearchAttributes } from '../lib/search-attributes-admin';
import { onShutdown, runMain } from '../lib/main-helpers';
import { startStack } from '../app/stack';
import { startLocalTemporal } from '../lib/temporal-env';
import { installTemporalRuntime } from '../lib/temporal-runtime';
import { connectClient, temporalTarget, type TemporalTarget } from '../lib/temporal-connection';
import { tracingFromEnv } from '../lib/tracing';


const logger = createLogger('sandbox');

runMain(logger, async () => {
  const env = loadEnv();
  const config = loadPosConfig(env.POS_CONFIG);
  installTemporalRuntime(logger, 'WARN');
  const dataDir = resolve(env.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });

  let temporal: TestWorkflowEnvironment | undefined;
  let temporalAddress = env.TEMPORAL_ADDRESS;
  let temporalUiUrl: string | undefined;
  if (!temporalAddress) {
    logger.info('starting the embedded Temporal dev server');
    temporal = await startLocalTemporal({
      port: env.TEMPORAL_DEV_PORT,
      ui: true,
      uiPort: env.TEMPORAL_UI_PORT,
      dbFilename: join(dataDir, 'temporal.sqlite'),
      namespace: env.TEMPORAL_NAMESPACE,
    });
    temporalAddress = temporal.address;
    temporalUiUrl = `http://127.0.0.1:${env.TEMPORAL_UI_PORT}`;
  }

  let target: TemporalTarget | undefined;
  if (!temporal) {
    // A server of our own (a cluster, Temporal Cloud): TLS / API key from the environment.
    target = temporalTarget(process.env, { namespace: env.TEMPORAL_NAMESPACE });
    const connection = await connectClient(target);
    try {
      await ensureSearchAttributes(connection, env.TEMPORAL_NAMESPACE, logger);
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'could not register search attributes; register them with the admin tools (docker-compose.yml)');
    } finally {
      await connection.close();
    }
  }

  const simulated = missingOutsideSystems(env);
  const stack = await startStack({
    // Notifications link to the embedded dev server's Web UI unless another one is named.
    env: { ...env, TEMPORAL_WEB_UI_URL: env.TEMPORAL_WEB_UI_URL ?? temporalUiUrl },
    config,
    logger,
    temporalAddress,
    namespace: env.TEMPORAL_NAMESPACE,
    temporal: target,
    reportsDir: resolve(reportsDirOf(env)),
    tracing: tracingFromEnv(env, 'bitrix-pos-bridge-sandbox'),
    ports: { api: env.API_PORT, bitrix: env.API_PORT + 1, evotor: env.API_PORT + 2, atol: env.API_PORT + 3, ferma: env.API_PORT + 4 },
  });

  // Temporal keeps its workflows across restarts while the simulators start empty: keep order ids unique.
  stack.bitrix?.state.startOrderIdsAfter(Math.floor((Date.now() - Date.UTC(2026, 0, 1)) / 1000));

  const info: SandboxInfo = {
    apiUrl: stack.apiUrl,
    adminApiKey: stack.adminApiKey,
    temporalAddress,
    temporalUiUrl,
    namespace: env.TEMPORAL_NAMESPACE,
    bitrixAdminUrl: stack.bitrix?.adminUrl,
    evotorUrl: stack.evotor?.url,
    atolAdminUrl: stack.atol?.adminUrl,
    fermaAdminUrl: stack.ferma?.adminUrl,
    middlewareKeys: stack.middlewareKeys,
    deviceIds: Object.fromEntries(config.stores.map((s) => [s.id, s.evotorDeviceIds])),
  };
  const infoPath = join(dataDir, SANDBOX_INFO_FILE);
  writeFileSync(infoPath, JSON.stringify(info, null, 2));
  chmodSync(infoPath, 0o600);

  onShutdown(logger, async () => {
    await stack.stop();
    await temporal?.teardown();
  });

  const lines = [
    '',
    'Sandbox is running. Ctrl-C stops everything.',
    `  API:               ${stack.apiUrl}   (GET /healthz, /readyz; admin API key in ${infoPath})`,
    `  Temporal:          ${temporalAddress}  namespace "${env.TEMPORAL_NAMESPACE}"${temporal ? '  (embedded dev server, data in ' + join(dataDir, 'temporal.sqlite') + ')' : ''}`,
    ...(temporalUiUrl ? [`  Temporal Web UI:   ${temporalUiUrl}`] : []),
    ...(stack.bitrix ? [`  Bitrix simulator:  ${stack.bitrix.adminUrl}/state  (REST at ${stack.bitrix.url.replace(/\/rest\/.*/, '/rest/…')})`] : []),
    ...(stack.evotor ? [`  Evotor simulator:  ${stack.evotor.url}/_admin/state`] : []),
    ...(stack.atol ? [`  ATOL simulator:    ${stack.atol.adminUrl}/state`] : []),
    ...(stack.ferma ? [`  Ferma simulator:   ${stack.ferma.adminUrl}/state`] : []),
    `  Middleware door:   ${stack.apiUrl}/middleware/v1/  (receipts/batch, orders, fiscal-confirmations; signing key in ${infoPath})`,
    `  Simulated systems: ${simulated.join(', ') || 'none'}`,
    '',
    'Play one order through it:  npm run demo',
    '',
  ];
  process.stdout.write(lines.join('\n'));
});
