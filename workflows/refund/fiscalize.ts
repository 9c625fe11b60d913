import { sleep } from '@temporalio/workflow';
import type { FiscalAttributes } from '../../domain/fiscal';
import { atolRefundExternalId, fermaRefundInvoiceId } from '../../domain/refund';
import { nowIso } from '../attention';
import { atol, ferma } from './activities';
import type { Reservation } from './claim';
import type { LocatedSale } from './locate-sale';
import { POLL_INITIAL_MS, type RefundRun } from './run';

const ATOL_POLL_MAX_MS = 60_000;
const ATOL_REPORT_DEADLINE_MS = 30 * 60_000;

/**
 * The fiscal refund receipt, last (the sale's receipt came first): a sale our cloud register printed gets
 * its mirror there; a terminal's own refund receipt is recorded as it is; otherwise it is not ours to print.
 */
export async function fiscalize(run: RefundRun, sale: LocatedSale, reserved: Reservation): Promise<void> {
  const { state } = run;
  run.enter('FISCALIZING', 'the fiscal refund receipt');
  const cloud = sale.kind === 'order' && (sale.found.fiscal?.source === 'atol' || sale.found.fiscal?.source === 'ferma') ? sale.found.fiscal.source : undefined;
  if (sale.kind === 'order' && cloud) {
    state.fiscal = await cloudRefund(run, cloud, sale.found.orderId, sale.found.saleTime, reserved, sale.store.id);
    state.done.push(cloud === 'atol' ? 'fiscal: ATOL sell_refund mirroring the sale receipt' : 'fiscal: Ferma IncomeReturn mirroring the sale receipt');
  } else if (sale.terminalFiscal) {
    state.fiscal = sale.terminalFiscal;
    state.done.push('fiscal: printed by the terminal');
  } else state.done.push('fiscal: none of ours to mirror (the terminal or 1C:Retail prints the refund)');
}

/** The refund receipt at the cloud register that printed the sale (ATOL `sell_refund`, Ferma `IncomeReturn`). */
async function cloudRefund(
  { refund, enter, step, needsAttention }: RefundRun,
  register: 'atol' | 'ferma',
  orderId: string,
  saleTime: string,
  d: Reservation,
  storeId: string,
): Promise<FiscalAttributes> {
  const name = register === 'atol' ? 'ATOL' : 'Ferma';
  for (let attempt = 1; ; attempt++) {
    const externalId = register === 'atol' ? atolRefundExternalId(refund.receiptId, attempt) : fermaRefundInvoiceId(refund.receiptId, attempt);
    const deadlineAt = Date.now() + ATOL_REPORT_DEADLINE_MS;
    enter('FISCALIZING', `${register === 'atol' ? 'ATOL Online' : 'OFD.ru Ferma'} refund receipt ${externalId}`, new Date(deadlineAt).toISOString());
    const receiptTime = nowIso();
    const args = { orderId, storeId, receiptTime, saleTime, wholeSale: d.wholeSale, lines: d.lines };
    const uuid = await step(`send refund receipt to ${name}`, `Check ${name} credentials and the order data named in the error, then retry.`, () =>
      register === 'atol'
        ? atol.registerAtolRefund({ ...args, externalId }).then((r) => r.uuid)
        : ferma.registerFermaRefundOfSale({ ...args, invoiceId: externalId }).then((r) => r.receiptId),
    );
    for (let delay = POLL_INITIAL_MS * 2; ; delay = Math.min(delay * 2, ATOL_POLL_MAX_MS)) {
      const report = await step(`read ${name} report`, `Check that ${name} is reachable, then retry.`, () =>
        register === 'atol' ? atol.getAtolReport({ uuid, storeId }) : ferma.getFermaReceiptStatus({ receiptId: uuid, storeId }),
      );
      if (report.status === 'done' && report.fiscal) return report.fiscal;
      if (report.status === 'fail') {
        await needsAttention(`${name} refund receipt`, `${name} failed refund receipt ${externalId}: ${report.error ?? 'no reason given'}`, `Fix the cause (${name} settings, the order's data), then retry: a new refund receipt is sent.`);
        break;
      }
      if (Date.now() >= deadlineAt) {
        await needsAttention(`read ${name} report`, `${name} has not processed refund receipt ${externalId} (id ${uuid}) in 30 min`, `Check the receipt in the ${name} account; retry to keep waiting for the same receipt.`);
        continue;
      }
      await sleep(delay);
    }
  }
}
