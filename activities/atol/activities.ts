import { ApplicationFailure } from '@temporalio/activity';
import type { CorrectionBasis, FiscalAttributes } from '../../domain/fiscal';
import type { OrderSnapshot } from '../../domain/order';
import type { PosConfig, StoreConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import type { AtolClient, AtolRegistration } from './client';
import { buildAtolCorrectionReceipt, buildAtolSellReceipt, formatAtolDate, type AtolReceiptKind, type AtolSellReceiptInput } from './receipt';
import type { BitrixClient } from '../bitrix/client';
import type { CompanyAccounts } from '../shared/company-clients';
import { buildReceipt, callbackUrlOf, classifyErrors } from '../shared/activity-errors';

export interface AtolActivityDeps {
  bitrix: BitrixClient;
  /** Each store's company's ATOL Online group (absent: ATOL is not configured for it). */
  accounts: CompanyAccounts;
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

export function createAtolActivities({ bitrix, accounts, config, callbackBaseUrl, logger }: AtolActivityDeps) {
  const posPaySystems = new Set(config.bitrix.posPaySystemIds);

  const storeWithCompany = (storeId: string) => {
    const store = config.stores.find((s) => s.id === storeId);
    if (!store?.company) throw ApplicationFailure.nonRetryable(`store ${storeId} has no company data for ATOL in POS_CONFIG`, 'config');
    return store as StoreConfig & { company: NonNullable<StoreConfig['company']> };
  };

  /**
   * Reads the order (so buyer contacts never enter workflow history), builds the body, sends it to the store's
   * company's group. ATOL deduplicates by external_id: a retry gets the original uuid back.
   */
  async function register<Body>(
    input: { orderId: string; storeId: string; externalId: string; receiptTime: string },
    operation: 'sell' | 'sell_correction',
    build: (common: AtolSellReceiptInput) => Body,
    send: (client: AtolClient, body: Body) => Promise<AtolRegistration>,
  ): Promise<AtolRegistration> {
    const client = accounts.atolOfStore(input.storeId);
    const store = storeWithCompany(input.storeId);
    const order = await bitrix.getOrder(input.orderId);
    const body = buildReceipt(operation === 'sell' ? 'ATOL receipt' : 'ATOL correction receipt', () =>
      build({
        order,
        externalId: input.externalId,
        receiptTime: new Date(input.receiptTime),
        timeZone: store.timeZone,
        company: store.company,
        kind: receiptKind(order, posPaySystems),
        callbackUrl: callbackUrlOf(callbackBaseUrl, '/webhooks/atol/callback'),
      }),
    );
    const registration = await send(client, body);
    logger?.info({ orderId: input.orderId, externalId: input.externalId, uuid: registration.uuid, alreadyAccepted: registration.alreadyAccepted }, `ATOL ${operation} registered`);
    return registration;
  }

  return classifyErrors({
    /**
     * Sends the sale receipt to ATOL Online, built from the Bitrix order (read here, so buyer contacts never
     * enter the workflow history). ATOL deduplicates by external_id: a retry gets the original uuid back.
     */
    async registerAtolSell(input: { orderId: string; storeId: string; externalId: string; receiptTime: string }): Promise<{ uuid: string; alreadyAccepted: boolean }> {
      return register(input, 'sell', buildAtolSellReceipt, (client, body) => client.sell(body));
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
      const registration = await register(
        input,
        'sell_correction',
        (common) => buildAtolCorrectionReceipt({ ...common, settlementTime: new Date(input.settlementTime), actTime: new Date(input.actTime), actNumber: input.actNumber }),
        (client, body) => client.sellCorrection(body),
      );
      const { timeZone } = storeWithCompany(input.storeId);
      return { ...registration, basis: { type: 'self', actDate: formatAtolDate(new Date(input.actTime), timeZone), actNumber: input.actNumber } };
    },

    /** `storeId` picks the store's company's group; histories from before several companies lack it (the default group). */
    async getAtolReport(input: { uuid: string; storeId?: string }): Promise<{ status: 'wait' | 'done' | 'fail'; fiscal?: FiscalAttributes; error?: string }> {
      const report = await accounts.atolOfStore(input.storeId).getReport(input.uuid);
      return {
        status: report.status,
        fiscal: report.fiscal,
        error: report.error ? `${report.error.text} (code ${report.error.code}, ${report.error.type})` : undefined,
      };
    },
  });
}

export type AtolActivities = ReturnType<typeof createAtolActivities>;
