import { activityInfo, ApplicationFailure, heartbeat } from '@temporalio/activity';
import type { DeductionOutcome, WalkInReceipt } from '../domain/walk-in';
import { ELEMENTS_PER_DOCUMENT } from '../domain/walk-in';
import { type PosConfig } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { BitrixClient } from '../activities/bitrix/client';
import { writeStoreDocument } from '../activities/bitrix/store-documents';
import type { CompanyAccounts } from '../activities/shared/company-clients';
import { createProductMapper } from '../activities/evotor/product-mapper';
import { classifyErrors } from '../activities/shared/activity-errors';

export interface WalkInActivityDeps {
  bitrix: BitrixClient;
  /** Each store's company's Evotor account (its catalog maps terminal products to Bitrix ones). */
  accounts: CompanyAccounts;
  config: PosConfig;
  logger?: Logger;
}

/** Title of the store document a batch writes: how a retried activity finds what it already did. */
export function walkInDocumentTitle(batchId: string, part: number): string {
  return part === 0 ? `POS walk-in ${batchId}` : `POS walk-in ${batchId} #${part + 1}`;
}

/** How often a running batch activity heartbeats (the workflow's heartbeat timeout is several times this). */
const HEARTBEAT_EVERY_MS = 2_000;

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export function createWalkInActivities({ bitrix, accounts, config, logger }: WalkInActivityDeps) {
  const mapProduct = createProductMapper((terminalStoreId) => accounts.evotorOfTerminalStore(terminalStoreId), config);

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
      documentIds.push(
        await writeStoreDocument(bitrix, {
          docType: 'D',
          title,
          commentary: `POS receipts: ${input.receipts.map((r) => r.key).join(', ')}`,
          responsibleId: config.bitrix.responsibleId,
          elements: chunk.map(([productId, amount]) => ({ productId, amount, warehouseId: store.bitrixStoreId })),
          // Only a retry can find its document already there.
          lookFirst: activityInfo().attempt > 1,
        }),
      );
    }
    logger?.info({ storeId: input.storeId, batchId: input.batchId, receipts: input.receipts.length, elements: elements.length, documentIds }, 'walk-in batch deducted');
    return outcomes.map((o) => (o.outcome === 'deducted' ? { ...o, documentId: documentIds[0] } : o));
  }
}

export type WalkInActivities = ReturnType<typeof createWalkInActivities>;
