import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ALL_SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { ensureSearchAttributes } from './search-attributes-admin';
import { describeFailure, resolveTemporalBinary } from './temporal-binaries';

export interface LocalTemporalOptions {
  port?: number;
  ui?: boolean;
  uiPort?: number;
  /** SQLite file; unset = in memory. */
  dbFilename?: string;
  namespace?: string;
  /** More namespaces to create at start (each gets the search attributes too). */
  extraNamespaces?: string[];
  attempts?: number;
}

/**
 * Starts `temporal server start-dev` (with the project's search attributes registered) through
 * @temporalio/testing, using the binary found by resolveTemporalBinary, or the SDK download as last resort.
 * Retries start-up: the SDK's readiness wait is short for a slow 2-core machine.
 */
export async function startLocalTemporal(opts: LocalTemporalOptions = {}): Promise<TestWorkflowEnvironment> {
  const resolution = resolveTemporalBinary('cli');
  const executable = resolution.path
    ? ({ type: 'existing-path', path: resolution.path } as const)
    : ({ type: 'cached-download' } as const);
  const attempts = opts.attempts ?? 3;
  let lastError: unknown;
  for (let i = 1; i <= attempts; i++) {
    try {
      return await TestWorkflowEnvironment.createLocal({
        server: {
          executable,
          ip: '127.0.0.1',
          port: opts.port,
          ui: opts.ui ?? false,
          uiPort: opts.uiPort,
          dbFilename: opts.dbFilename,
          namespace: opts.namespace,
          searchAttributes: ALL_SEARCH_ATTRIBUTES,
          log: { format: 'json', level: 'warn' },
          extraArgs: [
            '--sqlite-pragma', 'journal_mode=WAL',
            ...(opts.extraNamespaces ?? []).flatMap((ns) => ['--namespace', ns]),
          ],
        },
      });
    } catch (e) {
      lastError = e;
      if (!resolution.path) break;
    }
  }
  if (!resolution.path) throw new Error(describeFailure('cli', resolution, lastError));
  throw new Error(`Temporal dev server (${resolution.path}) did not start after ${attempts} attempts: ${(lastError as Error)?.message}`);
}

export async function startTimeSkippingTemporal(): Promise<TestWorkflowEnvironment> {
  const resolution = resolveTemporalBinary('testServer');
  try {
    const env = await TestWorkflowEnvironment.createTimeSkipping({
      server: {
        executable: resolution.path ? { type: 'existing-path', path: resolution.path } : { type: 'cached-download' },
      },
    });
    await ensureSearchAttributes(env.connection, env.namespace ?? 'default');
    return env;
  } catch (e) {
    if (!resolution.path) throw new Error(describeFailure('testServer', resolution, e));
    throw e;
  }
}
