import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { postJson } from './support/http';
import { eventually, startTestStack, type TestStack } from './support/stack';
import { statusQuery } from '../workflows/pos-payment';

describe('explore', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack(); });
  afterAll(async () => { await stack?.stop(); });
  it('dumps', async () => {
    const t00 = Date.now();
    const res = await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, {
      id: 'evt-1', timestamp: 1764400000000, userId: '01-000000000000001', type: 'ReceiptCreated', version: 2,
      data: { id: 'webui-r-1', deviceId: '20240101-0000-4000-8000-0000000000d1', storeId: '20240101-0000-4000-8000-000000000001',
        dateTime: '2026-11-29T10:15:00.000+0000', type: 'SELL', paymentSource: 'PAY_CARD',
        items: [{ id: '101', name: 'x', quantity: 1, price: 2490, sumPrice: 2490 }], totalAmount: 2490, extras: { bitrixOrderId: '7770001' } },
    }, { authorization: `Bearer ${stack.evotorWebhookToken}` });
    console.log(res);
    const order = stack.bitrix.createOrder({
      statusId: 'N',
      basket: [{ productId: 101, name: 'Кофемолка ручная', price: '2490.00', quantity: 1, vatRate: 0.22, reservations: [{ storeId: 1, quantity: 1 }] }],
      payments: [{ paySystemId: 10 }],
    });
    await eventually(async () => ((await stack.client.workflow.getHandle('pos-payment:7770001').query(statusQuery)).stage === 'NEEDS_ATTENTION' ? true : undefined), 'NA');
    await eventually(async () => ((await stack.client.workflow.getHandle(`pos-payment:${order.id}`).query(statusQuery)).stage === 'AWAITING_PAYMENT' ? true : undefined), 'AP');
    console.log('states', Date.now() - t00);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const t0 = Date.now();
    await page.goto(`${process.env.TEST_TEMPORAL_UI_URL}/namespaces/${stack.namespace}/workflows`);
    await page.getByTestId('toggle-manual-query').click();
    await page.waitForTimeout(1000);
    const inputs = await page.locator('input:visible, textarea:visible, [contenteditable]:visible').evaluateAll((els) => els.map((e) => `${e.tagName} id=${e.id} name=${e.getAttribute('name')} testid=${e.getAttribute('data-testid')} ph=${e.getAttribute('placeholder')} aria=${e.getAttribute('aria-label')} role=${e.getAttribute('role')} class=${e.className}`));
    console.log(inputs.join('\n'));
    await page.getByTestId('workflow-manual-search-input').fill('PosStage = "NEEDS_ATTENTION"');
    await page.getByTestId('workflow-manual-search-input').press('Enter');
    await page.waitForTimeout(2000);
    console.log('url', page.url());
    console.log('rows', await page.getByTestId('workflows-summary-configurable-table-row').allInnerTexts());
    console.log('count', await page.getByTestId('workflow-count').innerText());
    await page.screenshot({ path: 'test-artifacts/list-filtered.png' });
    await page.getByRole('link', { name: 'pos-payment:7770001' }).click();
    await page.waitForTimeout(2000);
    console.log('url', page.url());
    await page.getByRole('link', { name: 'User Metadata' }).click();
    await page.waitForTimeout(2000);
    console.log('url', page.url());
    console.log('main text', await page.locator('main').innerText());
    writeFileSync('test-artifacts/meta.html', await page.content());
    await page.screenshot({ path: 'test-artifacts/meta.png', fullPage: true });
    await browser.close();
  });
});
