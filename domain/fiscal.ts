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
  /** Set when this is a correction receipt (54-FZ: a settlement whose receipt was not issued at the time). */
  correction?: CorrectionBasis;
}

/**
 * The basis of a correction receipt (FFD 1.2 tags 1173, 1178, 1179): corrected on the seller's own initiative,
 * by its act of that date and number. The act is the accountant's paper for the late receipt.
 */
export interface CorrectionBasis {
  type: 'self';
  /** Date of the act, dd.MM.yyyy in the store's time zone (as the register prints it). */
  actDate: string;
  /** Number of the act: correctionActNumber(orderId). */
  actNumber: string;
}

/**
 * The id a cloud register deduplicates an order's sale receipt by (ATOL `external_id`, Ferma `InvoiceId`):
 * deterministic, so a resend gets the first receipt back (ATOL code 33, Ferma 1019).
 */
export function cloudSellExternalId(orderId: string, attempt: number): string {
  return attempt <= 1 ? `pos-${orderId}-sell` : `pos-${orderId}-sell-${attempt}`;
}

/**
 * The id a cloud register deduplicates an order's correction receipt by: distinct from the sale receipt's, so a
 * register never takes one for the other, and deterministic, so a resend gets the first one back.
 */
export function cloudCorrectionExternalId(orderId: string, attempt: number): string {
  return attempt <= 1 ? `pos-${orderId}-correction` : `pos-${orderId}-correction-${attempt}`;
}

/**
 * The number of the seller's act behind an order's correction receipt (tag 1179): one act per order, so every
 * retry and every resend carries the same basis. ≤ 22 characters (the tag allows 32).
 */
export function correctionActNumber(orderId: string): string {
  return `POS-${orderId}`;
}

/** The order id in an id made by cloudSellExternalId or cloudCorrectionExternalId, or undefined for anything else. */
export function orderIdOfCloudSellExternalId(externalId: string): string | undefined {
  // Only the canonical order id (domain/ids.ts): "pos-029-sell" is no receipt of ours.
  return /^pos-([1-9]\d{0,17})-(?:sell|correction)(?:-[1-9]\d{0,3})?$/.exec(externalId)?.[1];
}
