import type { Logger } from '../../lib/logger';
import { fiscalAttributesFromDocument, type EvotorCloudClient } from '../evotor/client';
import type { TerminalAdapter } from './adapter';

/** Evotor smart terminals: orders pushed through the Evotor cloud, fiscal data read from its receipt documents. */
export function evotorTerminal(client: EvotorCloudClient, logger?: Logger): TerminalAdapter {
  return {
    async pushOrder({ deviceIds }, payload, activeTill) {
      if (deviceIds.length === 0) return {};
      const push = await client.sendPush({ devices: deviceIds, payload, activeTill });
      logger?.info({ orderId: payload.orderId, pushId: push.id }, 'order pushed to terminal');
      return { pushId: push.id };
    },
    async fiscalAttributes(receipt) {
      const doc = await client.getDocument(receipt.terminalStoreId, receipt.receiptId);
      return doc ? fiscalAttributesFromDocument(doc) : null;
    },
  };
}
