import type { FiscalAttributes } from '../../domain/fiscal';
import { kopecksToRubles, type Kopecks } from '../../domain/money';
import { classifyErrors } from '../shared/activity-errors';
import type { RefundActivityDeps } from '../shared/refund-lines';
import { fiscalAttributesFromDocument } from './client';

/** The refund steps at the Evotor cloud: the refund's own document, and asking the terminals for a refund. */
export function createEvotorRefundActivities({ accounts, logger }: Pick<RefundActivityDeps, 'accounts' | 'logger'>) {
  return classifyErrors({
    /** The refund receipt's cloud document: the sale it refunds (base_document_id) and its fiscal data. */
    async readRefundDocument(input: { terminalStoreId: string; receiptId: string }): Promise<{ found: false } | { found: true; baseReceiptId?: string; fiscal?: FiscalAttributes }> {
      const doc = await accounts.evotorOfTerminalStore(input.terminalStoreId).getDocument(input.terminalStoreId, input.receiptId);
      if (!doc) return { found: false };
      const fiscal = fiscalAttributesFromDocument(doc);
      return { found: true, ...(doc.body.base_document_id ? { baseReceiptId: doc.body.base_document_id } : {}), ...(fiscal ? { fiscal } : {}) };
    },

    /** Best effort: asks the store's terminals to refund an order (the cashier can also find it by number). */
    async pushRefundRequest(input: { deviceIds: string[]; orderId: string; accountNumber?: string; amount: Kopecks; currency: string; activeTill: string }): Promise<{ pushId?: string }> {
      if (input.deviceIds.length === 0) return {};
      // The devices are the store's (POS_CONFIG evotorDeviceIds): its company's Evotor account reaches them.
      const push = await accounts.evotorOfDevices(input.deviceIds).sendPush({
        devices: input.deviceIds,
        payload: { kind: 'bitrix-refund', orderId: input.orderId, accountNumber: input.accountNumber, amount: kopecksToRubles(input.amount), currency: input.currency },
        activeTill: new Date(input.activeTill),
      });
      logger?.info({ orderId: input.orderId, pushId: push.id }, 'refund requested at the terminal');
      return { pushId: push.id };
    },
  });
}

export type RefundEvotorActivities = ReturnType<typeof createEvotorRefundActivities>;
