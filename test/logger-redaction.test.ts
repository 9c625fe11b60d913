import { Writable } from 'node:stream';
import { buildLogger, redactUrl } from '../lib/logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, logger: buildLogger({ level: 'info' }, stream) };
}

describe('logs: one JSON line per event, secrets and personal data redacted', () => {
  it('redacts tokens, passwords and contacts at any of the first three levels', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        orderId: '42',
        token: 'tok-1',
        atol: { login: 'shop-login', password: 'pw-2' },
        body: { auth: { application_token: 'app-3' } },
        receipt: { client: { email: 'buyer@example.ru', phone: '+79990001122' } },
        headers: { authorization: 'Bearer tok-4' },
      },
      'something happened',
    );
    const text = JSON.stringify(lines);
    for (const secret of ['tok-1', 'shop-login', 'pw-2', 'app-3', 'buyer@example.ru', '+79990001122', 'tok-4']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'something happened', orderId: '42', token: '[redacted]' });
    expect(typeof lines[0].time).toBe('string');
  });

  it("drops activity task tokens, which the SDK's activity log attributes carry (a token completes the activity)", () => {
    const { lines, logger } = capture();
    // The shape of @temporalio/worker's activity log attributes (activity.js: taskToken: info.base64TaskToken).
    logger.warn({ activityId: '7', activityType: 'markPaymentPaid', taskToken: 'CiQ0NWQ5tok', attempt: 2, nested: { base64TaskToken: 'CiQ0NWQ5tok2' } }, 'Activity failed');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('CiQ0NWQ5tok');
    expect(lines[0]).toMatchObject({ activityId: '7', activityType: 'markPaymentPaid', attempt: 2, taskToken: '[redacted]' });
  });

  it('keeps only the host of a Bitrix inbound-webhook URL', () => {
    expect(redactUrl('https://shop.bitrix24.ru/rest/1/abcdef123456/sale.order.get.json')).toBe('https://shop.bitrix24.ru/rest/***/***/sale.order.get.json');
  });
});
