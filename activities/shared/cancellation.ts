import { Context } from '@temporalio/activity';

/**
 * The running activity's cancellation signal (the workflow cancelled it, its heartbeat timed out, or the
 * worker is shutting down and its grace time is over); undefined outside an activity (tests, the API).
 */
export function activityCancellation(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** `signal` that also aborts when the running activity is cancelled. */
export function withActivityCancellation(signal?: AbortSignal): AbortSignal | undefined {
  const cancelled = activityCancellation();
  if (!cancelled) return signal;
  return signal ? AbortSignal.any([signal, cancelled]) : cancelled;
}

/** When the activity was cancelled, the cancellation itself (so the activity ends as cancelled, at once). */
export function throwIfActivityCancelled(): void {
  const cancelled = activityCancellation();
  if (cancelled?.aborted) throw cancelled.reason;
}
