import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '../../lib/logger';
import { startEvotorSimulator, type EvotorSimulatorOptions } from './simulator';

/**
 * Runs the Evotor simulator on its own:
 *   tsx simulators/evotor/main.ts --port 8091 --token T --webhook-url http://127.0.0.1:8080/api/v2/receipts --webhook-token W
 * Every flag has an environment fallback (EVOTOR_SIM_PORT, EVOTOR_SIM_TOKEN, ...); --config takes a JSON
 * file with any EvotorSimulatorOptions (stores, devices, rateLimit, ...), flags win over it.
 */

const log = createLogger('evotor-simulator');
const env = process.env;

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    port: { type: 'string', default: env.EVOTOR_SIM_PORT ?? '8091' },
    host: { type: 'string', default: env.EVOTOR_SIM_HOST ?? '127.0.0.1' },
    token: { type: 'string', default: env.EVOTOR_SIM_TOKEN ?? env.EVOTOR_TOKEN },
    'app-id': { type: 'string', default: env.EVOTOR_SIM_APP_ID ?? env.EVOTOR_APP_ID },
    'webhook-url': { type: 'string', default: env.EVOTOR_SIM_WEBHOOK_URL },
    'webhook-token': { type: 'string', default: env.EVOTOR_SIM_WEBHOOK_TOKEN ?? env.EVOTOR_WEBHOOK_TOKEN },
    'duplicate-rate': { type: 'string', default: env.EVOTOR_SIM_DUPLICATE_RATE },
    'page-size': { type: 'string', default: env.EVOTOR_SIM_PAGE_SIZE },
  },
});

async function main(): Promise<void> {
  const fromFile: Partial<EvotorSimulatorOptions> = values.config ? JSON.parse(readFileSync(values.config, 'utf8')) : {};
  const token = values.token ?? fromFile.token;
  if (!token) throw new Error('a cloud API token is required: --token or EVOTOR_SIM_TOKEN');
  const webhookUrl = values['webhook-url'] ?? fromFile.webhook?.url;
  const opts: EvotorSimulatorOptions = {
    ...fromFile,
    port: Number(values.port),
    host: values.host,
    token,
    appId: values['app-id'] ?? fromFile.appId,
    pageSize: values['page-size'] ? Number(values['page-size']) : fromFile.pageSize,
    webhook: webhookUrl
      ? {
          ...fromFile.webhook,
          url: webhookUrl,
          token: values['webhook-token'] ?? fromFile.webhook?.token ?? '',
          duplicateRate: values['duplicate-rate'] ? Number(values['duplicate-rate']) : fromFile.webhook?.duplicateRate,
        }
      : undefined,
    logger: log,
  };
  const sim = await startEvotorSimulator(opts);
  const s = sim.state;
  log.info({ url: sim.url, appId: s.appId, stores: s.stores.map((x) => x.id), devices: s.devices.map((d) => d.id), webhook: s.webhook.url ?? null }, 'evotor simulator ready');
  if (!s.webhook.url) log.warn('no webhook configured: receipts stay undelivered until POST /_admin/webhook');

  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  log.error({ err: e }, 'evotor simulator failed to start');
  process.exit(1);
});
