import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { RefundStatus } from '../../domain/refund';

/** What support asks of a refund's workflow (re-exported by workflows/refund.ts). */
export const refundStatusQuery = defineQuery<RefundStatus>('status');
export const retryRefundUpdate = defineUpdate<RefundStatus, []>('retry');
export const resolveRefundUpdate = defineUpdate<RefundStatus, [{ note: string }]>('resolve');
