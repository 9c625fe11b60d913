import { Writable } from 'node:stream';
import pino from 'pino';
import { BitrixClient, toBitrixQuery } from '../activities/bitrix/client';
import { fixture, sendJson, silentLogger, startStub, type Fixture, type Stub } from './fixtures/bitrix/helpers';
import { caught } from './support/errors';

/** Serves one fixture's response to any request and keeps what the client sent. */
async function stubFor(f: Fixture): Promise<Stub> {
  return startStub((_req, res) => sendJson(res, f.response.status, f.response.body));
}

function sentParams(stub: Stub, i = 0): unknown {
  return JSON.parse(stub.requests[i]!.body);
}

describe('BitrixClient against hand-written fixtures', () => {
  let stub: Stub | undefined;
  let client: BitrixClient | undefined;
  afterEach(async () => {
    await client?.close();
    await stub?.close();
  });

  async function run<T>(name: string, call: (c: BitrixClient) => Promise<T>): Promise<{ out: T; f: Fixture }> {
    const f = fixture(name);
    stub = await stubFor(f);
    client = new BitrixClient({ restUrl: stub.restUrl, logger: silentLogger });
    const out = await call(client);
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]!.method).toBe('POST');
    expect(stub.requests[0]!.path).toBe(`/rest/7/stubsecretcode/${f.request.method}.json`);
    expect(stub.requests[0]!.contentType).toBe('application/json');
    expect(sentParams(stub)).toEqual(f.request.params);
    return { out, f };
  }

  test('getOrder maps sale.order.get to the domain: kopecks, string ids, booleans, buyer from properties', async () => {
    const { out, f } = await run('sale.order.get.json', (c) => c.getOrder('236'));
    expect(out).toEqual(f.expected);
    expect(out.id).not.toBe(out.accountNumber);
  });

  test('updatePayment sends paySystemId, Y/N and rubles; returns the payment', async () => {
    const { out, f } = await run('sale.payment.update.json', (c) =>
      c.updatePayment('123', '48', {
        paid: true,
        datePaid: '2026-03-02T12:00:00+03:00',
        psInvoiceId: 'evo-7f3a9c',
        psStatus: 'Y',
        psSum: 148000,
        psCurrency: 'RUB',
        psResponseDate: '2026-03-02T12:00:00+03:00',
      }),
    );
    expect(out).toEqual(f.expected);
  });

  test('updateShipment sends the three fields Bitrix requires', async () => {
    const { out, f } = await run('sale.shipment.update.json', (c) =>
      c.updateShipment('338', { allowDelivery: true, deducted: true, deliveryId: '1' }),
    );
    expect(out).toEqual(f.expected);
  });

  test('listStoreProducts parses numbers and numeric strings', async () => {
    const { out, f } = await run('catalog.storeproduct.list.json', (c) => c.listStoreProducts({ productId: 348 }));
    expect(out).toEqual(f.expected);
  });

  test('store documents: add, add element, conduct, list, mode status', async () => {
    expect((await run('catalog.document.add.json', (c) =>
      c.addDocument({ docType: 'D', currency: 'RUB', responsibleId: '1', title: 'POS evo-7f3a9c', commentary: 'receipts: evo-7f3a9c' }),
    )).out).toBe('64');
    await client!.close();
    await stub!.close();
    expect((await run('catalog.document.element.add.json', (c) =>
      c.addDocumentElement({ docId: '64', elementId: '348', amount: 1, storeFrom: '1' }),
    )).out).toBe('148');
    await client!.close();
    await stub!.close();
    await run('catalog.document.conduct.json', (c) => c.conductDocument('64'));
    await client!.close();
    await stub!.close();
    const listed = await run('catalog.document.list.json', (c) => c.listDocuments({ '%title': 'evo-7f3a9c' }));
    expect(listed.out).toEqual(listed.f.expected);
    await client!.close();
    await stub!.close();
    const mode = await run('catalog.document.mode.status.json', (c) => c.documentModeStatus());
    expect(mode.out).toBe(true);
  });

  test('listStatuses and listStores', async () => {
    const statuses = await run('sale.status.list.json', (c) => c.listStatuses());
    expect(statuses.out).toEqual(statuses.f.expected);
    await client!.close();
    await stub!.close();
    const stores = await run('catalog.store.list.json', (c) => c.listStores());
    expect(stores.out).toEqual(stores.f.expected);
  });

  test('batch encodes commands as method?query with PHP brackets and splits results from per-command errors', async () => {
    const f = fixture('batch.json');
    const { out } = await run('batch.json', (c) => c.batch(f.commands as never));
    expect(Object.keys(out.results)).toEqual(['doc', 'line0']);
    expect(out.errors).toEqual({ line1: { error: 'ERROR_DOCUMENT_STATUS', error_description: 'Document not found' } });
  });
});

describe('BitrixClient envelope and errors', () => {
  let stub: Stub;
  afterEach(async () => stub?.close());

  const client = (opts: Partial<ConstructorParameters<typeof BitrixClient>[0]> = {}) =>
    new BitrixClient({ restUrl: stub.restUrl, logger: silentLogger, retryBaseDelayMs: 5, ...opts });

  test.each(fixture<{ cases: { status: number; body: { error: string | number }; retryable: boolean }[] }>('error-responses.json').cases)(
    'HTTP $status $body.error → retryable $retryable',
    async ({ status, body, retryable }) => {
      stub = await startStub((_req, res) => sendJson(res, status, body));
      const c = client({ maxAttempts: 1 });
      const e = await caught(c.call('sale.order.get', { id: 1 }));
      expect(e.system).toBe('bitrix');
      expect(e.code).toBe(String(body.error));
      expect(e.retryable).toBe(retryable);
      expect(e.httpStatus).toBe(status);
      await c.close();
    },
  );

  test('total and next are passed through', async () => {
    stub = await startStub((_req, res) => sendJson(res, 200, { result: { orders: [] }, total: 120, next: 50, time: {} }));
    const c = client();
    await expect(c.call('sale.order.list')).resolves.toEqual({ result: { orders: [] }, total: 120, next: 50 });
    await c.close();
  });

  test('rate-limit answers are retried inside the client with backoff, then succeed', async () => {
    let n = 0;
    stub = await startStub((_req, res) =>
      ++n <= 2 ? sendJson(res, 503, { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' }) : sendJson(res, 200, { result: 'Y' }),
    );
    const c = client({ maxAttempts: 3 });
    await expect(c.call('catalog.document.mode.status')).resolves.toEqual({ result: 'Y' });
    expect(stub.requests).toHaveLength(3);
    await c.close();
  });

  test('rate limit that outlasts maxAttempts surfaces as retryable', async () => {
    stub = await startStub((_req, res) => sendJson(res, 503, { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' }));
    const c = client({ maxAttempts: 3 });
    const e = await caught(c.call('catalog.document.mode.status'));
    expect(e.code).toBe('QUERY_LIMIT_EXCEEDED');
    expect(e.retryable).toBe(true);
    expect(stub.requests).toHaveLength(3);
    await c.close();
  });

  test('a 5xx is not repeated inside the client: the write may have been applied', async () => {
    stub = await startStub((_req, res) => sendJson(res, 500, { error: 'INTERNAL_SERVER_ERROR', error_description: 'x' }));
    const c = client({ maxAttempts: 3 });
    expect((await caught(c.call('sale.payment.update', { id: 1 }))).retryable).toBe(true);
    expect(stub.requests).toHaveLength(1);
    await c.close();
  });

  test('a non-JSON 502 from a proxy is retryable; a 200 that is not an envelope is not', async () => {
    stub = await startStub((req, res) => {
      if (req.path.includes('a.b')) {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html>Bad gateway</html>');
      } else {
        sendJson(res, 200, { hello: 'world' });
      }
    });
    const c = client();
    const gateway = await caught(c.call('a.b'));
    expect([gateway.code, gateway.retryable]).toEqual(['HTTP_502', true]);
    const odd = await caught(c.call('c.d'));
    expect([odd.code, odd.retryable]).toEqual(['INVALID_RESPONSE', false]);
    await c.close();
  });

  test('no answer within timeoutMs → retryable TIMEOUT', async () => {
    stub = await startStub(() => undefined);
    const c = client({ timeoutMs: 150 });
    const e = await caught(c.call('sale.order.get', { id: 1 }));
    expect([e.code, e.retryable]).toEqual(['TIMEOUT', true]);
    await c.close();
  });

  test('connection dropped without an answer → retryable NETWORK', async () => {
    stub = await startStub((_req, _res, raw) => void raw.socket.destroy());
    const c = client();
    const e = await caught(c.call('sale.payment.update', { id: 1 }));
    expect([e.code, e.retryable]).toEqual(['NETWORK', true]);
    await c.close();
  });

  test('a response that does not fit the schema is a non-retryable INVALID_RESPONSE', async () => {
    const order = structuredClone(fixture('sale.order.get.json').response.body) as { result: { order: { price: unknown } } };
    order.result.order.price = '1480.005';
    stub = await startStub((_req, res) => sendJson(res, 200, order));
    const c = client();
    const e = await caught(c.getOrder('236'));
    expect([e.code, e.retryable]).toEqual(['INVALID_RESPONSE', false]);
    expect(e.message).toContain('price');
    await c.close();
  });

  test('the webhook secret never reaches the logs or error messages', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    stub = await startStub((_req, _res, raw) => void raw.socket.destroy());
    const c = client({ logger: pino({ level: 'debug' }, sink), maxAttempts: 1 });
    const e = await caught(c.call('sale.order.get', { id: 1 }));
    await c.close();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n') + e.message).not.toContain('stubsecretcode');
  });
});

describe('BitrixClient batch and pagination', () => {
  let stub: Stub;
  afterEach(async () => stub?.close());

  test('more than 50 commands is refused before sending', async () => {
    stub = await startStub((_req, res) => sendJson(res, 200, { result: {} }));
    const c = new BitrixClient({ restUrl: stub.restUrl, logger: silentLogger });
    const cmds = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`c${i}`, { method: 'sale.order.get', params: { id: i } }]));
    await expect(c.batch(cmds)).rejects.toThrow(RangeError);
    expect(stub.requests).toHaveLength(0);
    await c.close();
  });

  test('halt is sent as 1 and empty PHP maps ([]) come back as empty objects', async () => {
    stub = await startStub((_req, res) =>
      sendJson(res, 200, { result: { result: [], result_error: [], result_total: [], result_next: [], result_time: [] } }),
    );
    const c = new BitrixClient({ restUrl: stub.restUrl, logger: silentLogger });
    await expect(c.batch({ a: { method: 'sale.order.get', params: { id: 1 } } }, { halt: true })).resolves.toEqual({ results: {}, errors: {} });
    expect(JSON.parse(stub.requests[0]!.body)).toEqual({ halt: 1, cmd: { a: 'sale.order.get?id=1' } });
    await c.close();
  });

  test('listAll follows next as start until it is gone', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => i + 1);
    stub = await startStub((req, res) => {
      const start = (JSON.parse(req.body) as { start: number }).start;
      const page = ids.slice(start, start + 50).map((id) => ({ id }));
      sendJson(res, 200, { result: { orders: page }, total: ids.length, ...(start + 50 < ids.length ? { next: start + 50 } : {}) });
    });
    const c = new BitrixClient({ restUrl: stub.restUrl, logger: silentLogger });
    const all = await c.listOrders({ '>id': 0 }, ['id']);
    expect(all.map((o) => Number(o.id))).toEqual(ids);
    expect(stub.requests.map((r) => (JSON.parse(r.body) as { start: number }).start)).toEqual([0, 50, 100]);
    expect(JSON.parse(stub.requests[0]!.body)).toEqual({ select: ['id'], filter: { '>id': 0 }, order: { id: 'asc' }, start: 0 });
    await c.close();
  });
});

describe('toBitrixQuery', () => {
  test.each([
    [{ id: 236 }, 'id=236'],
    [{ fields: { docId: 1, items: [{ x: 'a b' }, { x: 'ä&=' }] } }, 'fields[docId]=1&fields[items][0][x]=a%20b&fields[items][1][x]=%C3%A4%26%3D'],
    [{ filter: { '>=id': 5, '@statusId': ['N', 'P'] } }, 'filter[%3E%3Did]=5&filter[%40statusId][0]=N&filter[%40statusId][1]=P'],
    [{ flag: true, off: false, skip: null, none: undefined }, 'flag=1&off=0'],
    [{ docId: '$result[doc][document][id]' }, 'docId=%24result%5Bdoc%5D%5Bdocument%5D%5Bid%5D'],
    [{}, ''],
  ])('%j → %s', (params, query) => {
    expect(toBitrixQuery(params)).toBe(query);
  });
});
