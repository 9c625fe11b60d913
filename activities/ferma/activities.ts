import { ApplicationFailure } from '@temporalio/activity';
import type { CorrectionBasis, FiscalAttributes } from '../../domain/fiscal';
import type { PosConfig, StoreConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import type { BitrixClient } from '../bitrix/client';
import { receiptKind } from '../atol/activities';
import { buildReceipt, callbackUrlOf, classifyErrors } from '../shared/activity-errors';
import type { FermaClient, FermaRegistration } from './client';
import { formatAtolDate } from '../atol/receipt';
import {
  buildFermaIncomeCorrection, buildFermaIncomeReceipt, buildFermaIncomeReturnReceipt,
  type FermaIncomeReceiptInput, type FermaReceiptKind,
} from './receipt';
import type { FermaReceiptRequest } from './wire';

export interface FermaActivityDeps {
  bitrix: BitrixClient;
  /** Absent when no store fiscalizes through OFD.ru Ferma. */
  ferma?: FermaClient;
  config: PosConfig;
  /** Public base URL of our API, for Ferma's callback (a hint that hurries the status poll). */
  callbackBaseUrl?: string;
  logger?: Logger;
}

export interface RegisterFermaReceiptInput {
  orderId: string;
  storeId: string;
  /** Deterministic per receipt, so that a retried activity is answered with the original receipt. */
  invoiceId: string;
  /** ISO 8601; decides the VAT rate of the lines. */
  receiptTime: string;
}

export interface RegisterFermaRefundInput extends RegisterFermaReceiptInput {
  /** ISO 8601 time of the refunded sale: its VAT rate applies. */
  saleTime: string;
  /** The sale receipt's kind; default: derived from the order's payments as for the sale. */
  saleKind?: FermaReceiptKind;
  /** What goes back; omitted = the whole order. */
  lines?: { basketId: string; quantity: number }[];
}

export interface FermaReceiptStatusResult {
  status: 'wait' | 'done' | 'fail';
  fiscal?: FiscalAttributes;
  error?: string;
}


export function createFermaActivities({ bitrix, ferma, config, callbackBaseUrl, logger }: FermaActivityDeps) {
  const posPaySystems = new Set(config.bitrix.posPaySystemIds);
  const requireFerma = (): FermaClient => {
    if (!ferma) throw ApplicationFailure.nonRetryable('OFD.ru Ferma is not configured (FERMA_API_URL, FERMA_LOGIN, FERMA_PASSWORD)', 'config');
    return ferma;
  };
  const storeWithCompany = (storeId: string): StoreConfig & { company: NonNullable<StoreConfig['company']> } => {
    const store = config.stores.find((s) => s.id === storeId);
    if (!store?.company) throw ApplicationFailure.nonRetryable(`store ${storeId} has no company data for Ferma in POS_CONFIG`, 'config');
    return store as StoreConfig & { company: NonNullable<StoreConfig['company']> };
  };
  // Ferma's callback body names only its own ReceiptId: our InvoiceId travels in the URL, so the callback
  // can wake the right workflow (it is a hint only; the workflow reads the status from Ferma itself).
  const callbackUrl = (invoiceId: string) =>
    callbackUrlOf(callbackBaseUrl, `/webhooks/ferma/callback?invoiceId=${encodeURIComponent(invoiceId)}`);

  /** Reads the order (so buyer contacts never enter workflow history), builds the body, sends it. */
  async function register(
    input: RegisterFermaReceiptInput,
    build: (common: FermaIncomeReceiptInput) => FermaReceiptRequest,
  ): Promise<FermaRegistration> {
    const client = requireFerma();
    const store = storeWithCompany(input.storeId);
    const order = await bitrix.getOrder(input.orderId);
    const body = buildReceipt('Ferma receipt', () =>
      build({
        order,
        invoiceId: input.invoiceId,
        receiptTime: new Date(input.receiptTime),
        timeZone: store.timeZone,
        company: store.company,
        kind: receiptKind(order, posPaySystems),
        callbackUrl: callbackUrl(input.invoiceId),
      }),
    );
    const registration = await client.register(body);
    logger?.info(
      { orderId: input.orderId, type: body.Request.Type, invoiceId: input.invoiceId, receiptId: registration.receiptId, alreadyAccepted: registration.alreadyAccepted },
      'Ferma receipt registered',
    );
    return registration;
  }

  return classifyErrors({
    /** Sends the Income receipt of a pickup payment. Ferma deduplicates by InvoiceId: a retry gets the original receipt. */
    async registerFermaReceipt(input: RegisterFermaReceiptInput): Promise<{ receiptId: string; alreadyAccepted: boolean }> {
      const { receiptId, alreadyAccepted } = await register(input, buildFermaIncomeReceipt);
      return { receiptId, alreadyAccepted };
    },

    /** Sends the IncomeReturn receipt of a refund, with the sale's VAT and payment form; same idempotency. */
    async registerFermaRefund(input: RegisterFermaRefundInput): Promise<{ receiptId: string; alreadyAccepted: boolean }> {
      const { receiptId, alreadyAccepted } = await register(input, (common) => buildFermaIncomeReturnReceipt({
        ...common,
        kind: input.saleKind ?? common.kind,
        saleTime: new Date(input.saleTime),
        lines: input.lines,
      }));
      return { receiptId, alreadyAccepted };
    },

    /**
     * Sends the IncomeCorrection (CorrectionInfo SELF) of a pickup payment whose receipt was not issued at the
     * time; its own InvoiceId, so a retry gets the original receipt (1019). Answers the basis it printed.
     */
    async registerFermaCorrection(
      input: RegisterFermaReceiptInput & { settlementTime: string; actTime: string; actNumber: string },
    ): Promise<{ receiptId: string; alreadyAccepted: boolean; basis: CorrectionBasis }> {
      const { receiptId, alreadyAccepted } = await register(input, (common) => buildFermaIncomeCorrection({
        ...common,
        settlementTime: new Date(input.settlementTime),
        actTime: new Date(input.actTime),
        actNumber: input.actNumber,
      }));
      const { timeZone } = storeWithCompany(input.storeId);
      return { receiptId, alreadyAccepted, basis: { type: 'self', actDate: formatAtolDate(new Date(input.actTime), timeZone), actNumber: input.actNumber } };
    },

    async getFermaReceiptStatus(input: { receiptId: string }): Promise<FermaReceiptStatusResult> {
      const status = await requireFerma().getStatus({ receiptId: input.receiptId });
      return {
        status: status.status,
        fiscal: status.status === 'done' ? status.fiscal : undefined,
        error: status.error ? `${status.error.message} (Ferma ${status.stage})` : undefined,
      };
    },
  });
}

export type FermaActivities = ReturnType<typeof createFermaActivities>;
