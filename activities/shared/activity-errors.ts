import { ApplicationFailure } from '@temporalio/activity';
import { ExternalServiceError } from './errors';

/**
 * Turns an outside system's error into what Temporal understands: a non-retryable ApplicationFailure
 * when a retry cannot help (so the workflow can ask a person at once), a retryable one with the
 * system's own retry hint otherwise. The failure type names system and code for support.
 */
export function toActivityFailure(e: unknown): unknown {
  if (!(e instanceof ExternalServiceError)) return e;
  const type = `${e.system}:${e.code}`;
  if (!e.retryable) return ApplicationFailure.nonRetryable(e.message, type);
  return ApplicationFailure.create({
    message: e.message,
    type,
    nonRetryable: false,
    nextRetryDelay: e.retryAfterMs,
  });
}

/** Wraps every function of an activities object so that outside-system errors are classified. */
export function classifyErrors<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (e) {
        throw toActivityFailure(e);
      }
    };
  }
  return wrapped as T;
}

/**
 * Builds a fiscal receipt from the order. An order that cannot make a valid one (no buyer contact, bad VAT,
 * a refund line it does not have) will not get better with retries: a person must fix it.
 */
export function buildReceipt<T>(what: string, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof ApplicationFailure) throw e;
    throw ApplicationFailure.nonRetryable(`cannot build the ${what}: ${(e as Error).message}`, 'receipt');
  }
}

/** Where a cloud register calls us back (`PUBLIC_BASE_URL` + path); undefined when no public URL is set. */
export function callbackUrlOf(baseUrl: string | undefined, path: string): string | undefined {
  return baseUrl ? `${baseUrl.replace(/\/$/, '')}${path}` : undefined;
}
