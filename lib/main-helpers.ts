import { ConfigError } from './config';
import type { Logger } from './logger';

/** Runs a process entry point: a configuration error stops it with a message naming the variable. */
export function runMain(logger: Logger, main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    if (e instanceof ConfigError) logger.fatal(`configuration error: ${e.message}`);
    else logger.fatal({ err: e }, 'fatal error');
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 500).unref();
  });
}

/** Calls `stop` once on SIGINT/SIGTERM; a second signal exits at once. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (e) => {
        logger.error({ err: e }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
