import type { Duration } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTimeSkippingTemporal } from '../lib/temporal-env';
import { orderSavedInBitrixSignal, paymentReceivedSignal, resolveUpdate } from '../workflows/pos-payment';
import { FISCAL, fakeWorld, type FakeWorld } from './support/fake-activities';
import { fakePayment, startPayment, waitForStage, withFakeWorkers } from './support/workflow-env';

// Cancellation in Bitrix: before payment the workflow stops cleanly; after payment it is never ignored.
describe('order cancelled in Bitrix', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await startTimeSkippingTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  const start = (world: FakeWorld) => startPayment(env, world, 'cancel');
  const waitFor = (handle: Parameters<typeof waitForStage>[1], stage: string, step?: Duration) => waitForStage(env, handle, stage, step);
  const payment = fakePayment('r-c', 100_00);

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
