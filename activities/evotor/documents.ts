import type { FiscalAttributes } from '../../domain/fiscal';
import type { EvotorDocument, EvotorPosPrintResult, EvotorProduct } from './schemas';

/** Where a catalog sync puts the Bitrix product id in an Evotor product. */
export type EvotorProductKey = 'code' | 'article_number';

/**
 * The Bitrix product id an Evotor catalog product carries in `key` (trimmed), or undefined when that
 * field is empty. No format check: a caller that expects numeric Bitrix ids checks that itself.
 */
export function bitrixProductIdOf(product: Pick<EvotorProduct, 'code' | 'article_number'>, key: EvotorProductKey): string | undefined {
  const value = (key === 'code' ? product.code : product.article_number)?.trim();
  return value ? value : undefined;
}

/** Milliseconds since epoch of a document's close_date ("2020-01-23T10:48:57.000+0000"). */
export function documentClosedAtMs(doc: Pick<EvotorDocument, 'close_date'>): number {
  return parseEvotorDate(doc.close_date);
}

/** Parses Evotor's "yyyy-MM-dd'T'HH:mm:ss.SSSZ" (offset without colon) and plain ISO 8601. */
export function parseEvotorDate(text: string): number {
  const normalized = text.trim().replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(normalized);
  if (Number.isNaN(ms)) throw new RangeError(`not an Evotor date: ${JSON.stringify(text)}`);
  return ms;
}

/**
 * The extras our terminal app wrote into a cloud document. The cloud keys extras by app id; a flat
 * object (as the webhook carries) is returned as it is.
 */
export function appExtrasFromDocument(doc: Pick<EvotorDocument, 'extras'>, appId?: string): Record<string, unknown> {
  const own = appId ? doc.extras[appId] : undefined;
  if (own && typeof own === 'object' && !Array.isArray(own)) return own as Record<string, unknown>;
  return doc.extras;
}

/**
 * Fiscal attributes of the receipt as the terminal's fiscal drive printed it, or null when the document
 * carries none (not fiscalized, or not a receipt). With several print groups, the first complete one.
 */
export function fiscalAttributesFromDocument(doc: EvotorDocument): FiscalAttributes | null {
  return fiscalAttributesListFromDocument(doc)[0] ?? null;
}

/** One entry per fiscalized print group. */
// Field names from a real cloud v2 SELL document's body.pos_print_results[] and Evotor's document reference (rest_buy).
export function fiscalAttributesListFromDocument(doc: EvotorDocument): FiscalAttributes[] {
  const out: FiscalAttributes[] = [];
  for (const r of doc.body.pos_print_results) {
    if (!r.fn_serial_number || r.fiscal_document_number === undefined || !r.fiscal_sign_doc_number) continue;
    const attrs: FiscalAttributes = {
      source: 'terminal',
      fnNumber: r.fn_serial_number.trim(),
      fiscalDocumentNumber: String(r.fiscal_document_number),
      fiscalSign: r.fiscal_sign_doc_number.trim(),
      receiptDateTime: receiptDateTime(r, doc),
    };
    if (r.receipt_number !== undefined) attrs.receiptNumber = String(r.receipt_number);
    if (r.session_number !== undefined) attrs.shiftNumber = String(r.session_number);
    const reg = r.kkt_reg_number?.trim();
    if (reg) attrs.registrationNumber = reg;
    if (r.check_sum !== undefined) attrs.total = r.check_sum;
    out.push(attrs);
  }
  return out;
}

function receiptDateTime(r: EvotorPosPrintResult, doc: EvotorDocument): string {
  const d = /^(\d{2})(\d{2})(\d{4})$/.exec(r.receipt_date ?? '');
  const t = /^(\d{2})(\d{2})$/.exec(r.receipt_time ?? '');
  if (d && t) {
    const local = Date.UTC(Number(d[3]), Number(d[2]) - 1, Number(d[1]), Number(t[1]), Number(t[2]));
    return new Date(local - doc.time_zone_offset).toISOString();
  }
  // Without the printed time, the close time of the document is the best the cloud knows.
  return new Date(documentClosedAtMs(doc)).toISOString();
}
