import type { Logger } from '../../lib/logger';
import { fiscalAttributesFromDocument } from '../evotor/client';
import type { CompanyAccounts } from '../shared/company-clients';
import type { TerminalAdapter } from './adapter';

/**
 * Evotor smart terminals: orders pushed through the Evotor cloud, fiscal data read from its receipt documents,
 * each with the token of the Evotor account that holds the store (its company's).
 */
export function evotorTerminal(accounts: CompanyAccounts, logger?: Logger): TerminalAdapter {
  return {
    async pushOrder({ storeId, deviceIds }, payload, activeTill) {
      if (deviceIds.length === 0) return {};
      const client = storeId ? accounts.evotorOfStore(storeId) : accounts.evotorOfDevices(deviceIds);
      const push = await client.sendPush({ devices: deviceIds, payload, activeTill });
      logger?.info({ orderId: payload.orderId, pushId: push.id }, 'order pushed to terminal');
      return { pushId: push.id };
    },
    async fiscalAttributes(receipt) {
      const doc = await accounts.evotorOfTerminalStore(receipt.terminalStoreId).getDocument(receipt.terminalStoreId, receipt.receiptId);
      return doc ? fiscalAttributesFromDocument(doc) : null;
    },
  };
}
