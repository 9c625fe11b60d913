import { activityInfo, ApplicationFailure, heartbeat } from '@temporalio/activity';
import type { DeductionOutcome, WalkInReceipt } from '../../domain/walk-in';
import { ELEMENTS_PER_DOCUMENT } from '../../domain/walk-in';
import { durationMs, type PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import type { BitrixClient } from '../bitrix/client';
import { bitrixProductIdOf, type EvotorCloudClient, type EvotorProduct } from '../evotor/client';
import { classifyErrors } from '../shared/activity-errors';
import { ExternalServiceError } from '../shared/errors';

export interface WalkInActivityDeps {
  bitrix: BitrixClient;
  evotor: EvotorCloudClient;
  config: PosConfig;
  logger?: Logger;
}

/** Title of the store document a batch writes: how a retried activity finds what it already did. */
export function walkInDocumentTitle(batchId: string, part: number): string {
  return part === 0 ? `POS walk-in ${batchId}` : `POS walk-in ${batchId} #${part + 1}`;
}

type Catalog = { loadedAt: number; bitrixIdByTerminalId: Map<string, string | undefined> };

/**
 * Maps terminal products to Bitrix products by the configured catalog key (the Evotor product's `code`
 * or `article_number` holds the Bitrix product id). Each store's catalog is read once and cached.
 */
export function createProductMapper(evotor: EvotorCloudClient, config: PosConfig) {
  const ttl = durationMs(config.products.cacheTtl);
  const catalogs = new Map<string, Catalog>();
  const keyOf = (p: EvotorProduct) => {
    const value = bitrixProductIdOf(p, config.products.evotorKey);
    return value && /^\d+$/.test(value) ? value : undefined;
  };
  async function load(terminalStoreId: string): Promise<Catalog> {
    const products = await evotor.listProducts(terminalStoreId);
    const catalog: Catalog = { loadedAt: Date.now(), bitrixIdByTerminalId: new Map(products.map((p) => [p.id, keyOf(p)])) };
    catalogs.set(terminalStoreId, catalog);
    return catalog;
  }
  return async function bitrixProductId(terminalStoreId: string, terminalProductId: string): Promise<string | undefined> {
    let catalog = catalogs.get(terminalStoreId);
    if (!catalog || Date.now() - catalog.loadedAt > ttl) catalog = await load(terminalStoreId);
    if (!catalog.bitrixIdByTerminalId.has(terminalProductId)) {
      // A product added at the terminal after the catalog was read.
      const product = await evotor.getProduct(terminalStoreId, terminalProductId);
      catalog.bitrixIdByTerminalId.set(terminalProductId, product ? keyOf(product) : undefined);
    }
    return catalog.bitrixIdByTerminalId.get(terminalProductId);
  };
}

/** How often a running batch activity heartbeats (the workflow's heartbeat timeout is several times this). */
const HEARTBEAT_EVERY_MS = 2_000;

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export function createWalkInActivities({ bitrix, evotor, config, logger }: WalkInActivityDeps) {
  const mapProduct = createProductMapper(evotor, config);

  return classifyErrors({
    /**
     * Writes off the lines of many walk-in receipts with one store document (type D) per batch: document,
     * elements (one per product, quantities of all receipts added up) and conduct in ONE Bitrix `batch`
     * call. A retry looks for the document by its title first, so a call that was applied but whose answer
     * was lost is never applied twice.
     */
    async deductWalkInBatch(input: { storeId: string; batchId: string; receipts: WalkInReceipt[] }): Promise<DeductionOutcome[]> {
      // Heartbeats while Bitrix works: a worker that dies mid-batch is noticed within the heartbeat timeout
      // (not the 2-minute start-to-close), and the retry finds the document by its title.
      const beat = setInterval(() => heartbeat(), HEARTBEAT_EVERY_MS);
      try {
        return await deductBatch(input);
      } finally {
        clearInterval(beat);
      }
    },
  });

  async function deductBatch(input: { storeId: string; batchId: string; receipts: WalkInReceipt[] }): Promise<DeductionOutcome[]> {
    const store = config.stores.find((s) => s.id === input.storeId);
    if (!store) throw ApplicationFailure.nonRetryable(`store ${input.storeId} is not in POS_CONFIG`, 'config');
    const outcomes: DeductionOutcome[] = [];
    const amounts = new Map<string, number>();
    for (const receipt of input.receipts) {
      const mapped: { productId: string; quantity: number }[] = [];
      let problem: string | undefined;
      for (const line of receipt.lines) {
        let productId = line.bitrixProductId;
        if (!productId && line.terminalProductId && receipt.terminalStoreId)
          productId = await mapProduct(receipt.terminalStoreId, line.terminalProductId);
        if (!productId) {
          problem = `product "${line.name}" (terminal id ${line.terminalProductId ?? '-'}) has no Bitrix product id in its ${config.products.evotorKey}`;
          break;
        }
        if (!(line.quantity > 0)) {
          problem = `product "${line.name}": quantity ${line.quantity} is not positive`;
          break;
        }
        mapped.push({ productId, quantity: line.quantity });
      }
      if (problem) {
        outcomes.push({ receiptKey: receipt.key, outcome: 'rejected', reason: problem });
        continue;
      }
      for (const m of mapped) amounts.set(m.productId, round3((amounts.get(m.productId) ?? 0) + m.quantity));
      outcomes.push({ receiptKey: receipt.key, outcome: 'deducted', documentId: '' });
    }
    if (amounts.size === 0) return outcomes;

    const elements = [...amounts.entries()];
    const documentIds: string[] = [];
    for (let part = 0; part * ELEMENTS_PER_DOCUMENT < elements.length; part++) {
      const chunk = elements.slice(part * ELEMENTS_PER_DOCUMENT, (part + 1) * ELEMENTS_PER_DOCUMENT);
      const title = walkInDocumentTitle(input.batchId, part);
      documentIds.push(await writeDocument(title, chunk, input.receipts.map((r) => r.key), store.bitrixStoreId));
    }
    logger?.info({ storeId: input.storeId, batchId: input.batchId, receipts: input.receipts.length, elements: elements.length, documentIds }, 'walk-in batch deducted');
    return outcomes.map((o) => (o.outcome === 'deducted' ? { ...o, documentId: documentIds[0] } : o));
  }

  async function writeDocument(title: string, chunk: [string, number][], receiptKeys: string[], warehouseId: string): Promise<string> {
    let existing: { id: string; status?: string } | undefined;
    if (activityInfo().attempt > 1) {
      [existing] = await bitrix.listDocuments({ title });
      if (existing?.status === 'Y') return existing.id;
    }
    const commands: Parameters<BitrixClient['batch']>[0] = {};
    let docRef: string;
    let have = new Map<string, number>();
    if (existing) {
      docRef = existing.id;
      const rows = await bitrix.listAll<{ elementId: string | number; amount: string | number }>(
        'catalog.document.element.list',
        { filter: { docId: existing.id } },
        (r) => (r as { documentElements?: { elementId: string | number; amount: string | number }[] }).documentElements ?? [],
      );
      have = new Map(rows.map((row) => [String(row.elementId), Number(row.amount)]));
    } else {
      docRef = '$result[doc][document][id]';
      commands.doc = {
        method: 'catalog.document.add',
        params: { fields: { docType: 'D', currency: 'RUB', responsibleId: config.bitrix.responsibleId, title, commentary: `POS receipts: ${receiptKeys.join(', ')}`.slice(0, 4000) } },
      };
    }
    chunk.forEach(([productId, amount], i) => {
      if (have.get(productId) === amount) return;
      commands[`e${i}`] = { method: 'catalog.document.element.add', params: { fields: { docId: docRef, elementId: productId, storeFrom: warehouseId, amount } } };
    });
    commands.conduct = { method: 'catalog.document.conduct', params: { id: docRef } };
    const { results, errors } = await bitrix.batch(commands, { halt: true });
    const failed = Object.entries(errors);
    if (failed.length > 0) {
      const [key, err] = failed[0];
      // Stock or catalog errors will not pass on a retry; the workflow isolates the receipt that causes it.
      throw new ExternalServiceError('bitrix', String(err.error || 'BATCH_COMMAND_FAILED'), `${key}: ${err.error_description}`, false);
    }
    if (existing) return existing.id;
    const doc = results.doc as { document?: { id?: string | number } } | undefined;
    return String(doc?.document?.id ?? '');
  }
}

export type WalkInActivities = ReturnType<typeof createWalkInActivities>;
