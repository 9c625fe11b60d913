import type { z } from 'zod';
import { createLogger, type Logger } from '../../lib/logger';

/** What a simulator's main.ts needs around its start: env parsing, a ready line, a clean stop on signals. */

interface RunningSimulator {
  url: string;
  adminUrl: string;
  close(): Promise<void>;
}

/** The parsed environment; on a bad one logs each issue (variable and message) as fatal and exits 1. */
export function parseEnvOrExit<T>(schema: z.ZodType<T>, env: Record<string, string | undefined>, log: Logger): T {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) log.fatal(`${issue.path.join('.')}: ${issue.message}`);
    process.exit(1);
  }
  return parsed.data;
}

/** The environment without empty variables, so that `X=` in a .env file means "use the default". */
export function nonEmptyEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
}

/**
 * Starts a simulator under the logger `component`, logs "<title> ready" with its URLs (and `readyFields`),
 * and closes it on SIGINT/SIGTERM; a failed start is logged and exits 1.
 */
export function runSimulatorMain(
  component: string,
  title: string,
  start: (log: Logger) => Promise<{ sim: RunningSimulator; readyFields?: Record<string, unknown> }>,
): void {
  const main = async (): Promise<void> => {
    const log = createLogger(component);
    const { sim, readyFields } = await start(log);
    log.info({ url: sim.url, admin: sim.adminUrl, ...readyFields }, `${title} ready`);
    const stop = (): void => {
      void sim.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  };
  main().catch((e: unknown) => {
    createLogger(component).fatal({ err: e }, `${title} failed to start`);
    process.exit(1);
  });
}
