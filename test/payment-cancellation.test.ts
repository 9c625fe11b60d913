import type { Duration } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { PosPaymentStatus, TerminalPayment } from '../domain/payment';
import { startTimeSkippingTemporal } from '../lib/temporal-env';
import { orderSavedInBitrixSignal, paymentReceivedSignal, posPaymentWorkflow, resolveUpdate, statusQuery } from '../workflows/pos-payment';
import { FISCAL, fakeWorld, type FakeWorld } from './support/fake-activities';
import { withFakeWorkers } from './support/workflow-env';

// Cancellation in Bitrix: before payment the workflow stops cleanly; after payment it is never ignored.
describe('order cancelled in Bitrix', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await startTimeSkippingTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  let n = 0;
  const start = (world: FakeWorld) =>
    env.client.workflow.start(posPaymentWorkflow, { workflowId: `pos-payment:cancel-${++n}`, taskQueue: 'pos-workflows', args: [{ orderId: world.order.id, trigger: 'api' }] });
  const waitFor = async (handle: { query: (q: typeof statusQuery) => Promise<PosPaymentStatus> }, stage: string, step: Duration = '1s') => {
    for (let i = 0; i < 100; i++) {
      const s = await handle.query(statusQuery);
      if (s.stage === stage) return s;
      await env.sleep(step);
    }
    throw new Error(`stage ${stage} not reached`);
  };
  const payment: TerminalPayment = {
    receiptId: 'r-c', terminalKind: 'evotor', terminalStoreId: 'E1', deviceId: 'D1', amount: 100_00, currency: 'RUB',
    paidAt: '2026-11-29T10:00:00.000Z', paymentSource: 'PAY_CARD', orderId: '500',
  };

  it('before payment: stops cleanly, nothing marked, nothing deducted', async () => {
    const world = fakeWorld();
    const result = await withFakeWorkers(env, world, async () => {
      const handle = await start(world);
      await waitFor(handle, 'AWAITING_PAYMENT');
      world.order.canceled = true;
      await handle.signal(orderSavedInBitrixSignal);
      return handle.result();
    });
    expect(result).toMatchObject({ outcome: 'CANCELLED', stage: 'CANCELLED', resolution: 'the order was cancelled in Bitrix' });
    expect(world.calls.filter((c) => ['markPaymentPaid', 'deductOrderStock', 'cancelOrder'].includes(c.name))).toEqual([]);
  });

  it('after payment: finishes the payment, then asks a person to refund', async () => {
    const world = fakeWorld({ terminalFiscal: null });
    await withFakeWorkers(env, world, async () => {
      const handle = await start(world);
      await waitFor(handle, 'AWAITING_PAYMENT');
      await handle.signal(paymentReceivedSignal, payment);
      await waitFor(handle, 'FISCALIZING');
      world.order.canceled = true;
      await handle.signal(orderSavedInBitrixSignal);
      world.terminalFiscal = FISCAL;
      const s = await waitFor(handle, 'NEEDS_ATTENTION', '10s');
      expect(s.problem).toMatchObject({ step: 'order cancelled after payment', action: expect.stringMatching(/Refund the payment at the terminal/) });
      expect(world.calls.some((c) => c.name === 'markPaymentPaid')).toBe(true);
      await handle.executeUpdate(resolveUpdate, { args: [{ note: 'refunded in cash at the pickup point' }] });
      const result = await handle.result();
      expect(result).toMatchObject({ outcome: 'RESOLVED_BY_HAND', resolution: 'refunded in cash at the pickup point' });
    });
  });
});
