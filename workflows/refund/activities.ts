import { proxyActivities } from '@temporalio/workflow';
import type { FermaActivities } from '../../activities/ferma/activities';
import type { AtolActivities } from '../../activities/atol/activities';
import type { RefundBitrixActivities } from '../../activities/bitrix/refund';
import type { RefundEvotorActivities } from '../../activities/evotor/refund';
import type { AtolRefundActivities } from '../../activities/atol/refund';
import type { FermaRefundActivities } from '../../activities/ferma/refund';
import type { RefundLookupActivities } from '../../cross-system/refund-lookup';
import { TASK_QUEUES } from '../../domain/workflow-ids';
import { OUTSIDE_SYSTEM_RETRY } from '../support-actions';

// Retryable outside-system errors are retried for up to an hour; after that a person is asked (NEEDS_ATTENTION).
const retry = OUTSIDE_SYSTEM_RETRY;
/** The fiscal refund steps of both cloud registers: one task queue (fiscal). */
type RefundFiscalActivities = AtolRefundActivities & FermaRefundActivities;
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
