import { z } from 'zod';
import { parseEnvOrExit, runSimulatorMain } from '../shared/main-helpers';
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

runSimulatorMain('atol-simulator', 'ATOL Online simulator', async (log) => {
  const cfg = parseEnvOrExit(env, process.env, log);
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
  return { sim, readyFields: { groupCode: cfg.ATOL_SIM_GROUP_CODE } };
});
