import type { Client } from '@temporalio/client';
import type { Kopecks } from '../domain/money';
import type { PosConfig } from '../lib/config';
import { findAwaitingOrders } from '../intake/order-lookup';

export interface TemporalActivityDeps {
  client: Client;
  config: PosConfig;
}

/** Activities that read Temporal itself (visibility): cheap look-ups that cost Bitrix nothing. */
export function createTemporalActivities({ client, config }: TemporalActivityDeps) {
  return {
    async findAwaitingOrders(input: { terminalStoreId?: string; storeId?: string; amount: Kopecks; accountNumber?: string }): Promise<{ storeId?: string; candidates: string[] }> {
      return findAwaitingOrders(client, config, input);
    },
  };
}

export type TemporalActivities = ReturnType<typeof createTemporalActivities>;
