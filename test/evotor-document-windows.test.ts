import { EvotorCloudClient, documentClosedAtMs } from '../activities/evotor/client';
import { parseEvotorDate } from '../activities/evotor/documents';
import { startEvotorSimulator, type EvotorSimulator } from '../simulators/evotor/simulator';
import { silentLogger } from './fixtures/evotor/support';

/**
 * Documents are found by close_date, exactly: a receipt uploaded late keeps its old close_date and is
 * only found by a window that covers that date — which is why reconciliation must use overlapping windows.
 */

const TOKEN = 'sim-cloud-token';
const STORE = 'S-1';
const DEVICE = 'D-1';
const HOUR = 3_600_000;
let sim: EvotorSimulator;
let client: EvotorCloudClient;

beforeAll(async () => {
  sim = await startEvotorSimulator({ token: TOKEN, pageSize: 2, stores: [{ id: STORE }], devices: [{ id: DEVICE, storeId: STORE }], logger: silentLogger });
  client = new EvotorCloudClient({ apiUrl: sim.url, token: TOKEN, logger: silentLogger });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const sale = (at: number, name = 'Товар') => sim.sell(DEVICE, { items: [{ name, price: '10.00', quantity: 1 }], at });
const sells = (q: { since?: number; until?: number }) => client.listDocuments(STORE, { ...q, types: ['SELL'] }).then((d) => d.map((x) => x.id));

test('since is inclusive, until exclusive, on close_date', async () => {
  const t0 = Date.now() - 10 * HOUR;
  const a = sale(t0).id;
  const b = sale(t0 + HOUR).id;
  const c = sale(t0 + 2 * HOUR).id;
  expect(await sells({ since: t0, until: t0 + 2 * HOUR })).toEqual([a, b]);
  expect(await sells({ since: t0 + 1, until: t0 + 2 * HOUR + 1 })).toEqual([b, c]);
  expect(await sells({ since: t0 + HOUR })).toEqual([b, c]);
  expect(await sells({ until: t0 + 1 })).toEqual([a]);
});

test('a late upload keeps its old close_date and shows only in a window that covers it', async () => {
  const now = Date.now();
  sim.setOffline(DEVICE);
  const late = sale(now - 2 * HOUR, 'продано офлайн').id;
  sale(now - 90 * 60_000, 'тоже офлайн');
  expect(await sells({ since: now - 3 * HOUR })).toEqual([]);

  const uploadedAt = Date.now();
  expect(sim.setOnline(DEVICE).uploaded).toBe(2);

  const doc = (await client.getDocument(STORE, late))!;
  expect(documentClosedAtMs(doc)).toBe(now - 2 * HOUR);
  expect(parseEvotorDate(doc.created_at!)).toBeGreaterThanOrEqual(uploadedAt);

  // A poll of "what came since my last poll" by close_date misses it...
  expect(await sells({ since: now - HOUR })).toEqual([]);
  // ...an overlapping window that reaches back far enough finds it.
  expect(await sells({ since: now - 3 * HOUR })).toContain(late);
});

test('a document landing behind a cursor mid-iteration is not in that pass, but the next overlapping pass has it', async () => {
  const t0 = Date.now() - 5 * HOUR;
  for (let i = 0; i < 4; i++) sale(t0 + (i + 1) * HOUR);
  const seen: string[] = [];
  let late = '';
  for await (const d of client.iterateDocuments(STORE, { since: t0, types: ['SELL'] })) {
    seen.push(d.id);
    if (seen.length === 2) {
      sim.setOffline(DEVICE);
      late = sale(t0 + 30 * 60_000, 'запоздавший').id;
      sim.setOnline(DEVICE);
    }
  }
  expect(seen).toHaveLength(4);
  expect(seen).not.toContain(late);
  expect(await sells({ since: t0 })).toContain(late);
});
