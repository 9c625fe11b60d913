import { BitrixClient } from '../activities/bitrix/client';
import { startBitrixSimulator, type BitrixSimulator } from '../simulators/bitrix';
import { fixture, silentLogger, startStub, type Stub } from './fixtures/bitrix/helpers';

const expectedKeys = Object.keys(fixture<{ fields: Record<string, string> }>('event.ONSALEORDERSAVED.json').fields);

describe('outbound events (ONSALEORDERSAVED and friends)', () => {
  let sim: BitrixSimulator;
  let receiver: Stub;
  let status = 200;

  beforeEach(async () => {
    status = 200;
    sim = await startBitrixSimulator({ rateLimit: null, logger: silentLogger, applicationToken: 'rest-bound-token' });
    receiver = await startStub((_req, res) => {
      res.writeHead(status);
      res.end();
    });
  });
  afterEach(async () => {
    await sim.close();
    await receiver.close();
  });

  const received = () => receiver.requests.map((r) => ({ contentType: r.contentType, form: new URLSearchParams(r.body) }));

  test('order created and saved: form-encoded, bracket keys, all strings, token included', async () => {
    sim.addEventHandler({ event: 'OnSaleOrderSaved', handler: `${receiver.origin}/bitrix/events`, applicationToken: 'tok-123' });
    const order = sim.createOrder({ xmlId: 'ext-1', basket: [{ productId: 1, name: 'x', price: 10, quantity: 1 }] });
    const client = new BitrixClient({ restUrl: sim.url, logger: silentLogger });
    await client.updateOrder(String(order.id), { comments: 'pickup' });
    await client.close();
    await sim.flushEvents();

    const events = received();
    expect(events).toHaveLength(2);
    for (const { contentType, form } of events) {
      expect(contentType).toBe('application/x-www-form-urlencoded');
      expect([...new Set(form.keys())].sort()).toEqual([...expectedKeys].sort());
      expect(form.get('event')).toBe('ONSALEORDERSAVED');
      expect(form.get('data[FIELDS][ID]')).toBe(String(order.id));
      expect(form.get('data[FIELDS][XML_ID]')).toBe('ext-1');
      expect(form.get('auth[application_token]')).toBe('tok-123');
      expect(form.get('ts')).toMatch(/^\d{10}$/);
      expect(form.get('auth[client_endpoint]')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/rest\/$/);
    }
    expect(receiver.requests[0]!.path).toBe('/bitrix/events');
  });

  test('handlers bound through event.bind get the portal token; payment saves also save the order', async () => {
    const client = new BitrixClient({ restUrl: sim.url, logger: silentLogger });
    await client.call('event.bind', { event: 'ONPAYMENTENTITYSAVED', handler: `${receiver.origin}/pay` });
    await client.call('event.bind', { event: 'ONSALEORDERSAVED', handler: `${receiver.origin}/order` });
    const order = sim.createOrder({ basket: [{ productId: 1, name: 'x', price: 10, quantity: 1 }] });
    await sim.flushEvents();
    receiver.requests.length = 0;
    await client.updatePayment(String(order.payments[0]!.id), '1', { paid: true });
    await client.close();
    await sim.flushEvents();
    const byPath = Object.fromEntries(receiver.requests.map((r) => [r.path, new URLSearchParams(r.body)]));
    expect(Object.keys(byPath).sort()).toEqual(['/order', '/pay']);
    expect(byPath['/pay']!.get('data[FIELDS][ID]')).toBe(String(order.payments[0]!.id));
    expect(byPath['/order']!.get('auth[application_token]')).toBe('rest-bound-token');
  });

  test('a failed delivery is recorded and never retried', async () => {
    status = 500;
    sim.addEventHandler({ event: 'ONSALEORDERSAVED', handler: `${receiver.origin}/down` });
    sim.addEventHandler({ event: 'ONSALEORDERSAVED', handler: 'http://127.0.0.1:1/unreachable' });
    sim.createOrder({ basket: [{ productId: 1, name: 'x', price: 10, quantity: 1 }] });
    await sim.flushEvents();
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests).toHaveLength(1);
    const deliveries = sim.eventDeliveries();
    expect(deliveries).toHaveLength(2);
    expect(deliveries.find((d) => d.handler.endsWith('/down'))).toMatchObject({ ok: false, status: 500 });
    expect(deliveries.find((d) => d.handler.endsWith('/unreachable'))).toMatchObject({ ok: false, error: expect.any(String) });
    const state = (await (await fetch(`${sim.adminUrl}/state`)).json()) as { eventDeliveries: unknown[] };
    expect(state.eventDeliveries).toHaveLength(2);
  });
});
