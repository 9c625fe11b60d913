import { WorkflowNotFoundError } from '@temporalio/client';
import { eventually, type TestStack } from './stack';

/**
 * What the namespace's retention does to a closed workflow: deletes it with its history. (Temporal accepts no
 * retention under a day, so tests delete.) Deletion is asynchronous on the server, and a workflow that continued
 * as new has several runs: each is deleted until none can be found.
 */
export async function deleteAsRetentionWould(stack: Pick<TestStack, 'client' | 'namespace'>, workflowId: string): Promise<void> {
  await eventually(async () => {
    try {
      const { runId } = await stack.client.workflow.getHandle(workflowId).describe();
      await stack.client.workflowService.deleteWorkflowExecution({ namespace: stack.namespace, workflowExecution: { workflowId, runId } });
      return undefined;
    } catch (e) {
      return e instanceof WorkflowNotFoundError ? true : undefined;
    }
  }, `${workflowId} deleted`, 60_000);
}
