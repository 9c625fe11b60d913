import { proxyActivities } from '@temporalio/workflow';
import type { BitrixActivities } from '../../activities/bitrix/activities';
import type { TerminalActivities } from '../../activities/terminals/activities';
import type { FermaActivities } from '../../activities/ferma/activities';
import type { AtolActivities } from '../../activities/atol/activities';
import type { RefundLookupActivities } from '../../cross-system/refund-lookup';
import { TASK_QUEUES } from '../../domain/workflow-ids';
import { OUTSIDE_SYSTEM_RETRY } from '../support-actions';

// Retryable outside-system errors are retried for up to an hour; after that a person is asked (NEEDS_ATTENTION).
const retry = OUTSIDE_SYSTEM_RETRY;
export const bitrix = proxyActivities<BitrixActivities>({ taskQueue: TASK_QUEUES.bitrix, startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry });
export const terminal = proxyActivities<TerminalActivities>({ taskQueue: TASK_QUEUES.evotor, startToCloseTimeout: '30s', scheduleToCloseTimeout: '10m', retry });
// A push cannot be looked up before it is sent again, so it is sent at most once: best effort, never doubled.
export const terminalPush = proxyActivities<TerminalActivities>({ taskQueue: TASK_QUEUES.evotor, startToCloseTimeout: '30s', retry: { maximumAttempts: 1 } });
export const atol = proxyActivities<AtolActivities>({ taskQueue: TASK_QUEUES.fiscal, startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry });
export const ferma = proxyActivities<FermaActivities>({ taskQueue: TASK_QUEUES.fiscal, startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry });
export const saleRecords = proxyActivities<Pick<RefundLookupActivities, 'recordOrderSale'>>({ taskQueue: TASK_QUEUES.workflows, startToCloseTimeout: '30s', scheduleToCloseTimeout: '1h', retry });

/** Polls of a fiscal report or document: from 2 s, doubling, at most a minute apart. */
export const POLL_INITIAL_MS = 2_000;
export const POLL_MAX_MS = 60_000;
