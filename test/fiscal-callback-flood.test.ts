import { cloudSellExternalId, orderIdOfCloudSellExternalId } from '../domain/fiscal';
import { MAX_FISCAL_HINTS } from '../workflows/pos-payment';
import { mapLimit } from '../intake/walk-ins';
import { postJson } from './support/http';
import { GRINDER, payOrderAtTerminal, waitForOrderStage } from './support/refunds';
import { startTestStack, type TestStack } from './support/stack';

// The cloud registers' callbacks are unsigned: anyone can call them, as often as they like. They may only
// hint, and must never grow an order's history beyond a few events nor block its genuine payment.
describe('fiscal callback doors under a flood', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // ATOL takes 6 s to process a receipt: long enough to flood the order while it waits for the report.
    stack = await startTestStack({ fiscalProcessingDelayMs: 6_000 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const flood = (orderId: number | string, calls: number) =>
    mapLimit(Array.from({ length: calls }, (_, i) => i), 40, async (i) => {
      const res =
        i % 4 === 3
          ? await postJson(`${stack.apiUrl}/webhooks/ferma/callback?invoiceId=${cloudSellExternalId(String(orderId), 1)}`, { Id: `f-${i}` })
          : await postJson(`${stack.apiUrl}/webhooks/atol/callback`, { uuid: `u-${i}`, external_id: cloudSellExternalId(String(orderId), 1), status: 'done' });
      return res;
    });
  const historyOf = async (orderId: number) => (await stack.client.workflow.getHandle(`pos-payment:${orderId}`).fetchHistory()).events ?? [];
  const hintUpdates = (events: Awaited<ReturnType<typeof historyOf>>) =>
    events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'fiscalReportHint').length;

  it('reads back only canonical order ids from the external ids we make', () => {
    expect(orderIdOfCloudSellExternalId(cloudSellExternalId('236', 1))).toBe('236');
    expect(orderIdOfCloudSellExternalId(cloudSellExternalId('236', 3))).toBe('236');
    expect(orderIdOfCloudSellExternalId('pos-0236-sell')).toBeUndefined();
    expect(orderIdOfCloudSellExternalId('pos-236-refund')).toBeUndefined();
    expect(orderIdOfCloudSellExternalId(`pos-${'9'.repeat(2000)}-sell`)).toBeUndefined();
  });

  it('adds nothing to an order awaiting payment, however often it is called; the genuine payment goes through', async () => {
    const { order } = await payOrderAtTerminal(stack, 'ekb', [{ product: GRINDER, quantity: 1 }], {
      until: 'none',
      beforePay: async ({ id: orderId }) => {
        const before = (await historyOf(orderId)).length;
        const answers = await flood(orderId, 3_000);
        expect(answers.every((a) => a.status === 200)).toBe(true);
        expect(answers.filter((a) => (a.body as { status?: string }).status === 'accepted')).toHaveLength(0);
        expect((await historyOf(orderId)).length).toBe(before);
      },
    });
    const done = await waitForOrderStage(stack, order.id, 'COMPLETED', 60_000);
    expect(done.fiscal?.source).toBe('atol');
    expect(done.payments).toHaveLength(1);
  });

  it('takes at most a few hints while the report is awaited', async () => {
    const { order } = await payOrderAtTerminal(stack, 'ekb', [{ product: GRINDER, quantity: 1 }], { until: 'FISCALIZING' });
    const answers = await flood(order.id, 2_000);
    const accepted = answers.filter((a) => (a.body as { status?: string }).status === 'accepted').length;
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(accepted).toBeLessThanOrEqual(MAX_FISCAL_HINTS);
    await waitForOrderStage(stack, order.id, 'COMPLETED', 60_000);
    const events = await historyOf(order.id);
    expect(hintUpdates(events)).toBe(accepted);
    expect(hintUpdates(events)).toBeLessThanOrEqual(MAX_FISCAL_HINTS);
    // Without the bound, 2,000 hints would each have added an event and a poll.
    expect(events.length).toBeLessThan(250);
  });
});
