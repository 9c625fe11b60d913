import type { Browser, Locator } from 'playwright-core';
import type { PosPaymentStatus } from '../domain/payment';
import { statusQuery } from '../workflows/pos-payment';
import { launchChromium, saveScreenshot } from './support/browser';
import { postJson } from './support/http';
import { eventually, MSK_DEVICE, startTestStack, type TestStack } from './support/stack';

// What support does (README, Operations guide): open the Temporal Web UI, paste the filter
// `PosStage = "NEEDS_ATTENTION"` into the search box, find the order, open it and read what went wrong.
// Real browser (system Chromium through playwright-core) against the Web UI of the tests' Temporal server.
describe('the Temporal Web UI shows an order that needs attention', () => {
  const NEEDS_ATTENTION_QUERY = 'PosStage = "NEEDS_ATTENTION"';
  const UNKNOWN_ORDER_ID = '31337042'; // distinctive: no order of the Bitrix simulator has it
  const stuckId = `pos-payment:${UNKNOWN_ORDER_ID}`;
  let stack: TestStack;
  let browser: Browser | undefined;

  beforeAll(async () => {
    // The browser first: a machine without Chromium fails here at once, with the install command.
    browser = await launchChromium();
    stack = await startTestStack();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function stageOf(workflowId: string): Promise<PosPaymentStatus['stage']> {
    const status: PosPaymentStatus = await stack.client.workflow.getHandle(workflowId).query(statusQuery);
    return status.stage;
  }

  async function indexed(query: string, what: string): Promise<void> {
    await eventually(async () => ((await stack.client.workflow.count(query)).count === 1 ? true : undefined), what);
  }

  it('finds the order with the PosStage filter typed into the search box and shows its current details', async () => {
    // A receipt for an order Bitrix does not know, through the public Evotor door → NEEDS_ATTENTION.
    const res = await postJson(
      `${stack.apiUrl}/webhooks/evotor/receipts`,
      {
        id: 'web-ui-evt-1',
        timestamp: 1764400000000,
        userId: '01-000000000000001',
        type: 'ReceiptCreated',
        version: 2,
        data: {
          id: 'web-ui-receipt-1',
          deviceId: MSK_DEVICE,
          storeId: stack.config.stores[0].evotorStoreId,
          dateTime: '2026-11-29T10:15:00.000+0000',
          type: 'SELL',
          paymentSource: 'PAY_CARD',
          items: [{ id: '101', name: 'Кофемолка', quantity: 1, price: 2490, sumPrice: 2490 }],
          totalAmount: 2490,
          extras: { bitrixOrderId: UNKNOWN_ORDER_ID },
        },
      },
      { authorization: `Bearer ${stack.evotorWebhookToken}` },
    );
    expect(res).toEqual({ status: 200, body: { status: 'accepted', workflowId: stuckId } });

    // An ordinary order the filter must leave out: placed in Bitrix, pushed, AWAITING_PAYMENT.
    const order = stack.bitrix.createOrder({
      statusId: 'N',
      basket: [{ productId: 101, name: 'Кофемолка ручная', price: '2490.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: 1, quantity: 1 }] }],
      payments: [{ paySystemId: 10 }],
    });
    const awaitingId = `pos-payment:${order.id}`;

    await eventually(async () => ((await stageOf(stuckId)) === 'NEEDS_ATTENTION' ? true : undefined), `${stuckId} in NEEDS_ATTENTION`);
    await eventually(async () => ((await stageOf(awaitingId)) === 'AWAITING_PAYMENT' ? true : undefined), `${awaitingId} in AWAITING_PAYMENT`);
    // Visibility is indexed a moment after the workflow moves; the UI lists from the same index.
    await indexed(`${NEEDS_ATTENTION_QUERY} AND PosOrderId = "${UNKNOWN_ORDER_ID}"`, 'the stuck order in the visibility index');
    await indexed(`PosStage = "AWAITING_PAYMENT" AND PosOrderId = "${order.id}"`, 'the awaiting order in the visibility index');

    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(10_000);
    const uiUrl = process.env.TEST_TEMPORAL_UI_URL;
    if (!uiUrl) throw new Error('TEST_TEMPORAL_UI_URL is not set: run the tests through jest (test/global-setup.ts)');

    // The namespace's workflow list, unfiltered: both orders are there.
    await page.goto(`${uiUrl}/namespaces/${stack.namespace}/workflows`);
    const rows = page.getByTestId('workflows-summary-configurable-table-row');
    const rowOf = (workflowId: string): Locator => rows.filter({ has: page.getByRole('link', { name: workflowId, exact: true }) });
    await rowOf(stuckId).waitFor();
    await rowOf(awaitingId).waitFor();

    // The filter, typed into the raw query box (the "</>" toggle shows it) and searched.
    const searchBox = page.getByTestId('workflow-manual-search-input');
    if (!(await searchBox.isVisible())) await page.getByTestId('toggle-manual-query').click();
    await searchBox.fill(NEEDS_ATTENTION_QUERY);
    await page.getByTestId('workflow-manual-search-button').click();
    await page.waitForURL((url) => url.searchParams.get('query') === NEEDS_ATTENTION_QUERY);
    await rowOf(awaitingId).waitFor({ state: 'detached' });
    await rowOf(stuckId).waitFor();

    expect(await rowOf(stuckId).count()).toBe(1);
    expect(await rowOf(awaitingId).count()).toBe(0);
    expect(await rows.count()).toBe(1); // nothing else in this namespace needs attention
    expect((await page.getByTestId('workflow-count').innerText()).trim()).toBe('1');
    expect(await rowOf(stuckId).innerText()).toContain('posPaymentWorkflow');
    await saveScreenshot(page, 'web-ui-needs-attention-list.png');

    // Open the order; its User Metadata tab shows the summary and the workflow's current details
    // (markdown, rendered by the UI in iframes).
    await rowOf(stuckId).getByRole('link', { name: stuckId, exact: true }).click();
    await page.getByRole('heading', { name: stuckId }).waitFor();
    await page.getByTestId('user-metadata-tab').click();
    const summary = page.frameLocator('#user-metadata-summary').locator('body');
    const details = page.frameLocator('#user-metadata-current-details').locator('body');
    await summary.getByText(`POS payment of Bitrix order ${UNKNOWN_ORDER_ID}`).waitFor();
    await details.getByText('What to do:').waitFor();
    const detailsText = await details.innerText();
    expect(detailsText).toContain(`Order ${UNKNOWN_ORDER_ID} (Bitrix id ${UNKNOWN_ORDER_ID})`);
    expect(detailsText).toMatch(/Stage: NEEDS_ATTENTION since \d{4}-\d\d-\d\dT/);
    expect(detailsText).toMatch(/Problem in .load order.: order does not exist in Bitrix \(order id 31337042\)/);
    expect(detailsText).toMatch(/What to do: \S/);
    await saveScreenshot(page, 'web-ui-needs-attention.png');
    await page.close();
  }, 30_000);
});
