import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTimeSkippingTemporal } from '../lib/temporal-env';
import { paymentReceivedSignal, posPaymentWorkflow } from '../workflows/pos-payment';
import { terminalReceiptQuery } from '../workflows/terminal-receipt';
import { fakeWorld } from './support/fake-activities';
import { fakePayment, waitForStage, withFakeWorkers } from './support/workflow-env';
import { TASK_QUEUES } from '../domain/workflow-ids';

// An order is paid only through the store it belongs to. The doors refuse another store's payment when the
// order's store is known; a payment that reaches the workflow before it knows its store is refused there.
describe('payments through another store', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await startTimeSkippingTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('are not counted, whether they come before or after the order is loaded, and each is held for a person', async () => {
    const world = fakeWorld();
    // The fake order belongs to store msk-1, whose Evotor store is E1.
    const before = { ...fakePayment('r-foreign-1', 100_00), terminalStoreId: 'E2' };
    const after = { ...fakePayment('r-foreign-2', 100_00), terminalStoreId: 'E2' };
    const genuine = fakePayment('r-own', 100_00);
    await withFakeWorkers(env, world, async () => {
      const handle = await env.client.workflow.signalWithStart(posPaymentWorkflow, {
        workflowId: 'pos-payment:store-scope-1',
        taskQueue: TASK_QUEUES.workflows,
        args: [{ orderId: world.order.id, trigger: 'terminal-receipt' }],
        signal: paymentReceivedSignal,
        signalArgs: [before],
      });
      let s = await waitForStage(env, handle, 'AWAITING_PAYMENT');
      expect(s.paidAmount).toBe(0);
      await handle.signal(paymentReceivedSignal, after);
      for (let i = 0; i < 50 && (s.foreignPayments?.length ?? 0) < 2; i++) {
        await env.sleep('1s');
        s = await waitForStage(env, handle, 'AWAITING_PAYMENT');
      }
      expect(s.foreignPayments?.map((p) => p.receiptId)).toEqual(['r-foreign-1', 'r-foreign-2']);
      expect(s.paidAmount).toBe(0);
      for (const receipt of ['r-foreign-1', 'r-foreign-2']) {
        const held = env.client.workflow.getHandle(`terminal-receipt:E2:${receipt}`);
        let state = await held.query(terminalReceiptQuery).catch(() => undefined);
        for (let i = 0; i < 50 && state?.stage !== 'NEEDS_ATTENTION'; i++) {
          await env.sleep('1s');
          state = await held.query(terminalReceiptQuery).catch(() => undefined);
        }
        expect(state?.stage).toBe('NEEDS_ATTENTION');
        expect(state?.reason).toContain('belongs to store msk-1');
      }
      expect(world.calls.filter((c) => c.name === 'markPaymentPaid')).toEqual([]);
      await handle.signal(paymentReceivedSignal, genuine);
      const result = await handle.result();
      expect(result.outcome).toBe('COMPLETED');
      expect(result.payments.map((p) => p.receiptId)).toEqual(['r-own']);
      expect(world.calls.filter((c) => c.name === 'markPaymentPaid').map((c) => (c.input as { receiptIds: string[] }).receiptIds)).toEqual([['r-own']]);
    });
  });
});
