import { upsertSearchAttributes } from '@temporalio/workflow';
import type { OrderSaleFacts } from '../../activities/bitrix/refund';
import type { RefundStore, SaleLookup } from '../../cross-system/refund-lookup';
import type { FiscalAttributes } from '../../domain/fiscal';
import type { ProductQuantity, SaleFacts } from '../../domain/refund';
import { PosFiscalMode, PosOrderId, PosOrderNumber, PosReceiptId, PosStore, PosTerminal, PosTotal } from '../../domain/search-attributes';
import type { ReceiptLine } from '../../domain/walk-in';
import { orderSaleKey, walkInSaleKey } from '../../domain/workflow-ids';
import { bitrix, evotor, lookup } from './activities';
import type { RefundRun } from './run';

type FoundSale = Extract<SaleLookup, { status: 'order' | 'walk-in' }>;
export type LoadedOrderSale = Extract<OrderSaleFacts, { found: true }>;

/** The sale a refund takes back: what its ledger is told it was, and where it came from. */
export type LocatedSale = {
  /** Our store of the refund receipt. */
  store: RefundStore;
  /** The sale as its ledger knows it: the key, what was sold and paid. */
  facts: SaleFacts;
  /** The refund receipt's fiscal data, when the terminal printed it (Evotor). */
  terminalFiscal?: FiscalAttributes;
} & ({ kind: 'order'; found: Extract<FoundSale, { status: 'order' }>; order: LoadedOrderSale } | { kind: 'walk-in'; found: Extract<FoundSale, { status: 'walk-in' }> });

/**
 * Finds the refund's store and the sale it refunds (waiting for the sale when it is not through its own
 * workflow yet), reads the refunded goods, and what the sale was: the Bitrix order, or the walk-in receipt.
 */
export async function locateSale(run: RefundRun): Promise<LocatedSale> {
  const { input, refund, state } = run;
  run.enter('LOCATING_SALE', 'the sale this refund belongs to', undefined, [
    { key: PosReceiptId, value: refund.receiptId },
    { key: PosTerminal, value: refund.deviceId },
    { key: PosTotal, value: refund.amount },
    ...(input.storeId ? [{ key: PosStore, value: input.storeId }] : []),
  ]);
  const { store, saleDeadlineMs } = await locateStore(run);
  state.storeId = store.id;
  state.fiscalMode = store.fiscalMode;
  upsertSearchAttributes([
    { key: PosStore, value: store.id },
    { key: PosFiscalMode, value: store.fiscalMode },
  ]);

  const { baseReceiptId, fiscal: terminalFiscal } = await baseOfRefund(run, saleDeadlineMs);
  state.saleReceiptId = baseReceiptId;
  while (!baseReceiptId && !refund.orderId)
    await run.needsAttention(
      'find the sale',
      'the refund receipt names no sale (no base document, no order id)',
      'Find the sale by hand and reverse it in Bitrix, then resolve with a note.',
    );
  const found = await findSale(run, baseReceiptId, saleDeadlineMs);
  const evotorStore = refund.terminalKind === 'evotor' ? refund.terminalStoreId : undefined;
  state.lines = await mapLines(run, evotorStore, input.lines, 'refunded goods');

  let located: LocatedSale;
  if (found.status === 'order') {
    const order = await loadOrder(run, found.orderId);
    state.sale = { kind: 'order', orderId: found.orderId, accountNumber: order.accountNumber };
    upsertSearchAttributes([
      { key: PosOrderId, value: found.orderId },
      { key: PosOrderNumber, value: order.accountNumber },
    ]);
    const facts: SaleFacts = {
      saleKey: orderSaleKey(found.orderId),
      kind: 'order',
      orderId: found.orderId,
      storeId: store.id,
      sold: order.sold,
      paid: found.paidAmount || order.posPayment?.sum || order.total,
      currency: order.currency,
    };
    located = { kind: 'order', store, facts, terminalFiscal, found, order };
  } else {
    state.sale = { kind: 'walk-in' };
    const sold = await mapLines(run, evotorStore, found.lines, 'goods of the sale');
    const facts: SaleFacts = {
      saleKey: walkInSaleKey(found.terminalStoreId, baseReceiptId!),
      kind: 'walk-in',
      storeId: found.storeId ?? store.id,
      sold,
      paid: found.amount,
      currency: found.currency,
    };
    located = { kind: 'walk-in', store, facts, terminalFiscal, found };
  }
  run.describe();
  return located;
}

/** Our store of the refund receipt. */
async function locateStore({ input, refund, step, needsAttention }: RefundRun): Promise<{ store: RefundStore; saleDeadlineMs: number }> {
  for (;;) {
    const settings = await step('find the store', 'Check POS_CONFIG, then retry.', () => lookup.refundSettings({ terminalStoreId: refund.terminalStoreId, storeId: input.storeId }));
    if (settings.store) return { store: settings.store, saleDeadlineMs: settings.saleDeadlineMs };
    await needsAttention('find the store', settings.problem ?? 'unknown store', 'Add the store to POS_CONFIG, then retry; or resolve with a note.');
  }
}

/** The sale the refund names (Evotor: the refund's cloud document's base_document_id) and its fiscal data. */
async function baseOfRefund({ input, refund, step, waitFor }: RefundRun, deadlineMs: number): Promise<{ baseReceiptId?: string; fiscal?: FiscalAttributes }> {
  if (refund.terminalKind !== 'evotor') return { baseReceiptId: input.baseReceiptId };
  const doc = await waitFor<{ baseReceiptId?: string; fiscal?: FiscalAttributes }>('the refund receipt in the Evotor cloud', 'read the refund receipt', 'Check that the terminal is online and uploaded the refund, then retry.', deadlineMs, async () => {
    const found = await step('read the refund receipt', 'Check that the Evotor cloud is reachable, then retry.', () =>
      evotor.readRefundDocument({ terminalStoreId: refund.terminalStoreId, receiptId: refund.receiptId }),
    );
    return found.found ? { value: found } : { pending: 'the Evotor cloud has no document for the refund receipt yet' };
  });
  return { baseReceiptId: input.baseReceiptId ?? doc.baseReceiptId, fiscal: doc.fiscal };
}

/** The sale's own workflow's answer: an order or a walk-in sale; while it is not through yet, asked again. */
async function findSale({ refund, step, waitFor, needsAttention }: RefundRun, saleReceiptId: string | undefined, deadlineMs: number): Promise<FoundSale> {
  for (;;) {
    const found = await waitFor<SaleLookup>(
      'the sale to be processed',
      'find the sale',
      'Check the sale receipt and its workflow (filter PosReceiptId); once it is processed, retry. Or handle the refund by hand and resolve with a note.',
      deadlineMs,
      async () => {
        const answer = await step('find the sale', 'Check that Temporal is reachable, then retry.', () =>
          lookup.findSale({ terminalStoreId: refund.terminalStoreId, saleReceiptId, orderIdHint: refund.orderId }),
        );
        return answer.status === 'pending' ? { pending: answer.reason } : { value: answer };
      },
    );
    if (found.status === 'order' || found.status === 'walk-in') return found;
    if (found.status === 'problem') await needsAttention('find the sale', found.reason, found.action);
  }
}

/** Receipt lines as Bitrix products; a product the catalog does not know is stopped for a person. */
async function mapLines({ step, needsAttention }: RefundRun, terminalStoreId: string | undefined, lines: ReceiptLine[], what: string): Promise<ProductQuantity[]> {
  for (;;) {
    const mapped = await step(`read the ${what}`, 'Check that the Evotor cloud and Bitrix are reachable, then retry.', () => bitrix.mapRefundLines({ terminalStoreId, lines }));
    if ('lines' in mapped) return mapped.lines;
    await needsAttention(`read the ${what}`, mapped.problem, 'Give the product its Bitrix id in the terminal catalog, then retry; or handle the refund by hand and resolve with a note.');
  }
}

/** The Bitrix order the sale was: what it sold, its total, its POS payment. */
async function loadOrder({ step, needsAttention }: RefundRun, orderId: string): Promise<LoadedOrderSale> {
  for (;;) {
    const facts = await step('load order', 'Check that Bitrix is reachable, then retry.', () => bitrix.loadOrderSale({ orderId }));
    if (facts.found) return facts;
    await needsAttention('load order', facts.reason, 'Handle the refund by hand, then resolve with a note.');
  }
}
