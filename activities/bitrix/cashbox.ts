import { checkApplyFields } from '../../domain/bitrix-cashbox';
import type { FiscalAttributes } from '../../domain/fiscal';
import type { Logger } from '../../lib/logger';
import type { BitrixClient } from './client';

/** The Bitrix side of a REST cashbox check: saving its print result (the order's "Checks" tab). */
export function createBitrixCashboxActivities({ client, logger }: { client: BitrixClient; logger: Logger }) {
  return {
    /**
     * sale.cashbox.check.apply with the sale's fiscal attributes. Safe to repeat: Bitrix keys the result by the
     * check's uuid and a second apply writes the same values again (no second check, no second receipt).
     */
    async applyBitrixCashboxCheck(input: { uuid: string; fiscal: FiscalAttributes }): Promise<void> {
      await client.applyCashboxCheck(checkApplyFields(input.uuid, input.fiscal));
      logger.info({ uuid: input.uuid, fiscalDocumentNumber: input.fiscal.fiscalDocumentNumber }, 'Bitrix check applied');
    },
  };
}

export type BitrixCashboxActivities = ReturnType<typeof createBitrixCashboxActivities>;
