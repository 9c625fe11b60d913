import { EvotorCloudClient } from '../activities/evotor/client';
import { ExternalServiceError } from '../activities/shared/errors';
import { startEvotorSimulator, type EvotorSimulator } from '../simulators/evotor/simulator';
import { http, silentLogger, waitFor } from './fixtures/evotor/support';

/**
 * The simulator's timeout and apply-then-lose faults, seen through the real client: a timeout applies
 * nothing, apply-then-lose applies and then cuts the answer (the case exactly-once has to survive), and
 * the faults can be scoped to a path and a method.
 */

const TOKEN = 'sim-cloud-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let sim: EvotorSimulator;
let client: EvotorCloudClient;
let deviceId: string;

beforeAll(async () => {
  sim = await startEvotorSimulator({ token: TOKEN, logger: silentLogger });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  client = new EvotorCloudClient({ apiUrl: sim.url, token: TOKEN, appId: sim.state.appId, timeoutMs: 150, logger: silentLogger });
  deviceId = sim.state.devices[0]!.id;
});

const push = (orderId = 'order-1') => client.sendPush({ devices: [deviceId], payload: { orderId } });

async function evotorError(p: Promise<unknown>): Promise<ExternalServiceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ExternalServiceError) return e;
    throw e;
  }
  throw new Error('expected an Evotor error');
}

describe('timeouts', () => {
  test('timeoutNext: the push call hangs past the client timeout, nothing is created, the next call goes through', async () => {
    sim.setFaults({ timeoutNext: 1 });
    const e = await evotorError(push());
    expect([e.system, e.code, e.retryable]).toEqual(['evotor', 'TIMEOUT', true]);
    expect(sim.state.pushes).toEqual([]);
    expect(sim.state.faultCounts).toEqual({ error: 0, timeout: 1, applyThenLose: 0 });
    expect(sim.state.faults.timeoutNext).toBe(0);

    await expect(push()).resolves.toMatchObject({ id: expect.any(String) });
    expect(sim.state.pushes).toHaveLength(1);
  });

  test('timeoutRate 1 with hangMs: a late 504 that applied nothing', async () => {
    sim.setFaults({ timeoutRate: 1, hangMs: 50 });
    const patient = new EvotorCloudClient({ apiUrl: sim.url, token: TOKEN, appId: sim.state.appId, timeoutMs: 2000, logger: silentLogger });
    const started = Date.now();
    const e = await evotorError(patient.sendPush({ devices: [deviceId], payload: { orderId: 'order-1' } }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect([e.httpStatus, e.retryable]).toEqual([504, true]);
    expect(sim.state.pushes).toEqual([]);
    await expect(patient.listStores()).rejects.toMatchObject({ httpStatus: 504 });
    expect(sim.state.faultCounts.timeout).toBe(2);
  });

  test('close() does not wait for hanging calls', async () => {
    const own = await startEvotorSimulator({ token: TOKEN, logger: silentLogger });
    own.setFaults({ timeoutRate: 1, hangMs: 60_000 });
    const pending = http('GET', `${own.url}/stores`, { headers: auth }).then(
      () => 'answered',
      () => 'cut',
    );
    await waitFor(() => own.state.faultCounts.timeout === 1);
    own.setFaults({ hangMs: 0 }); // this one would never answer
    const second = http('GET', `${own.url}/devices`, { headers: auth }).then(
      () => 'answered',
      () => 'cut',
    );
    await waitFor(() => own.state.faultCounts.timeout === 2);
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBe('cut');
    expect(await second).toBe('cut');
  });
});

describe('apply-then-lose', () => {
  test('push creation: the client sees a lost answer (retryable), yet the push exists', async () => {
    sim.setFaults({ applyThenLoseNext: 1, path: '/apps/', method: 'POST' });
    const e = await evotorError(push('order-42'));
    expect([e.code, e.retryable]).toEqual(['NETWORK', true]);
    expect(sim.state.pushes).toHaveLength(1);
    expect(sim.state.pushes[0]).toMatchObject({ payload: { orderId: 'order-42' }, details: [expect.objectContaining({ device_id: deviceId })] });
    expect(sim.state.faultCounts.applyThenLose).toBe(1);

    // A blind retry is a second push: the publisher API is not idempotent, the payload's order id has to
    // let the terminal app recognise the repeat.
    const retried = await push('order-42');
    expect(sim.state.pushes.map((p) => p.id)).toEqual([sim.state.pushes[0]!.id, retried.id]);
  });

  test('applyThenLoseRate 1 on reads: the read happens, the answer is lost', async () => {
    const created = await push();
    sim.setFaults({ applyThenLoseRate: 1, method: 'GET' });
    await expect(client.getPush(created.id)).rejects.toMatchObject({ code: 'NETWORK', retryable: true });
    await expect(client.listStores()).rejects.toMatchObject({ code: 'NETWORK', retryable: true });
    expect(sim.state.faultCounts.applyThenLose).toBe(2);
    // Writes are out of scope.
    await expect(push('order-2')).resolves.toMatchObject({ id: expect.any(String) });
  });
});

describe('scoping', () => {
  test("path '/apps/': pushes hang, the cloud REST calls are unaffected", async () => {
    sim.setFaults({ timeoutRate: 1, latencyMs: 500, path: '/apps/' });
    expect(await client.listStores()).toHaveLength(1);
    expect(await client.listDevices()).toHaveLength(1);
    expect(await client.listDocuments(sim.state.stores[0]!.id)).not.toHaveLength(0);
    await expect(push()).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(sim.state.pushes).toEqual([]);
  });

  test('path pattern with * and method POST: only push creation loses its answer, status reads are fine', async () => {
    const created = await push('order-1');
    sim.setFaults({ applyThenLoseRate: 1, path: '/apps/*/push-notifications', method: 'post' });
    await expect(client.getPush(created.id)).resolves.toMatchObject({ id: created.id });
    await expect(client.listStores()).resolves.toHaveLength(1);
    await expect(push('order-2')).rejects.toMatchObject({ code: 'NETWORK' });
    expect(sim.state.pushes).toHaveLength(2);
  });

  test('a scoped counter waits for a matching call', async () => {
    sim.setFaults({ failNext: 1, path: '/apps/' });
    await client.listStores();
    await client.listDevices();
    expect(sim.state.faults.failNext).toBe(1);
    await expect(push()).rejects.toMatchObject({ httpStatus: 503, retryable: true });
    expect(sim.state.faults.failNext).toBe(0);
  });
});

describe('admin API', () => {
  test('POST /_admin/faults sets the new options, GET /_admin/state shows them; bad values are 400', async () => {
    const set = await http('POST', `${sim.url}/_admin/faults`, {
      body: { timeoutNext: 2, hangMs: 100, applyThenLoseRate: 0.5, path: '/apps/', method: 'POST' },
    });
    expect(set.status).toBe(200);
    const state = (await http('GET', `${sim.url}/_admin/state`)).json;
    expect(state.faults).toEqual({
      latencyMs: 0,
      errorRate: 0,
      errorStatus: 503,
      failNext: 0,
      timeoutRate: 0,
      timeoutNext: 2,
      hangMs: 100,
      applyThenLoseRate: 0.5,
      applyThenLoseNext: 0,
      path: '/apps/',
      method: 'POST',
    });
    expect(state.faultCounts).toEqual({ error: 0, timeout: 0, applyThenLose: 0 });

    for (const bad of [{ applyThenLoseRate: 2 }, { timeoutNext: -1 }, { hangMs: 'soon' }, { path: 'apps' }, { method: 'P O' }, { errorStatus: 200 }]) {
      expect((await http('POST', `${sim.url}/_admin/faults`, { body: bad })).status).toBe(400);
    }
    expect(sim.state.faults).toMatchObject({ timeoutNext: 2, path: '/apps/' });

    await http('POST', `${sim.url}/_admin/faults`, { body: { path: null, method: null } });
    expect(sim.state.faults).not.toHaveProperty('path');
    expect(sim.state.faults).not.toHaveProperty('method');

    await http('POST', `${sim.url}/_admin/reset`);
    expect(sim.state.faults).toMatchObject({ timeoutNext: 0, hangMs: 0, applyThenLoseRate: 0 });
  });
});
