import type { Duration } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTimeSkippingTemporal } from '../lib/temporal-env';
import { cancellationStatusQuery, resolveCancellationUpdate } from '../workflows/order-cancellation';
import { orderSavedInBitrixSignal, paymentReceivedSignal } from '../workflows/pos-payment';
import { FISCAL, fakeWorld, type FakeWorld } from './support/fake-activities';
import { fakePayment, startPayment, waitForStage, withFakeWorkers } from './support/workflow-env';

// Cancellation in Bitrix: before payment the workflow stops cleanly; after payment the money is asked back at the terminal.
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

  it('after payment: stops before the next step and asks the terminal for the refund; a person can close it by hand', async () => {
    const world = fakeWorld({ terminalFiscal: null });
    await withFakeWorkers(env, world, async () => {
      const handle = await start(world);
      await waitFor(handle, 'AWAITING_PAYMENT');
      await handle.signal(paymentReceivedSignal, payment);
      await waitFor(handle, 'FISCALIZING');
      world.order.canceled = true;
      await handle.signal(orderSavedInBitrixSignal);
      world.terminalFiscal = FISCAL;
      const s = await waitFor(handle, 'AWAITING_REFUND', '10s');
      expect(s.waitingFor).toMatch(/^the refund of 100\.00 at the terminal/);
      // The steps after the cancellation are never started; the refund's own workflow reverses what was done.
      expect(world.calls.filter((c) => ['markPaymentPaid', 'deductOrderStock'].includes(c.name))).toEqual([]);
      const cancellation = env.client.workflow.getHandle('order-cancellation:500');
      for (let i = 0; i < 100 && (await cancellation.query(cancellationStatusQuery).catch(() => undefined))?.deadline === undefined; i++) await env.sleep('1s');
      await cancellation.executeUpdate(resolveCancellationUpdate, { args: [{ note: 'refunded in cash at the pickup point' }] });
      const result = await handle.result();
      expect(result).toMatchObject({ outcome: 'RESOLVED_BY_HAND', resolution: 'refunded in cash at the pickup point' });
    });
  });
});
