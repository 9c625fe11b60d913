import type { BitrixClient } from './client';
import { ExternalServiceError } from '../shared/errors';

export interface StoreDocumentElement {
  productId: string;
  amount: number;
  /** The warehouse goods leave (deduction, type D) or arrive at (return, type R). */
  warehouseId: string;
}

/**
 * Writes one conducted store document — the document, its elements and the conduct in ONE Bitrix `batch`
 * call — so that it exists at most once: when `lookFirst` (a retry, or a step a person may repeat), the
 * document is first looked up by its title; a conducted one is returned as it is, a half-written one is
 * completed with the elements it lacks. A command Bitrix refuses (stock, catalog) fails for good: a retry
 * would be refused the same way.
 */
export async function writeStoreDocument(
  bitrix: BitrixClient,
  doc: { docType: 'D' | 'R'; title: string; commentary: string; responsibleId: string; elements: StoreDocumentElement[]; lookFirst: boolean },
): Promise<string> {
  const warehouseField = doc.docType === 'D' ? 'storeFrom' : 'storeTo';
  let existing: { id: string; status?: string } | undefined;
  if (doc.lookFirst) {
    [existing] = await bitrix.listDocuments({ title: doc.title });
    if (existing?.status === 'Y') return existing.id;
  }
  const commands: Parameters<BitrixClient['batch']>[0] = {};
  let docRef = '$result[doc][document][id]';
  const have = new Set<string>();
  const key = (productId: string | number, warehouseId: string | number | null | undefined, amount: string | number) => `${productId}:${warehouseId ?? ''}:${Number(amount)}`;
  if (existing) {
    docRef = existing.id;
    type Row = { elementId: string | number; amount: string | number; storeFrom?: string | number | null; storeTo?: string | number | null };
    const rows = await bitrix.listAll<Row>('catalog.document.element.list', { filter: { docId: existing.id } }, (r) => (r as { documentElements?: Row[] }).documentElements ?? []);
    for (const row of rows) have.add(key(row.elementId, row[warehouseField], row.amount));
  } else {
    commands.doc = {
      method: 'catalog.document.add',
      params: { fields: { docType: doc.docType, currency: 'RUB', responsibleId: doc.responsibleId, title: doc.title, commentary: doc.commentary.slice(0, 4000) } },
    };
  }
  doc.elements.forEach((e, i) => {
    if (have.has(key(e.productId, e.warehouseId, e.amount))) return;
    commands[`e${i}`] = { method: 'catalog.document.element.add', params: { fields: { docId: docRef, elementId: e.productId, [warehouseField]: e.warehouseId, amount: e.amount } } };
  });
  commands.conduct = { method: 'catalog.document.conduct', params: { id: docRef } };
  const { results, errors } = await bitrix.batch(commands, { halt: true });
  const failed = Object.entries(errors);
  if (failed.length > 0) {
    const [command, err] = failed[0];
    throw new ExternalServiceError('bitrix', String(err.error || 'BATCH_COMMAND_FAILED'), `${command}: ${err.error_description}`, false);
  }
  if (existing) return existing.id;
  const added = results.doc as { document?: { id?: string | number } } | undefined;
  return String(added?.document?.id ?? '');
}
