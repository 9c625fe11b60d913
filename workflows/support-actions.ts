import type { UpdateDefinition } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, setHandler } from '@temporalio/workflow';

/**
 * How activities that call outside systems are retried: retryable failures for up to an hour (the workflows
 * set scheduleToCloseTimeout), then a person is asked (NEEDS_ATTENTION) rather than a silent retry loop.
 */
export const OUTSIDE_SYSTEM_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } as const;

/** What a support person asked of a stopped workflow. */
export type SupportRequest = { kind: 'retry' } | { kind: 'resolve'; note: string };

const inAttention = (stage: string): string | undefined =>
  stage === 'NEEDS_ATTENTION' ? undefined : `nothing to retry: the stage is ${stage}, not NEEDS_ATTENTION`;

/**
 * The two actions support has on every workflow that can stop in NEEDS_ATTENTION: `retry` (do the stopped
 * step again) and `resolve` (close it by hand, with a note). Each answers the workflow's state; a validator
 * refuses it, saying why, when the workflow is in no state to take it (the request is then not recorded).
 */
export function setSupportHandlers<S extends { stage: string }>(
  updates: { retry: UpdateDefinition<S, []>; resolve: UpdateDefinition<S, [{ note: string }]> },
  state: S,
  onRequest: (request: SupportRequest) => void,
  opts: {
    /** Why a retry is refused in this stage, or undefined when it is taken (default: only in NEEDS_ATTENTION). */
    retryRefusal?: (stage: string) => string | undefined;
    /** Why a resolve is refused in this stage, or undefined when it is taken (default: only in NEEDS_ATTENTION). */
    resolveRefusal?: (stage: string) => string | undefined;
  } = {},
): void {
  const retryRefusal = opts.retryRefusal ?? inAttention;
  const resolveRefusal = opts.resolveRefusal ?? ((stage: string) => (stage === 'NEEDS_ATTENTION' ? undefined : `only NEEDS_ATTENTION can be resolved by hand (the stage is ${stage})`));
  setHandler(
    updates.retry,
    () => {
      onRequest({ kind: 'retry' });
      return state;
    },
    {
      validator: () => {
        const refusal = retryRefusal(state.stage);
        if (refusal) throw new Error(refusal);
      },
    },
  );
  setHandler(
    updates.resolve,
    ({ note }) => {
      onRequest({ kind: 'resolve', note });
      return state;
    },
    {
      validator: (arg) => {
        if (!arg || typeof arg.note !== 'string' || !arg.note.trim()) throw new Error('note: a non-empty text is required');
        const refusal = resolveRefusal(state.stage);
        if (refusal) throw new Error(refusal);
      },
    },
  );
}

/**
 * A workflow's steps: each runs its activity call; a failure that retries could not fix goes to
 * `needsAttention` (which waits for a person and throws when they resolve it), then the step runs again.
 */
export function stepRunner(needsAttention: (step: string, message: string, action: string) => Promise<void>) {
  return async function step<T>(name: string, action: string, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        const cause = err.cause;
        await needsAttention(name, cause instanceof ApplicationFailure || cause instanceof Error ? cause.message : err.message, action);
      }
    }
  };
}
