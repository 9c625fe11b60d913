import pino from 'pino';
import { AtolClient } from '../activities/atol/client';
import type { AtolReceiptRequest } from '../activities/atol/wire';
import { toActivityFailure } from '../activities/shared/activity-errors';
import type { ExternalServiceError } from '../activities/shared/errors';
import { atolFixture } from './fixtures/atol/fixtures';
import { caught } from './support/errors';
import { ScriptedServer } from './support/scripted-server';

/**
 * ATOL Online v5 (#12): the client works with the smallest answers the protocol allows — only the fields
 * v5 marks required, none of the ones we do not read (timestamp, error_id, group_code, external_id,
 * fns_site, ofd_inn, ofd_receipt_url) — and an answer without a field we read fails naming it, for good.
 */

const fakeatol = () =>
  new ScriptedServer('/possystem/v5', (route, r) => {
    const [method, suffix] = route.split(' ');
    return r.method === method && r.path.endsWith(suffix);
  });
const ok = (json: unknown) => ({ status: 200, json });
const UUID = '2ea26f17-0884-4f08-b120-306fc096a58f';
const REPORT = `GET /report/${UUID}`;

/** The report payload with only what v5 requires and we read. */
const minimalPayload = () => ({
  total: 2900.68,
  fn_number: '7380440700076543',
  shift_number: 23,
  receipt_datetime: '15.03.2026 12:30:05',
  fiscal_receipt_number: 6,
  fiscal_document_number: 133,
  ecr_registration_number: '0000111118041361',
  fiscal_document_attribute: 3449555941,
});

let fake: ScriptedServer;
const client = () =>
  new AtolClient({ apiUrl: fake.url, login: 'l', password: 'p', groupCode: 'g', minRequestIntervalMs: 0, timeoutMs: 2000, logger: pino({ level: 'silent' }) });

beforeEach(async () => {
  fake = fakeatol();
  await fake.start();
});
afterEach(() => fake.stop());

/** Not retryable for the client, and a non-retryable failure once an activity throws it. */
function expectPermanent(e: ExternalServiceError, field: string): void {
  expect(e).toMatchObject({ system: 'atol', code: 'BAD_RESPONSE', retryable: false });
  expect(e.message).toContain(`(field ${field})`);
  expect(toActivityFailure(e)).toMatchObject({ nonRetryable: true, type: 'atol:BAD_RESPONSE' });
}

describe('ATOL: the smallest answers do', () => {
  it('token {token} and registration {uuid}: the receipt is accepted', async () => {
    fake.on('POST /getToken', ok({ token: 'tok' })).on('POST /g/sell', ok({ uuid: UUID }));
    await expect(client().sell(atolFixture<AtolReceiptRequest>('sell.request'))).resolves.toEqual({ uuid: UUID, alreadyAccepted: false });
    expect(fake.calls('POST /g/sell')[0]!.headers.token).toBe('tok');
  });

  it('a done report with the required payload only: every fiscal attribute the flow records', async () => {
    fake.on('POST /getToken', ok({ token: 'tok' })).on(REPORT, ok({ status: 'done', payload: minimalPayload() }));
    await expect(client().getReport(UUID)).resolves.toEqual({
      status: 'done',
      fiscal: {
        source: 'atol',
        fnNumber: '7380440700076543',
        fiscalDocumentNumber: '133',
        fiscalSign: '3449555941',
        receiptDateTime: '2026-03-15T09:30:05.000Z',
        receiptNumber: '6',
        shiftNumber: '23',
        registrationNumber: '0000111118041361',
        total: 290068,
      },
    });
  });

  it('a wait report {status} and a fail report {status, error: {code}}', async () => {
    fake.on('POST /getToken', ok({ token: 'tok' })).on(REPORT, ok({ status: 'wait' }));
    await expect(client().getReport(UUID)).resolves.toEqual({ status: 'wait' });
    fake.on(REPORT, ok({ status: 'fail', error: { code: 1 } }));
    await expect(client().getReport(UUID)).resolves.toEqual({ status: 'fail', error: { code: 1, text: '', type: 'unknown' } });
  });

  it('fields we do not read may come in any shape', async () => {
    const odd = { timestamp: 7, error_id: { x: 1 }, group_code: null, external_id: 5 };
    fake
      .on('POST /getToken', ok({ token: 'tok', ...odd }))
      .on(REPORT, ok({ ...odd, uuid: 42, status: 'done', payload: { ...minimalPayload(), fns_site: 1, ofd_inn: [], ofd_receipt_url: 3 } }));
    await expect(client().getReport(UUID)).resolves.toMatchObject({ status: 'done', fiscal: { fnNumber: '7380440700076543' } });
  });
});

describe('ATOL: an answer without a field we read names it and is not retried', () => {
  it('getToken without token', async () => {
    fake.on('POST /getToken', ok({ error: null }));
    expectPermanent(await caught(client().sell(atolFixture<AtolReceiptRequest>('sell.request'))), 'token');
  });

  it('sell without uuid', async () => {
    fake.on('POST /getToken', ok({ token: 'tok' })).on('POST /g/sell', ok({ status: 'wait' }));
    expectPermanent(await caught(client().sell(atolFixture<AtolReceiptRequest>('sell.request'))), 'uuid');
  });

  it('an error without its code', async () => {
    fake.on('POST /getToken', ok({ token: 'tok' })).on(REPORT, ok({ status: 'fail', error: { text: 'boom' } }));
    expectPermanent(await caught(client().getReport(UUID)), 'error.code');
  });

  it.each(Object.keys(minimalPayload()))('a done report without payload.%s', async (field) => {
    const payload: Record<string, unknown> = minimalPayload();
    delete payload[field];
    fake.on('POST /getToken', ok({ token: 'tok' })).on(REPORT, ok({ status: 'done', payload }));
    expectPermanent(await caught(client().getReport(UUID)), `payload.${field}`);
  });

  it('a report without status', async () => {
    fake.on('POST /getToken', ok({ token: 'tok' })).on(REPORT, ok({ payload: minimalPayload() }));
    expectPermanent(await caught(client().getReport(UUID)), 'status');
  });
});
