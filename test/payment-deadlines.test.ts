import type { Duration } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { PosPaymentResult, TerminalPayment } from '../domain/payment';
import { startTimeSkippingTemporal } from '../lib/temporal-env';
import { fiscalConfirmedSignal, paymentReceivedSignal, retryUpdate } from '../workflows/pos-payment';
import { FISCAL, fakeWorld, type FakeWorld } from './support/fake-activities';
import { fakePayment, startPayment, waitForStage, withFakeWorkers } from './support/workflow-env';

// Every wait has a deadline. The time-skipping test server jumps over days and minutes in milliseconds.
describe('payment workflow deadlines (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await startTimeSkippingTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  let n = 0;
  const start = (world: FakeWorld) => startPayment(env, world, world.order.id);
  const payment = (amount: number, receiptId = `r-${++n}`): TerminalPayment => fakePayment(receiptId, amount);
  /** Skips time in steps of `step` until the workflow is in `stage`. */
  const waitFor = (handle: Parameters<typeof waitForStage>[1], stage: string, step?: Duration) => waitForStage(env, handle, stage, step);

  it('cancels an unpaid order in Bitrix when the 3-day payment deadline passes', async () => {
    const world = fakeWorld();
    const result: PosPaymentResult = await withFakeWorkers(env, world, async () => {
      const handle = await start(world);
      return handle.result();
    });
    expect(result.outcome).toBe('CANCELLED');
    expect(result.stage).toBe('CANCELLED');
    const cancel = world.calls.find((c) => c.name === 'cancelOrder');
    expect(cancel?.input).toMatchObject({ orderId: '500', statusId: 'CN', reason: expect.stringMatching(/^not paid at the pickup point by /) });
    const pushed = world.calls.find((c) => c.name === 'pushOrderToTerminal')?.input as { activeTill: string };
    const awaiting = Date.parse(result.timeline.find((t) => t.stage === 'AWAITING_PAYMENT')!.at);
    const cancelled = Date.parse(result.timeline.find((t) => t.stage === 'CANCELLED')!.at);
    const threeDays = 3 * 86_400_000;
    expect(cancelled - awaiting).toBeGreaterThanOrEqual(threeDays - 1_000);
    expect(cancelled - awaiting).toBeLessThan(threeDays + 60_000);
    // The push expires by itself at the deadline.
    expect(Math.abs(Date.parse(pushed.activeTill) - (awaiting + threeDays))).toBeLessThan(1_000);
    expect(world.calls.some((c) => c.name === 'markPaymentPaid' || c.name === 'deductOrderStock')).toBe(false);
  });

  it('asks a person when only part of the order was paid by the deadline', async () => {
    const world = fakeWorld();
    await withFakeWorkers(env, world, async () => {
      const handle = await start(world);
      await waitFor(handle, 'AWAITING_PAYMENT');
      await handle.signal(paymentReceivedSignal, payment(40_00));
      const s = await waitFor(handle, 'NEEDS_ATTENTION', '1h');
      expect(s.problem?.message).toMatch(/only 40\.00 of 100\.00 RUB was paid by the deadline/);
      expect(world.calls.some((c) => c.name === 'cancelOrder')).toBe(false);
      await handle.terminate('test done');
    });
  });

  it('asks a person when the terminal receipt has no fiscal data 30 minutes after payment', async () => {
    const world = fakeWorld({ terminalFiscal: null });
    await withFakeWorkers(env, world, async () => {
      const handle = await start(world);
      await waitFor(handle, 'AWAITING_PAYMENT');
      await handle.signal(paymentReceivedSignal, payment(100_00));
      const s = await waitFor(handle, 'NEEDS_ATTENTION', '1m');
      expect(s.problem).toMatchObject({ step: 'read fiscal data', message: expect.stringMatching(/no fiscal data .* after 30 min/) });
      const fiscalEntered = s.timeline.find((t) => t.stage === 'FISCALIZING')!;
      expect(Date.parse(s.stageSince) - Date.parse(fiscalEntered.at)).toBeGreaterThanOrEqual(30 * 60_000);
      expect(world.calls.some((c) => c.name === 'markPaymentPaid')).toBe(false);
      await handle.terminate('test done');
    });
  });

  it('asks a person when 1C:Retail does not confirm the receipt in time', async () => {
    const world = fakeWorld({ fiscalMode: '1c' });
    await withFakeWorkers(env, world, async () => {
      const handle = await start(world);
      await waitFor(handle, 'AWAITING_PAYMENT');
      await handle.signal(paymentReceivedSignal, payment(100_00));
      const s = await waitFor(handle, 'NEEDS_ATTENTION', '1m');
      expect(s.problem).toMatchObject({ step: 'wait for 1C:Retail', message: expect.stringMatching(/within 30 min/) });
      await handle.terminate('test done');
    });
  });

  it('goes on when 1C:Retail confirms before the deadline', async () => {
    const world = fakeWorld({ fiscalMode: '1c' });
    const result = await withFakeWorkers(env, world, async () => {
      const handle = await start(world);
      await waitFor(handle, 'AWAITING_PAYMENT');
      await handle.signal(paymentReceivedSignal, payment(100_00));
      await waitFor(handle, 'FISCALIZING');
      await handle.signal(fiscalConfirmedSignal, { ...FISCAL, source: '1c' });
      return handle.result();
    });
    expect(result).toMatchObject({ outcome: 'COMPLETED', fiscal: { source: '1c', fnNumber: FISCAL.fnNumber } });
  });

  it('asks a person when ATOL has not processed the receipt 30 minutes later', async () => {
    const world = fakeWorld({ fiscalMode: 'atol', atolReports: [{ status: 'wait' }] });
    await withFakeWorkers(env, world, async () => {
      const handle = await start(world);
      await waitFor(handle, 'AWAITING_PAYMENT');
      await handle.signal(paymentReceivedSignal, payment(100_00));
      const s = await waitFor(handle, 'NEEDS_ATTENTION', '1m');
      expect(s.problem).toMatchObject({ step: 'read ATOL report', message: expect.stringMatching(/has not processed receipt pos-500-sell/) });
      const polls = world.calls.filter((c) => c.name === 'getAtolReport').length;
      // Backoff from 2 s doubling to 1 min over 30 min: a bounded number of polls, not one a second.
      expect(polls).toBeGreaterThan(5);
      expect(polls).toBeLessThan(60);
      await handle.terminate('test done');
    });
  });

  it('shows ATOL\'s error when the register fails the receipt; a retry sends a new receipt', async () => {
    const world = fakeWorld({
      fiscalMode: 'atol',
      atolReports: [{ status: 'fail', error: 'Неверный тип НДС (code 13, driver)' }, { status: 'done', fiscal: { ...FISCAL, source: 'atol' } }],
    });
    const result = await withFakeWorkers(env, world, async () => {
      const handle = await start(world);
      await waitFor(handle, 'AWAITING_PAYMENT');
      await handle.signal(paymentReceivedSignal, payment(100_00));
      const s = await waitFor(handle, 'NEEDS_ATTENTION');
      expect(s.problem).toMatchObject({ step: 'ATOL receipt', message: 'ATOL failed receipt pos-500-sell: Неверный тип НДС (code 13, driver)' });
      await handle.executeUpdate(retryUpdate);
      return handle.result();
    });
    expect(result).toMatchObject({ outcome: 'COMPLETED', fiscal: { source: 'atol' } });
    const sent = world.calls.filter((c) => c.name === 'registerAtolSell').map((c) => (c.input as { externalId: string }).externalId);
    expect(sent).toEqual(['pos-500-sell', 'pos-500-sell-2']);
  });
});
