import { ApplicationFailure } from '@temporalio/activity';
import type { CorrectionBasis, FiscalAttributes } from '../../domain/fiscal';
import type { OrderSnapshot } from '../../domain/order';
import type { PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import type { AtolClient } from './client';
import { buildAtolCorrectionReceipt, buildAtolSellReceipt, formatAtolDate, type AtolReceiptKind } from './receipt';
import type { BitrixClient } from '../bitrix/client';
import { buildReceipt, callbackUrlOf, classifyErrors } from '../shared/activity-errors';

export interface AtolActivityDeps {
  bitrix: BitrixClient;
  /** Absent when no store fiscalizes through ATOL Online. */
  atol?: AtolClient;
  config: PosConfig;
  /** Public base URL of our API, for ATOL's callback (a hint that hurries the report poll). */
  callbackBaseUrl?: string;
  logger?: Logger;
}

/** An order fully paid online before pickup gets the prepayment-offset receipt (payments[].type 2). */
export function receiptKind(order: OrderSnapshot, posPaySystems: Set<string>): AtolReceiptKind {
  const prepaid = order.payments.filter((p) => p.paid && !posPaySystems.has(p.paySystemId)).reduce((sum, p) => sum + p.sum, 0);
  return prepaid >= order.total ? 'prepayment_offset' : 'full_payment';
}

export function createAtolActivities({ bitrix, atol, config, callbackBaseUrl, logger }: AtolActivityDeps) {
  const posPaySystems = new Set(config.bitrix.posPaySystemIds);
  const requireAtol = (): AtolClient => {
    if (!atol) throw ApplicationFailure.nonRetryable('ATOL Online is not configured (ATOL_API_URL, ATOL_LOGIN, ATOL_PASSWORD, ATOL_GROUP_CODE)', 'config');
    return atol;
  };

  return classifyErrors({
    /**
     * Sends the sale receipt to ATOL Online, built from the Bitrix order (read here, so buyer contacts never
     * enter the workflow history). ATOL deduplicates by external_id: a retry gets the original uuid back.
     */
    async registerAtolSell(input: { orderId: string; storeId: string; externalId: string; receiptTime: string }): Promise<{ uuid: string; alreadyAccepted: boolean }> {
      const client = requireAtol();
      const store = config.stores.find((s) => s.id === input.storeId);
      if (!store?.company) throw ApplicationFailure.nonRetryable(`store ${input.storeId} has no company data for ATOL in POS_CONFIG`, 'config');
      const order = await bitrix.getOrder(input.orderId);
      const { company } = store;
      const body = buildReceipt('ATOL receipt', () =>
        buildAtolSellReceipt({
          order,
          externalId: input.externalId,
          receiptTime: new Date(input.receiptTime),
          timeZone: store.timeZone,
          company,
          kind: receiptKind(order, posPaySystems),
          callbackUrl: callbackUrlOf(callbackBaseUrl, '/webhooks/atol/callback'),
        }),
      );
      const registration = await client.sell(body);
      logger?.info({ orderId: input.orderId, externalId: input.externalId, uuid: registration.uuid, alreadyAccepted: registration.alreadyAccepted }, 'ATOL sell registered');
      return registration;
    },

    /**
     * Sends the correction receipt (`sell_correction`, basis "self") of a pickup payment whose receipt was not
     * issued at the time — built like the sale receipt, read from Bitrix here. Same idempotency as the sale
     * (its own external_id): a resend gets the original uuid. Answers the basis it printed, for the order's details.
     */
    async registerAtolCorrection(input: {
      orderId: string;
      storeId: string;
      externalId: string;
      receiptTime: string;
      /** ISO 8601: when the buyer paid (the VAT rate of that day applies). */
      settlementTime: string;
      /** ISO 8601: when the act was drawn up (reconciliation found the payment). */
      actTime: string;
      actNumber: string;
    }): Promise<{ uuid: string; alreadyAccepted: boolean; basis: CorrectionBasis }> {
      const client = requireAtol();
      const store = config.stores.find((s) => s.id === input.storeId);
      if (!store?.company) throw ApplicationFailure.nonRetryable(`store ${input.storeId} has no company data for ATOL in POS_CONFIG`, 'config');
      const order = await bitrix.getOrder(input.orderId);
      const { company } = store;
      const body = buildReceipt('ATOL correction receipt', () =>
        buildAtolCorrectionReceipt({
          order,
          externalId: input.externalId,
          receiptTime: new Date(input.receiptTime),
          timeZone: store.timeZone,
          company,
          kind: receiptKind(order, posPaySystems),
          callbackUrl: callbackUrlOf(callbackBaseUrl, '/webhooks/atol/callback'),
          settlementTime: new Date(input.settlementTime),
          actTime: new Date(input.actTime),
          actNumber: input.actNumber,
        }),
      );
      const registration = await client.sellCorrection(body);
      logger?.info({ orderId: input.orderId, externalId: input.externalId, uuid: registration.uuid, alreadyAccepted: registration.alreadyAccepted }, 'ATOL sell_correction registered');
      return { ...registration, basis: { type: 'self', actDate: formatAtolDate(new Date(input.actTime), store.timeZone), actNumber: input.actNumber } };
    },

    async getAtolReport(input: { uuid: string }): Promise<{ status: 'wait' | 'done' | 'fail'; fiscal?: FiscalAttributes; error?: string }> {
      const report = await requireAtol().getReport(input.uuid);
      return {
        status: report.status,
        fiscal: report.fiscal,
        error: report.error ? `${report.error.text} (code ${report.error.code}, ${report.error.type})` : undefined,
      };
    },
  });
}

export type AtolActivities = ReturnType<typeof createAtolActivities>;
