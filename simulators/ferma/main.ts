import { z } from 'zod';
import { nonEmptyEnv, parseEnvOrExit, runSimulatorMain } from '../shared/main-helpers';
import { startFermaSimulator } from './simulator';

/** `npx tsx simulators/ferma/main.ts` — an OFD.ru Ferma stand-in for the sandbox, configured by environment. */

const env = z.object({
  FERMA_SIM_PORT: z.coerce.number().int().min(0).max(65535).default(8094),
  FERMA_SIM_HOST: z.string().default('127.0.0.1'),
  FERMA_SIM_LOGIN: z.string().min(1).default('sandbox-login'),
  FERMA_SIM_PASSWORD: z.string().min(1).default('sandbox-password'),
  /** Comma-separated INNs with registers in the account; empty = any INN. */
  FERMA_SIM_INNS: z.string().regex(/^(\d{10}|\d{12})(,(\d{10}|\d{12}))*$/, 'comma-separated INNs').optional(),
  FERMA_SIM_PROCESSING_DELAY_MS: z.coerce.number().int().min(0).default(1000),
  FERMA_SIM_CONFIRMATION_DELAY_MS: z.coerce.number().int().min(0).default(1000),
  FERMA_SIM_FAIL_RATE: z.coerce.number().min(0).max(1).default(0),
  FERMA_SIM_RATE_LIMIT_PER_SEC: z.coerce.number().min(0).default(10),
  FERMA_SIM_ERRORS_WITH_HTTP_200: z.enum(['0', '1', 'true', 'false']).default('0'),
});

runSimulatorMain('ferma-simulator', 'OFD.ru Ferma simulator', async (log) => {
  const cfg = parseEnvOrExit(env, nonEmptyEnv(), log);
  const sim = await startFermaSimulator({
    port: cfg.FERMA_SIM_PORT,
    host: cfg.FERMA_SIM_HOST,
    login: cfg.FERMA_SIM_LOGIN,
    password: cfg.FERMA_SIM_PASSWORD,
    inns: cfg.FERMA_SIM_INNS?.split(','),
    processingDelayMs: cfg.FERMA_SIM_PROCESSING_DELAY_MS,
    confirmationDelayMs: cfg.FERMA_SIM_CONFIRMATION_DELAY_MS,
    failRate: cfg.FERMA_SIM_FAIL_RATE,
    rateLimitPerSec: cfg.FERMA_SIM_RATE_LIMIT_PER_SEC,
    errorsWithHttp200: cfg.FERMA_SIM_ERRORS_WITH_HTTP_200 === '1' || cfg.FERMA_SIM_ERRORS_WITH_HTTP_200 === 'true',
    logger: log,
  });
  return { sim };
});
