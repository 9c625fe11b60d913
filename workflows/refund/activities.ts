import { proxyActivities } from '@temporalio/workflow';
import type { FermaActivities } from '../../activities/ferma/activities';
import type { AtolActivities } from '../../activities/atol/activities';
import type { RefundBitrixActivities, RefundEvotorActivities, RefundFiscalActivities } from '../../activities/refund/activities';
import type { RefundLookupActivities } from '../../cross-system/refund-lookup';
import { TASK_QUEUES } from '../../domain/workflow-ids';
import { OUTSIDE_SYSTEM_RETRY } from '../support-actions';

// Retryable outside-system errors are retried for up to an hour; after that a person is asked (NEEDS_ATTENTION).
const retry = OUTSIDE_SYSTEM_RETRY;
export const lookup = proxyActivities<RefundLookupActivities>({ taskQueue: TASK_QUEUES.workflows, startToCloseTimeout: '30s', scheduleToCloseTimeout: '10m', retry });
export const bitrix = proxyActivities<RefundBitrixActivities>({ taskQueue: TASK_QUEUES.bitrix, startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry });
export const evotor = proxyActivities<RefundEvotorActivities>({ taskQueue: TASK_QUEUES.evotor, startToCloseTimeout: '30s', scheduleToCloseTimeout: '10m', retry });
export const atol = proxyActivities<RefundFiscalActivities & Pick<AtolActivities, 'getAtolReport'>>({
  taskQueue: TASK_QUEUES.fiscal,
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1h',
  retry,
});
export const ferma = proxyActivities<Pick<RefundFiscalActivities, 'registerFermaRefundOfSale'> & Pick<FermaActivities, 'getFermaReceiptStatus'>>({
  taskQueue: TASK_QUEUES.fiscal,
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1h',
  retry,
});
