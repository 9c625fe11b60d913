import { EvotorCloudClient } from '../activities/evotor/client';
import { startEvotorSimulator, type EvotorSimulator } from '../simulators/evotor/simulator';
import { http, silentLogger } from './fixtures/evotor/support';

/** The simulated cloud enforces the bearer token and pages documents with cursors. */

const TOKEN = 'sim-cloud-token';
const STORE = 'S-1';
const DEVICE = 'D-1';
let sim: EvotorSimulator;
let client: EvotorCloudClient;

beforeAll(async () => {
  sim = await startEvotorSimulator({
    token: TOKEN,
    pageSize: 2,
    stores: [{ id: STORE, name: 'Пункт выдачи' }, { id: 'S-2' }],
    devices: [{ id: DEVICE, storeId: STORE }, { id: 'D-2', storeId: 'S-2' }],
    logger: silentLogger,
  });
  client = new EvotorCloudClient({ apiUrl: sim.url, token: TOKEN, appId: sim.state.appId, logger: silentLogger });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

describe('bearer token', () => {
  const paths = ['/stores', '/devices', `/stores/${STORE}/documents`, `/stores/${STORE}/documents/x`];

  test.each(paths)('GET %s without a token → 401, rate-limit headers still sent', async (path) => {
    const res = await http('GET', sim.url + path);
    expect(res.status).toBe(401);
    expect(res.headers['x-ratelimit-limit']).toBeDefined();
    expect(res.headers['x-ratelimit-remaining']).toBeDefined();
    expect(res.headers['x-ratelimit-reset']).toBeDefined();
  });

  test.each(paths)('GET %s with a wrong token → 401', async (path) => {
    expect((await http('GET', sim.url + path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  test('push endpoints need the token too', async () => {
    const appId = sim.state.appId;
    expect((await http('POST', `${sim.url}/apps/${appId}/push-notifications`, { body: { devices: [DEVICE], payload: {} } })).status).toBe(401);
    expect((await http('GET', `${sim.url}/apps/${appId}/push-notifications/x`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });

  test('the client with a wrong token gets a non-retryable error', async () => {
    const wrong = new EvotorCloudClient({ apiUrl: sim.url, token: 'wrong', logger: silentLogger });
    await expect(wrong.listStores()).rejects.toMatchObject({ system: 'evotor', httpStatus: 401, retryable: false });
  });

  test('the right token works, also in the older X-Authorization header', async () => {
    expect((await http('GET', `${sim.url}/stores`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await http('GET', `${sim.url}/stores`, { headers: { 'x-authorization': TOKEN } })).status).toBe(200);
  });
});

describe('documents paging', () => {
  function ringSales(n: number): string[] {
    const t0 = Date.now() - 60_000;
    return Array.from({ length: n }, (_, i) => sim.sell(DEVICE, { items: [{ name: `Товар ${i}`, price: '100.00', quantity: 1 }], at: t0 + i * 1000 }).id);
  }

  test('pages of pageSize with next_cursor; the last page has none', async () => {
    ringSales(5);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const first = await http('GET', `${sim.url}/stores/${STORE}/documents?types=SELL`, { headers: auth });
    expect(first.json.items).toHaveLength(2);
    expect(typeof first.json.paging.next_cursor).toBe('string');
    let page = first;
    const seen = [...first.json.items];
    while (page.json.paging.next_cursor) {
      page = await http('GET', `${sim.url}/stores/${STORE}/documents?cursor=${encodeURIComponent(page.json.paging.next_cursor)}`, { headers: auth });
      seen.push(...page.json.items);
    }
    expect(page.json.paging).toEqual({});
    expect(seen).toHaveLength(5);
  });

  test('the client collects every page, in close_date order, without duplicates', async () => {
    const ids = ringSales(7);
    const docs = await client.listDocuments(STORE, { types: ['SELL'] });
    expect(docs.map((d) => d.id)).toEqual(ids);
    const streamed: string[] = [];
    for await (const d of client.iterateDocuments(STORE, { types: ['SELL'] })) streamed.push(d.id);
    expect(streamed).toEqual(ids);
  });

  test('types filters; without types every document comes (the shift opening too)', async () => {
    sim.sell(DEVICE, { items: [{ name: 'Пакет', price: 7, quantity: 1 }] });
    expect((await client.listDocuments(STORE)).map((d) => d.type).sort()).toEqual(['OPEN_SESSION', 'SELL']);
    expect((await client.listDocuments(STORE, { types: ['OPEN_SESSION'] })).map((d) => d.type)).toEqual(['OPEN_SESSION']);
    expect(await client.listDocuments(STORE, { types: ['PAYBACK'] })).toEqual([]);
  });

  test('documents belong to their store', async () => {
    const [id] = ringSales(1);
    expect(await client.getDocument(STORE, id!)).toEqual(expect.objectContaining({ id, store_id: STORE, device_id: DEVICE }));
    expect(await client.getDocument('S-2', id!)).toBeNull();
    expect(await client.listDocuments('S-2', { types: ['SELL'] })).toEqual([]);
  });

  test('a cursor of another store, or a made-up one, is a 400', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    ringSales(3);
    const first = await http('GET', `${sim.url}/stores/${STORE}/documents?types=SELL`, { headers: auth });
    const cursor = encodeURIComponent(first.json.paging.next_cursor);
    expect((await http('GET', `${sim.url}/stores/S-2/documents?cursor=${cursor}`, { headers: auth })).status).toBe(400);
    expect((await http('GET', `${sim.url}/stores/${STORE}/documents?cursor=garbage`, { headers: auth })).status).toBe(400);
  });

  test('stores and devices are listed', async () => {
    expect((await client.listStores()).map((s) => s.id)).toEqual([STORE, 'S-2']);
    expect((await client.listDevices()).map((d) => [d.id, d.store_id])).toEqual([[DEVICE, STORE], ['D-2', 'S-2']]);
  });
});
