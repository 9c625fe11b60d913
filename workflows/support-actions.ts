import type { UpdateDefinition } from '@temporalio/common';
import { setHandler } from '@temporalio/workflow';

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
