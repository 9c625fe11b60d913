/** Fiscal attributes of one 54-FZ receipt, whichever route fiscalized it. Times are ISO 8601 UTC. */
export interface FiscalAttributes {
  /** Where it came from: the terminal's own fiscal drive, a cloud register, or 1C:Retail. */
  source: 'terminal' | 'atol' | 'ferma' | '1c';
  /** ФН number (tag 1041). */
  fnNumber: string;
  /** Fiscal document number (tag 1040). */
  fiscalDocumentNumber: string;
  /** Fiscal sign ФПД (tag 1077). */
  fiscalSign: string;
  /** Receipt date and time (tag 1012), ISO 8601 UTC. */
  receiptDateTime: string;
  /** Receipt number within the shift (tag 1042). */
  receiptNumber?: string;
  /** Shift number (tag 1038). */
  shiftNumber?: string;
  /** ККТ registration number (tag 1037). */
  registrationNumber?: string;
  /** Link to the receipt at the OFD, when known. */
  ofdUrl?: string;
  /** Total of the fiscal receipt, in kopecks (tag 1020), when known. */
  total?: number;
}

/**
 * The id a cloud register deduplicates an order's sale receipt by (ATOL `external_id`, Ferma `InvoiceId`):
 * deterministic, so a resend gets the first receipt back (ATOL code 33, Ferma 1019).
 */
export function cloudSellExternalId(orderId: string, attempt: number): string {
  return attempt <= 1 ? `pos-${orderId}-sell` : `pos-${orderId}-sell-${attempt}`;
}

/** The order id in an id made by cloudSellExternalId, or undefined for anything else. */
export function orderIdOfCloudSellExternalId(externalId: string): string | undefined {
  // Only the canonical order id (domain/ids.ts): "pos-029-sell" is no receipt of ours.
  return /^pos-([1-9]\d{0,17})-sell(?:-[1-9]\d{0,3})?$/.exec(externalId)?.[1];
}
