import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FiscalAttributes } from '../../domain/fiscal';
import type { PosPaymentStatus, TerminalPayment } from '../../domain/payment';

/** What the outside world sends an order's payment workflow (re-exported by workflows/pos-payment.ts). */
export const paymentReceivedSignal = defineSignal<[TerminalPayment]>('paymentReceived');
/** Bitrix saved the order (ONSALEORDERSAVED): look again, e.g. for a cancellation. */
export const orderSavedInBitrixSignal = defineSignal('orderSavedInBitrix');
/** 1C:Retail fiscalized the payment (fiscal mode "1c"), reported through the middleware door. */
export const fiscalConfirmedSignal = defineSignal<[FiscalAttributes]>('fiscalConfirmed');
/** ATOL called back: a hint that the report is ready (the report itself is always re-read). */
export const atolReportReadySignal = defineSignal('atolReportReady');
/**
 * 1C:Retail's fiscal attributes (the middleware door): taken only while the order waits for them; the same
 * receipt again is "duplicate", a different one is refused by the validator (nothing enters the history).
 */
export const confirmFiscalUpdate = defineUpdate<'accepted' | 'duplicate', [FiscalAttributes]>('confirmFiscal');
/**
 * A cloud register's unsigned callback (ATOL, Ferma): a hint to read the report now. The validator takes it
 * only while the order waits for that register's report, one at a time and at most MAX_FISCAL_HINTS per
 * order — a refused Update writes nothing, so a flood of callbacks cannot grow the history.
 */
export const fiscalReportHintUpdate = defineUpdate<'accepted', ['atol' | 'ferma']>('fiscalReportHint');
export const MAX_FISCAL_HINTS = 5;
export const statusQuery = defineQuery<PosPaymentStatus>('status');
export const cancelUpdate = defineUpdate<PosPaymentStatus, [{ reason: string }]>('cancel');
export const retryUpdate = defineUpdate<PosPaymentStatus, []>('retry');
export const resolveUpdate = defineUpdate<PosPaymentStatus, [{ note: string }]>('resolve');
