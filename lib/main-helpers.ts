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

/**
 * Calls `stop` once on SIGINT/SIGTERM and exits when it is done; a second signal exits at once. With
 * `hardLimitMs`, a `stop` still running after that long is given up: the process exits with code 1.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, opts: { hardLimitMs?: number } = {}): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (opts.hardLimitMs !== undefined) {
      setTimeout(() => {
        logger.error({ limitMs: opts.hardLimitMs }, 'shutdown did not finish in time; exiting');
        process.exit(1);
      }, opts.hardLimitMs).unref();
    }
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
