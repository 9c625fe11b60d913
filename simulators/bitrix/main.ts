import { createLogger, redactUrl } from '../../lib/logger';
import { startBitrixSimulator, type RateLimit } from './server';

/**
 * Runs the Bitrix simulator alone. Env: PORT (default 8091), HOST (127.0.0.1), BITRIX_SIM_USER_ID (1),
 * BITRIX_SIM_WEBHOOK_CODE (simwebhookcode), BITRIX_SIM_APP_TOKEN, BITRIX_SIM_RATE_LIMIT ("2/50" = rps/burst,
 * "off" to disable).
 */
function rateLimitFromEnv(value: string | undefined): RateLimit | null | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'off') return null;
  const m = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(value);
  if (!m) throw new Error(`BITRIX_SIM_RATE_LIMIT: expected "rps/burst" or "off", got ${JSON.stringify(value)}`);
  return { rps: Number(m[1]), burst: Number(m[2]) };
}

async function main(): Promise<void> {
  const log = createLogger('bitrix-sim');
  const sim = await startBitrixSimulator({
    port: Number(process.env.PORT ?? 8091),
    host: process.env.HOST ?? '127.0.0.1',
    webhookUserId: process.env.BITRIX_SIM_USER_ID,
    webhookCode: process.env.BITRIX_SIM_WEBHOOK_CODE,
    applicationToken: process.env.BITRIX_SIM_APP_TOKEN,
    rateLimit: rateLimitFromEnv(process.env.BITRIX_SIM_RATE_LIMIT),
    logger: log,
  });
  log.info({ rest: redactUrl(sim.url), admin: sim.adminUrl }, 'webhook code: BITRIX_SIM_WEBHOOK_CODE (default simwebhookcode)');
  const stop = () => void sim.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
