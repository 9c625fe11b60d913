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
