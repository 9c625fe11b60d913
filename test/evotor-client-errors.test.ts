import { createServer } from 'node:net';
import { EvotorCloudClient, type EvotorCloudClientOptions } from '../activities/evotor/client';
import { ExternalServiceError } from '../activities/shared/errors';
import { fixture, silentLogger, startStub, type HttpStub, type StubAnswer } from './fixtures/evotor/support';

/** How the client classifies Evotor's answers and honours its rate-limit headers. */

const STORES = fixture('stores.json');
let answers: StubAnswer[] = [];
let stub: HttpStub;

beforeAll(async () => {
  stub = await startStub(() => answers.shift() ?? { body: STORES });
});
afterAll(() => stub.close());
beforeEach(() => {
  answers = [];
});

function clientWith(opts: Partial<EvotorCloudClientOptions> = {}): EvotorCloudClient {
  return new EvotorCloudClient({ apiUrl: stub.url, token: 't', appId: 'app', logger: silentLogger, ...opts });
}

async function failure(p: Promise<unknown>): Promise<ExternalServiceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ExternalServiceError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

test.each([
  [401, false],
  [403, false],
  [400, false],
  [404, false],
  [500, true],
  [502, true],
  [503, true],
])('HTTP %i → retryable: %s', async (status, retryable) => {
  answers = [{ status, body: { code: `E${status}`, message: 'nope' } }];
  const e = await failure(clientWith().listStores());
  expect(e).toMatchObject({ system: 'evotor', httpStatus: status, retryable });
});

test('a 400 carries Evotor’s code and violations into the message', async () => {
  answers = [{ status: 400, body: { code: '2001', message: 'Validation failed', violations: [{ subject: 'devices', reason: 'size must be between 1 and 100' }] } }];
  const e = await failure(clientWith().listStores());
  expect(e.code).toBe('2001');
  expect(e.message).toContain('devices size must be between 1 and 100');
});

test('429 is retryable and carries the Retry-After hint', async () => {
  answers = [{ status: 429, headers: { 'retry-after': '2' }, body: {} }];
  const e = await failure(clientWith({ maxRateLimitWaitMs: 0 }).listStores());
  expect(e).toMatchObject({ code: 'RATE_LIMITED', retryable: true, httpStatus: 429, retryAfterMs: 2000 });
});

test('429 without Retry-After takes the hint from X-RateLimit-Reset', async () => {
  const resetAt = Math.ceil(Date.now() / 1000) + 5;
  answers = [{ status: 429, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetAt) }, body: {} }];
  const e = await failure(clientWith().listStores());
  expect(e.code).toBe('RATE_LIMITED');
  expect(e.retryAfterMs).toBeGreaterThan(3000);
  expect(e.retryAfterMs).toBeLessThanOrEqual(6000);
});

test('Remaining 0 makes the client wait until Reset before the next call', async () => {
  const c = clientWith();
  answers = [{ headers: { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1' }, body: STORES }];
  const before = stub.requests.length;
  await c.listStores();
  await c.listStores();
  const [a, b] = stub.requests.slice(before);
  expect(b!.at - a!.at).toBeGreaterThanOrEqual(900);
});

test('a reset further away than maxRateLimitWaitMs fails fast and retryably, without calling', async () => {
  const c = clientWith({ maxRateLimitWaitMs: 500 });
  answers = [{ headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 120) }, body: STORES }];
  await c.listStores();
  const before = stub.requests.length;
  const e = await failure(c.listStores());
  expect(e).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
  expect(e.retryAfterMs).toBeGreaterThan(100_000);
  expect(stub.requests.length).toBe(before);
});

test('a slow answer is a retryable TIMEOUT', async () => {
  answers = [{ delayMs: 500, body: STORES }];
  const e = await failure(clientWith({ timeoutMs: 100 }).listStores());
  expect(e).toMatchObject({ code: 'TIMEOUT', retryable: true });
});

test('an unreachable cloud is a retryable NETWORK error', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const e = await failure(new EvotorCloudClient({ apiUrl: `http://127.0.0.1:${port}`, token: 't', logger: silentLogger }).listStores());
  expect(e).toMatchObject({ code: 'NETWORK', retryable: true });
});

test('an answer that does not match the documented shape needs a person, not a retry', async () => {
  answers = [{ body: { items: [{ id: 1 }], paging: {} } }];
  const e = await failure(clientWith().listStores());
  expect(e).toMatchObject({ code: 'INVALID_RESPONSE', retryable: false });
  answers = [{ body: 'not json' }];
  expect(await failure(clientWith().listStores())).toMatchObject({ code: 'INVALID_RESPONSE', retryable: false });
});

test('money with fractions of a kopeck is refused rather than rounded', async () => {
  const doc = fixture<{ body: { sum: number } }>('cloud-sell-document.json');
  doc.body.sum = 1369.355;
  answers = [{ body: doc }];
  const e = await failure(clientWith().getDocument('s', 'd'));
  expect(e.code).toBe('INVALID_RESPONSE');
  expect(e.message).toContain('body.sum');
});

test('push calls need an app id', async () => {
  const c = new EvotorCloudClient({ apiUrl: stub.url, token: 't', logger: silentLogger });
  expect(await failure(c.sendPush({ devices: ['d'], payload: {} }))).toMatchObject({ code: 'NOT_CONFIGURED', retryable: false });
  expect(await failure(clientWith().sendPush({ devices: [], payload: {} }))).toMatchObject({ code: 'BAD_REQUEST', retryable: false });
});
