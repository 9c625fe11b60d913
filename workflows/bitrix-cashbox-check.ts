import { defineQuery, log, proxyActivities, setCurrentDetails, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { BitrixCashboxActivities } from '../activities/bitrix/cashbox';
import type { NotificationActivities } from '../activities/bitrix/notifications';
import type { createCashboxLookupActivities } from '../cross-system/bitrix-cashbox';
import type { CashboxCheckInput, CashboxCheckStage, CashboxCheckStatus } from '../domain/bitrix-cashbox';
import { PosOrderId, PosReceiptId, PosStage, PosStageSince, PosStore, PosTotal } from '../domain/search-attributes';
import { TASK_QUEUES } from '../domain/workflow-ids';
import { OUTSIDE_SYSTEM_RETRY } from './support-actions';

const lookup = proxyActivities<ReturnType<typeof createCashboxLookupActivities>>({
  taskQueue: TASK_QUEUES.workflows,
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10m',
  retry: OUTSIDE_SYSTEM_RETRY,
});
const bitrix = proxyActivities<BitrixCashboxActivities>({ taskQueue: TASK_QUEUES.bitrix, startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry: OUTSIDE_SYSTEM_RETRY });
const notifier = proxyActivities<NotificationActivities>({ taskQueue: TASK_QUEUES.bitrix, startToCloseTimeout: '1m', scheduleToCloseTimeout: '30m', retry: OUTSIDE_SYSTEM_RETRY });

export const cashboxCheckStatusQuery = defineQuery<CashboxCheckStatus>('status');

/** Re-reads of the sale's fiscal data: soon at first (it usually comes within seconds), then up to every 10 minutes. */
const FIRST_READ_DELAY_MS = 1_000;
const READ_DELAY_FACTOR = 1.5;
const MAX_READ_DELAY_MS = 600_000;
/** A check whose sale never gets fiscal data stops for a person after this long. */
const GIVE_UP_AFTER_MS = 30 * 86_400_000;

/**
 * One check Bitrix asked its REST cashbox to print (id: the check's uuid). Nothing is printed: the sale already
 * has (or will have) its 54-FZ receipt — from the terminal, ATOL, Ferma or 1C:Retail — and the check gets that
 * receipt's fiscal attributes. Waits durably for them, then saves them in Bitrix once.
 */
export async function bitrixCashboxCheckWorkflow(input: CashboxCheckInput): Promise<CashboxCheckStatus> {
  const now = () => new Date(Date.now()).toISOString();
  const state: CashboxCheckStatus = { ...input, stage: 'FISCALIZING', stageSince: now(), reads: 0 };
  setHandler(cashboxCheckStatusQuery, () => state);
  const enter = (stage: CashboxCheckStage) => {
    state.stage = stage;
    state.stageSince = now();
    upsertSearchAttributes([{ key: PosStage, value: stage }, { key: PosStageSince, value: new Date(Date.now()) }]);
    setCurrentDetails(
      [
        `Bitrix check ${input.checkType} ${input.uuid} (store ${input.storeId}, ${(input.total / 100).toFixed(2)} RUB)`,
        `Answered with the fiscal data of ${input.saleWorkflowId}`,
        state.fiscal ? `Receipt: FN ${state.fiscal.fnNumber}, FD ${state.fiscal.fiscalDocumentNumber}, FP ${state.fiscal.fiscalSign}` : 'Waiting for the sale\'s fiscal receipt',
        ...(state.problem ? [`Problem: ${state.problem.message}`, `What to do: ${state.problem.action}`] : []),
      ].join('\n\n'),
    );
  };
  upsertSearchAttributes([
    { key: PosStore, value: input.storeId },
    { key: PosTotal, value: input.total },
    ...(input.orderId ? [{ key: PosOrderId, value: input.orderId }] : []),
    ...(input.refundReceiptId ? [{ key: PosReceiptId, value: input.refundReceiptId }] : []),
  ]);
  enter('FISCALIZING');

  const startedAt = Date.now();
  let delay = FIRST_READ_DELAY_MS;
  for (;;) {
    let read: Awaited<ReturnType<typeof lookup.readSaleFiscalData>>;
    try {
      read = await lookup.readSaleFiscalData({ saleWorkflowId: input.saleWorkflowId, kind: input.kind });
    } catch (err) {
      // Temporal unreadable for the read's 10 minutes (a worker outage): still waiting, read again later.
      log.warn('sale fiscal data not readable; reading again later', { saleWorkflowId: input.saleWorkflowId, error: (err as Error).message });
      read = { status: 'waiting' };
    }
    state.reads++;
    if (read.status === 'ready') {
      state.fiscal = read.fiscal;
      break;
    }
    if (read.status === 'gone' || Date.now() - startedAt > GIVE_UP_AFTER_MS) {
      state.problem = {
        message: read.status === 'gone' ? read.reason : `no fiscal data for ${input.saleWorkflowId} after 30 days`,
        action: 'record the receipt in the order\'s Checks tab by hand (or sale.cashbox.check.apply)',
        at: now(),
      };
      enter('NEEDS_ATTENTION');
      await tellManager(input, state.problem);
      return state;
    }
    await sleep(delay);
    delay = Math.min(Math.round(delay * READ_DELAY_FACTOR), MAX_READ_DELAY_MS);
  }

  enter('CONFIRMING');
  try {
    await bitrix.applyBitrixCashboxCheck({ uuid: input.uuid, fiscal: state.fiscal });
  } catch (err) {
    // Bitrix refused for an hour (e.g. the check was deleted): a person records it, as when the sale has no receipt.
    state.problem = { message: `Bitrix did not take the fiscal data: ${(err as Error).message}`, action: 'record the receipt in the order\'s Checks tab by hand (or sale.cashbox.check.apply)', at: now() };
    enter('NEEDS_ATTENTION');
    await tellManager(input, state.problem);
    return state;
  }
  enter('COMPLETED');
  return state;
}

/** The check's problem as a Bitrix notification (docs: Notifications in Bitrix), when they are on; best effort. */
async function tellManager(input: CashboxCheckInput, problem: NonNullable<CashboxCheckStatus['problem']>): Promise<void> {
  const { workflowId, runId } = workflowInfo();
  try {
    await notifier.notifyProblem({
      key: `${workflowId}#1`,
      event: 'problem',
      workflowId,
      runId,
      subject: `Bitrix check ${input.uuid} (${input.orderId ? `order ${input.orderId}` : `refund ${input.refundReceiptId ?? ''}`})`,
      orderId: input.orderId,
      storeId: input.storeId,
      step: 'answer the Bitrix check',
      message: problem.message,
      action: problem.action,
    });
  } catch (err) {
    log.warn('problem notice not sent', { workflowId, error: (err as Error).message });
  }
}
