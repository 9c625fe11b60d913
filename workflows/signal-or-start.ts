import {
  getExternalWorkflowHandle,
  ParentClosePolicy,
  startChild,
  WorkflowIdReusePolicy,
  type ChildWorkflowOptions,
  type SignalDefinition,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { TASK_QUEUES } from '../domain/workflow-ids';

/**
 * Signals a running workflow; when none runs, starts it as an abandoned child (it outlives the caller).
 * Another caller may win the start race: then the signal goes to the run it started.
 */
export async function signalOrStart<A>(
  workflowId: string,
  signal: SignalDefinition<[A]>,
  arg: A,
  workflowType: string,
  opts: { args: unknown[]; staticSummary: string; taskQueue?: string; workflowIdReusePolicy?: WorkflowIdReusePolicy; startCarriesSignal?: boolean },
): Promise<void> {
  try {
    await getExternalWorkflowHandle(workflowId).signal(signal, arg);
    return;
  } catch {
    // Not running: start it.
  }
  try {
    const options: ChildWorkflowOptions & { args: unknown[] } = {
      workflowId,
      args: opts.args,
      taskQueue: opts.taskQueue ?? TASK_QUEUES.workflows,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: opts.workflowIdReusePolicy ?? WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      staticSummary: opts.staticSummary,
    };
    const child = await startChild(workflowType, options);
    if (!opts.startCarriesSignal) await child.signal(signal, arg);
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    await getExternalWorkflowHandle(workflowId).signal(signal, arg);
  }
}
