import type { FiscalAttributes } from './fiscal';
import type { Kopecks } from './money';

/**
 * Bitrix REST cashboxes (docs/external-apis.md §1a): Bitrix makes a check for a payment by its own cashbox rules
 * and POSTs it to our PRINT_URL; we answer with the fiscal data the sale already has (sale.cashbox.check.apply).
 */

/** The handler code we register (sale.cashbox.handler.add CODE: unique among the portal's handlers). */
export const CASHBOX_HANDLER_CODE = 'pos_bridge_cashbox';

/**
 * Our cashbox of a store is recognised by its NUMBER_KKM ("external identifier of the cash register"), which
 * Bitrix sends back as `number_kkm` in every print request; sale.cashbox.list shows it, not the SETTINGS.
 */
export function cashboxNumberOfStore(storeId: string): string {
  return `pos-bridge:${storeId}`;
}

export function storeOfCashboxNumber(numberKkm: string): string | undefined {
  return /^pos-bridge:([A-Za-z0-9_.-]{1,64})$/.exec(numberKkm)?.[1];
}

/** Which of our records answers a check type: a sale (sell) or a refund (sellreturn, sellreturncash). */
export type CheckKind = 'sale' | 'refund';

export const CHECK_TYPES: Record<string, CheckKind> = { sell: 'sale', sellreturn: 'refund', sellreturncash: 'refund' };

export interface CashboxCheckInput {
  uuid: string;
  storeId: string;
  kind: CheckKind;
  /** Bitrix's check type as it sent it (sell, sellreturn, sellreturncash). */
  checkType: string;
  total: Kopecks;
  /** The workflow holding the sale's (or refund's) fiscal data: pos-payment:{orderId} or refund:{store}:{receipt}. */
  saleWorkflowId: string;
  orderId?: string;
  refundReceiptId?: string;
}

export type CashboxCheckStage = 'FISCALIZING' | 'CONFIRMING' | 'COMPLETED' | 'NEEDS_ATTENTION';

export interface CashboxCheckStatus extends CashboxCheckInput {
  stage: CashboxCheckStage;
  stageSince: string;
  fiscal?: FiscalAttributes;
  /** Reads of the sale's fiscal data so far. */
  reads: number;
  problem?: { message: string; action: string; at: string };
}

/** sale.cashbox.check.apply's fields from our fiscal attributes (all strings, as Bitrix documents them). */
export function checkApplyFields(uuid: string, fiscal: FiscalAttributes): Record<string, string> {
  return {
    UUID: uuid,
    PRINT_END_TIME: String(Math.floor(Date.parse(fiscal.receiptDateTime) / 1000)),
    REG_NUMBER_KKT: fiscal.registrationNumber ?? '',
    FISCAL_DOC_ATTR: fiscal.fiscalSign,
    FISCAL_DOC_NUMBER: fiscal.fiscalDocumentNumber,
    FISCAL_RECEIPT_NUMBER: fiscal.receiptNumber ?? '',
    FN_NUMBER: fiscal.fnNumber,
    SHIFT_NUMBER: fiscal.shiftNumber ?? '',
  };
}
