import pino from 'pino';
import { AtolClient } from '../activities/atol/client';
import { buildAtolCorrectionReceipt, buildAtolSellReceipt } from '../activities/atol/receipt';
import { FermaClient } from '../activities/ferma/client';
import { buildFermaIncomeReceipt } from '../activities/ferma/receipt';
import type { OrderSnapshot } from '../domain/order';
import { startAtolSimulator } from '../simulators/atol/simulator';
import { startFermaSimulator } from '../simulators/ferma/simulator';

// The cloud register simulators hold several companies' accounts, as the real services do: a token speaks
// for the login that obtained it, idempotency keys are per group/account, receipts are seen only by their own
// account, and a receipt for another company's INN does not go through.
const silent = pino({ level: 'silent' });
const order: OrderSnapshot = {
  id: '42', accountNumber: '1042', currency: 'RUB', total: 120000, statusId: 'N', paid: false, canceled: false, deducted: false,
  items: [{ basketId: '1', productId: '7', name: 'Чайник электрический', price: 120000, quantity: 1, vatRate: 0.22, vatIncluded: true, measureCode: '796', reservations: [] }],
  payments: [], shipments: [], buyer: { email: 'buyer@example.ru' },
};
const companyA = { inn: '7701000001', email: 'a@example.ru', sno: 'osn' as const, paymentAddress: 'https://a.example.ru' };
const companyB = { inn: '7802000002', email: 'b@example.ru', sno: 'osn' as const, paymentAddress: 'https://b.example.ru' };

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 200; i += 1) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('did not settle');
}

describe('ATOL simulator with two accounts', () => {
  it('keeps groups apart: tokens, external_id, reports and INN', async () => {
    const sim = await startAtolSimulator({
      login: 'a-login', password: 'a-password', groupCode: 'a-group', inn: companyA.inn,
      accounts: [{ login: 'b-login', password: 'b-password', groupCode: 'b-group', inn: companyB.inn }],
      processingDelayMs: 10, rateLimitPerSec: 0, logger: silent,
    });
    try {
      const a = new AtolClient({ apiUrl: sim.url, login: 'a-login', password: 'a-password', groupCode: 'a-group', minRequestIntervalMs: 0, logger: silent });
      const b = new AtolClient({ apiUrl: sim.url, login: 'b-login', password: 'b-password', groupCode: 'b-group', minRequestIntervalMs: 0, logger: silent });
      const sell = (company: typeof companyA) =>
        buildAtolSellReceipt({ order, externalId: 'pos-42-sell', receiptTime: new Date('2026-04-01T07:00:00Z'), timeZone: 'Europe/Moscow', company, kind: 'full_payment' });

      // The same external_id in two groups: two receipts, neither a duplicate of the other.
      const inA = await a.sell(sell(companyA));
      const inB = await b.sell(sell(companyB));
      expect([inA.alreadyAccepted, inB.alreadyAccepted]).toEqual([false, false]);
      expect(inA.uuid).not.toBe(inB.uuid);
      expect((await until(() => a.getReport(inA.uuid), (r) => r.status !== 'wait')).status).toBe('done');
      expect((await until(() => b.getReport(inB.uuid), (r) => r.status !== 'wait')).status).toBe('done');
      expect(sim.state.receipts.sell.map((r) => [r.group_code, r.external_id]).sort()).toEqual([['a-group', 'pos-42-sell'], ['b-group', 'pos-42-sell']]);

      // B's receipt does not exist in A's group; A's token is refused for B's group (20), and no new token is asked for.
      await expect(a.getReport(inB.uuid)).rejects.toMatchObject({ code: '30' });
      const aForB = new AtolClient({ apiUrl: sim.url, login: 'a-login', password: 'a-password', groupCode: 'b-group', minRequestIntervalMs: 0, logger: silent });
      await expect(aForB.getReport(inB.uuid)).rejects.toMatchObject({ code: '20', retryable: false });
      expect(sim.state.tokens.issuedByAccount).toEqual({ 'a-login': 2, 'b-login': 1 });

      // A receipt with company B's INN sent to A's group fails at A's register.
      const wrong = await a.sell(buildAtolSellReceipt({ order, externalId: 'pos-43-sell', receiptTime: new Date('2026-04-01T07:00:00Z'), timeZone: 'Europe/Moscow', company: companyB, kind: 'full_payment' }));
      const report = await until(() => a.getReport(wrong.uuid), (r) => r.status !== 'wait');
      expect(report).toMatchObject({ status: 'fail', error: { type: 'driver', text: expect.stringContaining('ИНН') } });

      // A correction receipt carries its company under `correction`: B's own is printed in B's group, A's INN fails there.
      const correction = (company: typeof companyA, externalId: string) =>
        buildAtolCorrectionReceipt({
          order, externalId, receiptTime: new Date('2026-04-02T07:00:00Z'), timeZone: 'Europe/Moscow', company, kind: 'full_payment',
          settlementTime: new Date('2026-04-01T07:00:00Z'), actTime: new Date('2026-04-02T07:00:00Z'), actNumber: 'POS-42',
        });
      const corrected = await b.sellCorrection(correction(companyB, 'pos-42-correction'));
      expect((await until(() => b.getReport(corrected.uuid), (r) => r.status !== 'wait')).status).toBe('done');
      const misfiled = await b.sellCorrection(correction(companyA, 'pos-44-correction'));
      expect(await until(() => b.getReport(misfiled.uuid), (r) => r.status !== 'wait')).toMatchObject({ status: 'fail', error: { text: expect.stringContaining('ИНН') } });
    } finally {
      await sim.close();
    }
  });
});

describe('Ferma simulator with two accounts', () => {
  it('keeps accounts apart: tokens, InvoiceId, status and INN', async () => {
    const sim = await startFermaSimulator({
      login: 'a-login', password: 'a-password', inns: [companyA.inn],
      accounts: [{ login: 'b-login', password: 'b-password', inns: [companyB.inn] }],
      processingDelayMs: 10, confirmationDelayMs: 10, rateLimitPerSec: 0, logger: silent,
    });
    try {
      const a = new FermaClient({ apiUrl: sim.url, login: 'a-login', password: 'a-password', logger: silent });
      const b = new FermaClient({ apiUrl: sim.url, login: 'b-login', password: 'b-password', logger: silent });
      const income = (company: typeof companyA) =>
        buildFermaIncomeReceipt({ order, invoiceId: 'pos-42-sell', receiptTime: new Date('2026-04-01T07:00:00Z'), timeZone: 'Europe/Moscow', company, kind: 'full_payment' });

      const inA = await a.register(income(companyA));
      const inB = await b.register(income(companyB));
      expect([inA.alreadyAccepted, inB.alreadyAccepted]).toEqual([false, false]);
      expect(inA.receiptId).not.toBe(inB.receiptId);
      expect((await until(() => b.getStatus({ receiptId: inB.receiptId }), (s) => s.status !== 'wait')).status).toBe('done');
      expect(sim.state.receipts.Income.map((r) => [r.account, r.inn]).sort()).toEqual([['a-login', companyA.inn], ['b-login', companyB.inn]]);

      // A does not see B's receipt, and cannot register for B's INN.
      expect(await a.getStatus({ receiptId: inB.receiptId }).catch((e: { code?: string }) => e.code)).toBe('1005'); // not found
      await expect(a.register(buildFermaIncomeReceipt({ order, invoiceId: 'pos-43-sell', receiptTime: new Date('2026-04-01T07:00:00Z'), timeZone: 'Europe/Moscow', company: companyB, kind: 'full_payment' })))
        .rejects.toMatchObject({ retryable: false });
      expect(sim.state.tokens.issuedByAccount).toEqual({ 'a-login': 1, 'b-login': 1 });
    } finally {
      await sim.close();
    }
  });
});
