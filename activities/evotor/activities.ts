import type { FiscalAttributes } from '../../domain/fiscal';
import type { TerminalOrderPayload } from '../../domain/terminal-payload';
import type { Logger } from '../../lib/logger';
import { classifyErrors } from '../shared/activity-errors';
import { fiscalAttributesFromDocument, type EvotorCloudClient } from './client';

export interface EvotorActivityDeps {
  client: EvotorCloudClient;
  logger?: Logger;
}

export function createEvotorActivities({ client, logger }: EvotorActivityDeps) {
  return classifyErrors({
    /** Best effort: the cashier can always find the order by its number. */
    async pushOrderToTerminal(input: { deviceIds: string[]; payload: TerminalOrderPayload; activeTill: string }): Promise<{ pushId?: string }> {
      if (input.deviceIds.length === 0) return {};
      const push = await client.sendPush({
        devices: input.deviceIds,
        payload: input.payload,
        activeTill: new Date(input.activeTill),
      });
      logger?.info({ orderId: input.payload.orderId, pushId: push.id }, 'order pushed to terminal');
      return { pushId: push.id };
    },

    /** The fiscal attributes printed by the terminal's own fiscal drive; null while the cloud document lags. */
    async fetchReceiptFiscalAttributes(input: { terminalStoreId: string; receiptId: string }): Promise<FiscalAttributes | null> {
      const doc = await client.getDocument(input.terminalStoreId, input.receiptId);
      if (!doc) return null;
      return fiscalAttributesFromDocument(doc);
    },
  });
}

export type EvotorActivities = ReturnType<typeof createEvotorActivities>;
