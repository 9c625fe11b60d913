import { EvotorCloudClient } from '../activities/evotor/client';
import { startEvotorSimulator, type EvotorSimulator } from '../simulators/evotor/simulator';
import { http, silentLogger } from './fixtures/evotor/support';

/** The simulated cloud limits requests per window and can be made slow or failing; the client copes. */

const TOKEN = 'sim-cloud-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let sim: EvotorSimulator;

beforeAll(async () => {
  sim = await startEvotorSimulator({ token: TOKEN, rateLimit: { limit: 3, windowMs: 1000 }, logger: silentLogger });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

test('every answer carries X-RateLimit-*; over the limit comes 429 with Retry-After', async () => {
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await http('GET', `${sim.url}/stores`, { headers: auth }));
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
  expect(answers.map((a) => a.headers['x-ratelimit-remaining'])).toEqual(['2', '1', '0', '0']);
  expect(answers[0]!.headers['x-ratelimit-limit']).toBe('3');
  const reset = Number(answers[0]!.headers['x-ratelimit-reset']);
  expect(reset * 1000).toBeGreaterThanOrEqual(Date.now());
  expect(Number(answers[3]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
});

test('the client waits for the reset when Remaining hits 0, and never runs into 429', async () => {
  const client = new EvotorCloudClient({ apiUrl: sim.url, token: TOKEN, logger: silentLogger });
  const started = Date.now();
  for (let i = 0; i < 4; i++) await client.listStores();
  expect(Date.now() - started).toBeGreaterThanOrEqual(900);
});

test('injected faults: the next calls fail with 503, retryably', async () => {
  const client = new EvotorCloudClient({ apiUrl: sim.url, token: TOKEN, logger: silentLogger });
  expect((await http('POST', `${sim.url}/_admin/faults`, { body: { failNext: 1, errorStatus: 503 } })).status).toBe(200);
  await expect(client.listDevices()).rejects.toMatchObject({ httpStatus: 503, retryable: true });
  expect((await client.listDevices()).length).toBe(1);
});

test('injected latency beyond the client timeout is a retryable TIMEOUT', async () => {
  sim.setFaults({ latencyMs: 300 });
  const client = new EvotorCloudClient({ apiUrl: sim.url, token: TOKEN, timeoutMs: 100, logger: silentLogger });
  await expect(client.listStores()).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
});

test('errorRate 1 fails every call', async () => {
  sim.setFaults({ errorRate: 1, errorStatus: 500 });
  expect((await http('GET', `${sim.url}/stores`, { headers: auth })).status).toBe(500);
  expect((await http('GET', `${sim.url}/_admin/state`)).json.faults).toEqual(expect.objectContaining({ errorRate: 1 }));
});
