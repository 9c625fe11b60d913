import { Writable } from 'node:stream';
import { buildLogger } from '../lib/logger';
import type { PosPaymentStatus } from '../domain/payment';
import type { bitrixOrderEventsWorkflow } from '../workflows/order-events';
import { statusQuery } from '../workflows/pos-payment';
import { terminalReceiptQuery, type TerminalReceiptState } from '../workflows/terminal-receipt';
import { postForm, postJson } from './support/http';
import { eventually, startTestStack, type TestStack } from './support/stack';

// Bad input gets a clear error naming the field; what we accept is in Temporal before we answer 2xx;
// what we reject is logged with the reason, never with the secret.
describe('bad input at the webhook doors', () => {
  let stack: TestStack;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        done();
      },
    });
    stack = await startTestStack({ logger: buildLogger({ level: 'info' }, sink) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const bitrixEvent = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const goodBitrixFields = (token: string, id = '42') => ({
    event: 'ONSALEORDERSAVED',
    'data[FIELDS][ID]': id,
    ts: String(Math.floor(Date.now() / 1000)),
    'auth[domain]': 'shop.example.ru',
    'auth[member_id]': 'a1b2c3',
    'auth[application_token]': token,
  });

  describe('POST /webhooks/bitrix', () => {
    it('refuses a missing or wrong application token with 401 and logs the reason without the token', async () => {
      const { ['auth[application_token]']: _omit, ...noToken } = goodBitrixFields('x');
      const missing = await postForm(`${stack.apiUrl}/webhooks/bitrix`, bitrixEvent(noToken));
      expect(missing.status).toBe(401);
      expect(missing.body.error).toMatch(/auth\[application_token\]/);
      const wrong = await postForm(`${stack.apiUrl}/webhooks/bitrix`, bitrixEvent(goodBitrixFields('not-the-token-123')));
      expect(wrong.status).toBe(401);
      const rejected = logLines.filter((l) => l.msg === 'rejected Bitrix event');
      expect(rejected.map((l) => l.reason)).toEqual(expect.arrayContaining(['token missing', 'token mismatch']));
      expect(JSON.stringify(logLines)).not.toContain('not-the-token-123');
      expect(JSON.stringify(logLines)).not.toContain(stack.bitrixAppToken);
    });

    it('refuses a malformed event with 400 naming the field', async () => {
      const { ['data[FIELDS][ID]']: _omit, ...noId } = goodBitrixFields(stack.bitrixAppToken);
      const missingId = await postForm(`${stack.apiUrl}/webhooks/bitrix`, bitrixEvent(noId));
      expect(missingId.status).toBe(400);
      expect(missingId.body.error).toBe('data[FIELDS][ID]: required');
      const badId = await postForm(`${stack.apiUrl}/webhooks/bitrix`, bitrixEvent(goodBitrixFields(stack.bitrixAppToken, 'abc')));
      expect(badId.status).toBe(400);
      expect(badId.body.error).toBe('data[FIELDS][ID]: a Bitrix id: digits without a leading zero, at most 18');
    });

    it('accepts an event for an order Bitrix does not know, and records it in Temporal', async () => {
      const res = await postForm(`${stack.apiUrl}/webhooks/bitrix`, bitrixEvent(goodBitrixFields(stack.bitrixAppToken, '987654')));
      expect(res).toEqual({ status: 200, body: { status: 'accepted', workflowId: 'bitrix-order-events:987654' } });
      const handle = stack.client.workflow.getHandle<typeof bitrixOrderEventsWorkflow>('bitrix-order-events:987654');
      const result = await handle.result();
      expect(result.outcomes).toEqual(['order-not-found']);
    });
  });

  describe('POST /webhooks/evotor/receipts', () => {
    const receipt = (overrides: Record<string, unknown> = {}) => ({
      id: 'evt-1',
      timestamp: 1764400000000,
      userId: '01-000000000000001',
      type: 'ReceiptCreated',
      version: 2,
      data: {
        id: 'bad-input-receipt-1',
        deviceId: '20240101-0000-4000-8000-0000000000d1',
        storeId: '20240101-0000-4000-8000-000000000001',
        dateTime: '2026-11-29T10:15:00.000+0000',
        type: 'SELL',
        paymentSource: 'PAY_CARD',
        items: [{ id: '101', name: 'Кофемолка', quantity: 1, price: 2490, sumPrice: 2490 }],
        totalAmount: 2490,
        extras: { bitrixOrderId: '555555' },
        ...overrides,
      },
    });

    it('refuses a missing or wrong bearer token with 401', async () => {
      const missing = await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, receipt());
      expect(missing).toEqual({ status: 401, body: { error: 'Authorization: bearer token missing' } });
      const wrong = await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, receipt(), { authorization: 'Bearer wrong-token-456' });
      expect(wrong.status).toBe(401);
      expect(JSON.stringify(logLines)).not.toContain('wrong-token-456');
    });

    it('refuses a malformed body with 400 naming the field', async () => {
      const auth = { authorization: `Bearer ${stack.evotorWebhookToken}` };
      const noAmount = receipt();
      delete (noAmount.data as Record<string, unknown>).totalAmount;
      const res = await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, noAmount, auth);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/data\.totalAmount/);
      const badAmount = await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, receipt({ totalAmount: '12.345' }), auth);
      expect(badAmount.status).toBe(400);
      expect(badAmount.body.error).toMatch(/data\.totalAmount: more than two decimal places/);
      const notJson = await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, '{"id":', auth);
      expect(notJson).toEqual({ status: 400, body: { error: 'body: not valid JSON' } });
      expect(logLines.filter((l) => l.msg === 'rejected Evotor webhook').length).toBeGreaterThanOrEqual(3);
    });

    it('accepts a payment for an unknown order and holds it in NEEDS_ATTENTION, nothing dropped', async () => {
      const res = await postJson(`${stack.apiUrl}/webhooks/evotor/receipts`, receipt(), { authorization: `Bearer ${stack.evotorWebhookToken}` });
      expect(res).toEqual({ status: 200, body: { status: 'accepted', workflowId: 'pos-payment:555555' } });
      const held = await eventually(async () => {
        const s: PosPaymentStatus = await stack.client.workflow.getHandle('pos-payment:555555').query(statusQuery);
        return s.stage === 'NEEDS_ATTENTION' ? s : undefined;
      }, 'NEEDS_ATTENTION');
      expect(held.problem?.message).toMatch(/order does not exist in Bitrix/);
      expect(held.payments.map((p) => [p.receiptId, p.amount])).toEqual([['bad-input-receipt-1', 249000]]);
      const found = await eventually(async () => {
        const n = await stack.client.workflow.count('PosStage = "NEEDS_ATTENTION" AND PosOrderId = "555555"');
        return n.count === 1 ? n.count : undefined;
      }, 'search attributes');
      expect(found).toBe(1);
    });

    it('treats a sale that matches no order as a walk-in sale; an unknown product waits for a person', async () => {
      const res = await postJson(
        `${stack.apiUrl}/webhooks/evotor/receipts`,
        receipt({ id: 'walk-in-receipt-1', extras: {} }),
        { authorization: `Bearer ${stack.evotorWebhookToken}` },
      );
      const workflowId = 'terminal-receipt:20240101-0000-4000-8000-000000000001:walk-in-receipt-1';
      expect(res).toEqual({ status: 200, body: { status: 'accepted', workflowId } });
      const queued = await eventually(async () => {
        const s: TerminalReceiptState = await stack.client.workflow.getHandle(workflowId).query(terminalReceiptQuery);
        return s.stage === 'QUEUED_FOR_DEDUCTION' ? s : undefined;
      }, 'QUEUED_FOR_DEDUCTION');
      expect(queued).toMatchObject({ storeId: 'msk-1', stage: 'QUEUED_FOR_DEDUCTION' });
      // The item id "101" is no product of the store's Evotor catalog.
      const held = await eventually(async () => {
        try {
          const s = await stack.client.workflow.getHandle('walk-in-problem:20240101-0000-4000-8000-000000000001:walk-in-receipt-1').query<{ stage: string; reason: string }>('status');
          return s.stage === 'NEEDS_ATTENTION' ? s : undefined;
        } catch {
          return undefined;
        }
      }, 'walk-in problem');
      expect(held.reason).toMatch(/product "Кофемолка" \(terminal id 101\) has no Bitrix product id/);
    });
  });
});
