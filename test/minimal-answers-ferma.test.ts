import pino from 'pino';
import { FermaClient } from '../activities/ferma/client';
import type { FermaReceiptRequest } from '../activities/ferma/wire';
import { toActivityFailure } from '../activities/shared/activity-errors';
import type { ExternalServiceError } from '../activities/shared/errors';
import { fermaFixture } from './fixtures/ferma/fixtures';
import { caught } from './support/errors';
import { ScriptedServer } from './support/scripted-server';

/**
 * OFD.ru Ferma (#12): the client works with the smallest answers Ferma's document allows — the envelope's
 * Status and the Data fields we read, none of the ones we do not (ExpirationDateUtc, StatusName,
 * StatusMessage, ModifiedDateUtc, ReceiptId of a status, DeviceId, ZN, ShiftNumber, ...) — and an answer
 * without a field we read fails naming it, for good.
 */

const AUTH = '/Authorization/CreateAuthToken';
const RECEIPT = '/kkt/cloud/receipt';
const STATUS = '/kkt/cloud/status';
const RECEIPT_ID = '6c1ce5c4-4a46-4b1b-9f3e-1f5e2c2f7a10';
const ok = (json: unknown) => ({ status: 200, json });
const success = (Data: unknown) => ok({ Status: 'Success', Data });
const minimalDevice = () => ({ RNM: '0000111118041361', FN: '7281440500123456', FDN: '133', FPD: '3449555941' });
const confirmed = () => ({ StatusCode: 2, ReceiptDateUtc: '2026-03-15T09:30:05', Device: minimalDevice() });

let fake: ScriptedServer;
const client = () => new FermaClient({ apiUrl: fake.url, login: 'l', password: 'p', timeoutMs: 2000, logger: pino({ level: 'silent' }) });
const income = () => fermaFixture<FermaReceiptRequest>('receipt.income.request');

beforeEach(async () => {
  fake = new ScriptedServer('/api', (route, r) => r.path === route);
  await fake.start();
});
afterEach(() => fake.stop());

function expectPermanent(e: ExternalServiceError, field: string): void {
  expect(e).toMatchObject({ system: 'ferma', code: 'BAD_RESPONSE', retryable: false });
  expect(e.message).toContain(`(field ${field})`);
  expect(toActivityFailure(e)).toMatchObject({ nonRetryable: true, type: 'ferma:BAD_RESPONSE' });
}

describe('Ferma: the smallest answers do', () => {
  it('a token without ExpirationDateUtc and a receipt answer {ReceiptId}: registered', async () => {
    fake.on(AUTH, success({ AuthToken: 'tok' })).on(RECEIPT, success({ ReceiptId: RECEIPT_ID }));
    await expect(client().register(income())).resolves.toEqual({ receiptId: RECEIPT_ID, invoiceId: 'pos-236-sell', alreadyAccepted: false });
    expect(fake.calls(RECEIPT)[0]!.query.get('AuthToken')).toBe('tok');
  });

  it('a confirmed status with StatusCode, ReceiptDateUtc and the four device numbers: the fiscal attributes', async () => {
    fake.on(AUTH, success({ AuthToken: 'tok' })).on(STATUS, success(confirmed()));
    await expect(client().getStatus({ receiptId: RECEIPT_ID })).resolves.toEqual({
      stage: 'CONFIRMED',
      status: 'done',
      fiscal: {
        source: 'ferma',
        fnNumber: '7281440500123456',
        fiscalDocumentNumber: '133',
        fiscalSign: '3449555941',
        receiptDateTime: '2026-03-15T09:30:05.000Z',
        registrationNumber: '0000111118041361',
      },
    });
  });

  it('new {StatusCode: 0} waits; kkt error {StatusCode: 3} fails with a stand-in reason', async () => {
    fake.on(AUTH, success({ AuthToken: 'tok' })).on(STATUS, success({ StatusCode: 0 }));
    await expect(client().getStatus({ receiptId: RECEIPT_ID })).resolves.toEqual({ stage: 'NEW', status: 'wait' });
    fake.on(STATUS, success({ StatusCode: 3 }));
    await expect(client().getStatus({ receiptId: RECEIPT_ID })).resolves.toEqual({
      stage: 'KKT_ERROR',
      status: 'fail',
      error: { code: 3, message: 'no reason given' },
    });
  });

  it('a failure {Status: "Failed", Error: {Code}} is Ferma\'s error', async () => {
    fake.on(AUTH, success({ AuthToken: 'tok' })).on(RECEIPT, { status: 400, json: { Status: 'Failed', Error: { Code: 1004 } } });
    expect(await caught(client().register(income()))).toMatchObject({ system: 'ferma', code: '1004', retryable: false, message: 'ferma: 1004: no message' });
  });

  it('fields we do not read may come in any shape', async () => {
    fake
      .on(AUTH, success({ AuthToken: 'tok', ExpirationDateUtc: 12 }))
      .on(STATUS, success({ ...confirmed(), ModifiedDateUtc: 5, StatusMessage: {}, Device: { ...minimalDevice(), DeviceId: {}, ZN: [], OfdReceiptUrl: 7 } }));
    await expect(client().getStatus({ receiptId: RECEIPT_ID })).resolves.toMatchObject({ status: 'done', fiscal: { fnNumber: '7281440500123456' } });
  });
});

describe('Ferma: an answer without a field we read names it and is not retried', () => {
  it('a token answer without Data.AuthToken', async () => {
    fake.on(AUTH, success({}));
    expectPermanent(await caught(client().register(income())), 'Data.AuthToken');
  });

  it('a receipt answer without Data.ReceiptId', async () => {
    fake.on(AUTH, success({ AuthToken: 'tok' })).on(RECEIPT, success({}));
    expectPermanent(await caught(client().register(income())), 'Data.ReceiptId');
  });

  it('an answer without Status', async () => {
    fake.on(AUTH, ok({ Data: { AuthToken: 'tok' } }));
    expectPermanent(await caught(client().register(income())), 'Status');
  });

  it('an error without its Code', async () => {
    fake.on(AUTH, success({ AuthToken: 'tok' })).on(RECEIPT, ok({ Status: 'Failed', Error: { Message: 'boom' } }));
    expectPermanent(await caught(client().register(income())), 'Error.Code');
  });

  it('a status answer without Data', async () => {
    fake.on(AUTH, success({ AuthToken: 'tok' })).on(STATUS, ok({ Status: 'Success' }));
    expectPermanent(await caught(client().getStatus({ receiptId: RECEIPT_ID })), 'Data');
  });

  it('a status without Data.StatusCode', async () => {
    fake.on(AUTH, success({ AuthToken: 'tok' })).on(STATUS, success({ ReceiptDateUtc: '2026-03-15T09:30:05', Device: minimalDevice() }));
    expectPermanent(await caught(client().getStatus({ receiptId: RECEIPT_ID })), 'Data.StatusCode');
  });

  it.each(Object.keys(minimalDevice()))('a confirmed status without Data.Device.%s', async (field) => {
    const data = confirmed();
    delete (data.Device as Record<string, unknown>)[field];
    fake.on(AUTH, success({ AuthToken: 'tok' })).on(STATUS, success(data));
    expectPermanent(await caught(client().getStatus({ receiptId: RECEIPT_ID })), `Data.Device.${field}`);
  });

  it.each(['Device', 'ReceiptDateUtc'] as const)('a confirmed status without Data.%s', async (field) => {
    const data: Partial<ReturnType<typeof confirmed>> = confirmed();
    delete data[field];
    fake.on(AUTH, success({ AuthToken: 'tok' })).on(STATUS, success(data));
    const e = await caught(client().getStatus({ receiptId: RECEIPT_ID }));
    expectPermanent(e, 'Data.Device or Data.ReceiptDateUtc');
  });
});
