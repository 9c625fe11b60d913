import type { Duration } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { type PosPaymentStatus, type TerminalPayment } from '../../domain/payment';
import { posPaymentWorkflow, statusQuery } from '../../workflows/pos-payment';
import { fakeActivities, type FakeWorld } from './fake-activities';
import { TASK_QUEUES } from '../../domain/workflow-ids';

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

/** Starts a payment workflow for the fake world's order under a fresh id. */
export function startPayment(env: TestWorkflowEnvironment, world: { order: { id: string } }, idPrefix: string) {
  return env.client.workflow.start(posPaymentWorkflow, {
    workflowId: `pos-payment:${idPrefix}-${++started}`,
    taskQueue: TASK_QUEUES.workflows,
    args: [{ orderId: world.order.id, trigger: 'api' }],
  });
}
let started = 0;

/** Skips time in steps of `step` until the payment workflow is in `stage`. */
export async function waitForStage(
  env: TestWorkflowEnvironment,
  handle: { query: (q: typeof statusQuery) => Promise<PosPaymentStatus> },
  stage: string,
  step: Duration = '1s',
): Promise<PosPaymentStatus> {
  for (let i = 0; i < 200; i++) {
    const s = await handle.query(statusQuery);
    if (s.stage === stage) return s;
    await env.sleep(step);
  }
  throw new Error(`stage ${stage} not reached`);
}

/** A terminal payment of the fake order. */
export function fakePayment(receiptId: string, amount: number): TerminalPayment {
  return {
    receiptId, terminalKind: 'evotor', terminalStoreId: 'E1', deviceId: 'D1', amount, currency: 'RUB',
    paidAt: '2026-11-29T10:00:00.000Z', paymentSource: 'PAY_CARD', orderId: '500',
  };
}
