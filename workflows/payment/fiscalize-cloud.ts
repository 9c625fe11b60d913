import { condition, patched } from '@temporalio/workflow';
import type { PickupStore } from '../../activities/bitrix/activities';
import { cloudCorrectionExternalId, cloudSellExternalId, correctionActNumber, type CorrectionBasis, type FiscalAttributes } from '../../domain/fiscal';
import { nowIso } from '../attention';
import { atol, ferma, POLL_INITIAL_MS, POLL_MAX_MS } from './activities';
import type { FiscalDeadline } from './fiscalize';
import type { PaymentRun } from './run';

/** Payments that reconciliation found (their webhook never came) get a correction receipt instead of a sale receipt. */
export const CORRECTION_RECEIPTS = 'correction-receipts';

/**
 * The correction to issue, decided once before anything is sent (so one order gets one kind of receipt): when
 * a payment of the order was handed over by reconciliation, its receipt was not issued at the time (54-FZ).
 * Older histories carry no such payment, so the patch marker is only asked for when it matters.
 */
function correctionFor(run: PaymentRun): { actTime: string; settlementTime: string; actNumber: string } | undefined {
  const { payments } = run.state;
  const found = payments.find((p) => p.foundByReconciliationAt)?.foundByReconciliationAt;
  if (!found || !patched(CORRECTION_RECEIPTS)) return undefined;
  const settlementTime = payments.map((p) => p.paidAt).reduce((a, b) => (a > b ? a : b));
  return { actTime: found, settlementTime, actNumber: correctionActNumber(run.orderId) };
}

/**
 * A cloud register (ATOL Online or OFD.ru Ferma) prints the receipt: registered under a deterministic id
 * (a resend is recognised by the register), then its report polled with backoff — a callback's hint only
 * hurries the next poll. A failed receipt waits for a person; retry sends a new one (`-2`, …). A payment
 * found by reconciliation gets a correction receipt (ATOL `sell_correction`, Ferma `IncomeCorrection`) under
 * its own id (`pos-{orderId}-correction`) instead of the sale receipt.
 */
export async function fiscalizeByCloudRegister(run: PaymentRun, store: PickupStore, deadline: FiscalDeadline): Promise<FiscalAttributes> {
  const { orderId, events, waiting } = run;
  const correction = correctionFor(run);
  let basis: CorrectionBasis | undefined;
  const receiptKind = correction ? 'correction receipt' : 'receipt';
  const cloud =
    store.fiscalMode === 'ferma'
      ? {
          name: 'Ferma',
          register: (id: string) =>
            correction
              ? ferma.registerFermaCorrection({ orderId, storeId: store.id, invoiceId: id, receiptTime: nowIso(), ...correction }).then((r) => {
                  basis = r.basis;
                  return r.receiptId;
                })
              : ferma.registerFermaReceipt({ orderId, storeId: store.id, invoiceId: id, receiptTime: nowIso() }).then((r) => r.receiptId),
          report: (handle: string) => ferma.getFermaReceiptStatus({ receiptId: handle }),
        }
      : {
          name: 'ATOL',
          register: (id: string) =>
            correction
              ? atol.registerAtolCorrection({ orderId, storeId: store.id, externalId: id, receiptTime: nowIso(), ...correction }).then((r) => {
                  basis = r.basis;
                  return r.uuid;
                })
              : atol.registerAtolSell({ orderId, storeId: store.id, externalId: id, receiptTime: nowIso() }).then((r) => r.uuid),
          report: (handle: string) => atol.getAtolReport({ uuid: handle }),
        };
  for (let attempt = 1; ; attempt++) {
    const externalId = correction ? cloudCorrectionExternalId(orderId, attempt) : cloudSellExternalId(orderId, attempt);
    run.enter('FISCALIZING', `${cloud.name === 'ATOL' ? 'ATOL Online' : 'OFD.ru Ferma'} ${receiptKind} ${externalId}`, deadline.iso);
    const uuid = await run.step(`send receipt to ${cloud.name}`, `Check ${cloud.name} credentials and the order data named in the error, then retry.`, () =>
      cloud.register(externalId),
    );
    for (let delay = POLL_INITIAL_MS; ; ) {
      const report = await run.step(`read ${cloud.name} report`, `Check that ${cloud.name} is reachable, then retry.`, () => cloud.report(uuid));
      if (report.status === 'done' && report.fiscal) return basis ? { ...report.fiscal, correction: basis } : report.fiscal;
      if (report.status === 'fail') {
        await run.needsAttention(
          `${cloud.name} receipt`,
          `${cloud.name} failed ${receiptKind} ${externalId}: ${report.error ?? 'no reason given'}`,
          `Fix the cause (${cloud.name} settings, the order's data), then retry: a new ${receiptKind} is sent.`,
        );
        break;
      }
      if (Date.now() >= deadline.at) {
        await run.needsAttention(
          `read ${cloud.name} report`,
          `${cloud.name} has not processed ${receiptKind} ${externalId} (id ${uuid}) within ${deadline.minutes} min`,
          `Check the receipt in the ${cloud.name} account; retry to keep waiting for the same receipt.`,
        );
        continue;
      }
      const hints = events.reportHints;
      waiting.reportFrom = cloud.name === 'ATOL' ? 'atol' : 'ferma';
      await condition(() => events.reportHints !== hints, Math.min(delay, deadline.left()));
      waiting.reportFrom = undefined;
      waiting.hintPending = false;
      delay = Math.min(delay * 2, POLL_MAX_MS);
    }
  }
}
