import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { Logger } from './logger';

let installed = false;

/**
 * Routes the Temporal SDK's logs (worker, workflow `log`, activity `log`, and the Rust core's logs) into
 * our pino logger, one JSON line per event, with workflow/activity ids as fields. Call once per process,
 * before any worker or native connection is created.
 */
export function installTemporalRuntime(
  logger: Logger,
  level: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' = 'INFO',
  /** host:port where the SDK's core serves its Prometheus metrics (workflow/activity task latencies, slots, polls…). */
  metricsBindAddress?: string,
): void {
  if (installed) return;
  installed = true;
  const temporalLogger = logger.child({ subsystem: 'temporal' });
  const write = (entry: LogEntry) => {
    const { message, meta } = entry;
    const fields = { ...(meta ?? {}) } as Record<string, unknown>;
    switch (entry.level) {
      case 'TRACE': return temporalLogger.trace(fields, message);
      case 'DEBUG': return temporalLogger.debug(fields, message);
      case 'INFO': return temporalLogger.info(fields, message);
      case 'WARN': return temporalLogger.warn(fields, message);
      default: return temporalLogger.error(fields, message);
    }
  };
  // The SDK creates a default runtime on first use; after that, logs keep their default route.
  try {
    Runtime.install({
      logger: new DefaultLogger(level, write),
      telemetryOptions: {
        logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
        ...(metricsBindAddress
          ? { metrics: { prometheus: { bindAddress: metricsBindAddress, countersTotalSuffix: true, useSecondsForDurations: true } } }
          : {}),
      },
    });
  } catch (e) {
    logger.debug({ err: (e as Error).message }, 'Temporal runtime already installed');
  }
}
