import { z } from 'zod';
import { createLogger } from '../../lib/logger';
import { startAtolSimulator } from './simulator';

/** `npx tsx simulators/atol/main.ts` — an ATOL Online v5 stand-in for the sandbox, configured by environment. */

const env = z.object({
  ATOL_SIM_PORT: z.coerce.number().int().min(0).max(65535).default(8093),
  ATOL_SIM_HOST: z.string().default('127.0.0.1'),
  ATOL_SIM_LOGIN: z.string().min(1).default('sandbox-login'),
  ATOL_SIM_PASSWORD: z.string().min(1).default('sandbox-password'),
  ATOL_SIM_GROUP_CODE: z.string().min(1).default('sandbox-group'),
  ATOL_SIM_PROCESSING_DELAY_MS: z.coerce.number().int().min(0).default(1000),
  ATOL_SIM_FAIL_RATE: z.coerce.number().min(0).max(1).default(0),
  ATOL_SIM_RATE_LIMIT_PER_SEC: z.coerce.number().min(0).default(1),
  ATOL_SIM_TIME_ZONE: z.string().default('Europe/Moscow'),
});

async function main(): Promise<void> {
  const log = createLogger('atol-simulator');
  const parsed = env.safeParse(process.env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) log.fatal(`${issue.path.join('.')}: ${issue.message}`);
    process.exit(1);
  }
  const cfg = parsed.data;
  const sim = await startAtolSimulator({
    port: cfg.ATOL_SIM_PORT,
    host: cfg.ATOL_SIM_HOST,
    login: cfg.ATOL_SIM_LOGIN,
    password: cfg.ATOL_SIM_PASSWORD,
    groupCode: cfg.ATOL_SIM_GROUP_CODE,
    processingDelayMs: cfg.ATOL_SIM_PROCESSING_DELAY_MS,
    failRate: cfg.ATOL_SIM_FAIL_RATE,
    rateLimitPerSec: cfg.ATOL_SIM_RATE_LIMIT_PER_SEC,
    timeZone: cfg.ATOL_SIM_TIME_ZONE,
    logger: log,
  });
  log.info({ url: sim.url, admin: sim.adminUrl, groupCode: cfg.ATOL_SIM_GROUP_CODE }, 'ATOL Online simulator ready');
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  createLogger('atol-simulator').fatal({ err: e }, 'ATOL Online simulator failed to start');
  process.exit(1);
});
