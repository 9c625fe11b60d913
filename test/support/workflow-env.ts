import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { TASK_QUEUES } from '../../domain/payment';
import { fakeActivities, type FakeWorld } from './fake-activities';

/** Runs `fn` while workers for every task queue serve the workflows with the fakes of `world`. */
export async function withFakeWorkers<T>(env: TestWorkflowEnvironment, world: FakeWorld, fn: () => Promise<T>): Promise<T> {
  const bundle = process.env.TEST_WORKFLOW_BUNDLE;
  if (!bundle) throw new Error('run tests through jest: test/global-setup.ts builds the workflow bundle');
  const fakes = fakeActivities(world);
  const common = { connection: env.nativeConnection, namespace: env.namespace ?? 'default' };
  const workers = await Promise.all([
    Worker.create({ ...common, taskQueue: TASK_QUEUES.workflows, workflowBundle: { codePath: bundle }, activities: fakes.temporal }),
    Worker.create({ ...common, taskQueue: TASK_QUEUES.deductions, workflowBundle: { codePath: bundle } }),
    Worker.create({ ...common, taskQueue: TASK_QUEUES.bitrix, activities: fakes.bitrix }),
    Worker.create({ ...common, taskQueue: TASK_QUEUES.evotor, activities: fakes.evotor }),
    Worker.create({ ...common, taskQueue: TASK_QUEUES.fiscal, activities: fakes.fiscal }),
  ]);
  const [first, ...rest] = workers;
  // runUntil runs the other workers for exactly as long as fn takes.
  return first.runUntil(async () => {
    const running = rest.map((w) => w.run());
    try {
      return await fn();
    } finally {
      for (const w of rest) w.shutdown();
      await Promise.all(running);
    }
  });
}
