import { ApplicationFailure } from '@temporalio/activity';
import type { Kopecks } from '../../domain/money';
import type { OrderSnapshot } from '../../domain/order';
import { byProduct, formatRefundComment, parseRefundComment, refundDocumentTitle, type ProductQuantity } from '../../domain/refund';
import type { ReceiptLine } from '../../domain/walk-in';
import { createProductMapper } from '../evotor/product-mapper';
import { classifyErrors } from '../shared/activity-errors';
import { ExternalServiceError } from '../shared/errors';
import type { RefundActivityDeps } from '../shared/refund-lines';
import { writeStoreDocument } from './store-documents';

/** Bitrix `sale` error code for "order does not exist". */
const ORDER_NOT_FOUND = '200540400001';

export type OrderSaleFacts =
  | { found: false; reason: string }
  | {
      found: true;
      accountNumber: string;
      currency: string;
      total: Kopecks;
      sold: ProductQuantity[];
      /** The order's payment in a POS pay system (the one a terminal refund returns). */
      posPayment?: { id: string; paySystemId: string; sum: Kopecks };
    };

export interface RecordPaymentReturnInput {
  orderId: string;
  paymentId: string;
  paySystemId: string;
  /** The sale's receipt ids: only a payment marked paid with them (psInvoiceId) is ours to return. */
  saleReceiptIds: string[];
  refundReceiptId: string;
  refundedAt: string;
  /** Every refund of the sale so far (from its ledger), this one included. */
  refunds: { refundId: string; amount: Kopecks }[];
  fullyRefunded: boolean;
  paid: Kopecks;
  currency: string;
}

/**
 * The refund steps in Bitrix: what an order sold, the goods back on the shelf, the payment returned, the
 * order settled. Each reads before it writes, so a retry after a lost answer changes nothing.
 */
export function createBitrixRefundActivities({ bitrix, accounts, config, logger }: Pick<RefundActivityDeps, 'bitrix' | 'accounts' | 'config' | 'logger'>) {
  const mapProduct = createProductMapper((terminalStoreId) => accounts.evotorOfTerminalStore(terminalStoreId), config);
  const posPaySystems = new Set(config.bitrix.posPaySystemIds);

  /** Quantities by Bitrix product id; a line whose product cannot be mapped is named. */
  async function mapLines(terminalStoreId: string | undefined, lines: ReceiptLine[]): Promise<{ lines: ProductQuantity[] } | { problem: string }> {
    const out: ProductQuantity[] = [];
    for (const line of lines) {
      let productId = line.bitrixProductId;
      if (!productId && line.terminalProductId && terminalStoreId) productId = await mapProduct(terminalStoreId, line.terminalProductId);
      if (!productId)
        return { problem: `product "${line.name}" (terminal id ${line.terminalProductId ?? '-'}) has no Bitrix product id in its ${config.products.evotorKey}` };
      if (!(line.quantity > 0)) return { problem: `product "${line.name}": quantity ${line.quantity} is not positive` };
      out.push({ productId, quantity: line.quantity });
    }
    return { lines: [...byProduct(out)].map(([productId, quantity]) => ({ productId, quantity })) };
  }

  /**
   * Returns goods with one conducted store document (type R, return) found by its title first: a retry, or
   * a second attempt after a person's retry, completes the document it already started instead of adding one.
   */
  async function returnByDocument(refundReceiptId: string, elements: { productId: string; quantity: number; warehouseId: string }[]): Promise<string> {
    return writeStoreDocument(bitrix, {
      docType: 'R',
      title: refundDocumentTitle(refundReceiptId),
      commentary: `POS refund receipt ${refundReceiptId}`,
      responsibleId: config.bitrix.responsibleId,
      elements: elements.map((e) => ({ productId: e.productId, amount: e.quantity, warehouseId: e.warehouseId })),
      lookFirst: true,
    });
  }

  return classifyErrors({
    async mapRefundLines(input: { terminalStoreId?: string; lines: ReceiptLine[] }): Promise<{ lines: ProductQuantity[] } | { problem: string }> {
      return mapLines(input.terminalStoreId, input.lines);
    },

    /** What the order sold (by product) and its POS payment: the limits of its refunds. */
    async loadOrderSale(input: { orderId: string }): Promise<OrderSaleFacts> {
      let order: OrderSnapshot;
      try {
        order = await bitrix.getOrder(input.orderId);
      } catch (e) {
        if (e instanceof ExternalServiceError && e.code === ORDER_NOT_FOUND) return { found: false, reason: `order ${input.orderId} does not exist in Bitrix` };
        throw e;
      }
      const posPayment = order.payments.find((p) => posPaySystems.has(p.paySystemId));
      return {
        found: true,
        accountNumber: order.accountNumber,
        currency: order.currency,
        total: order.total,
        sold: [...byProduct(order.items.map((i) => ({ productId: i.productId, quantity: i.quantity })))].map(([productId, quantity]) => ({ productId, quantity })),
        ...(posPayment ? { posPayment: { id: posPayment.id, paySystemId: posPayment.paySystemId, sum: posPayment.sum } } : {}),
      };
    },

    /**
     * Puts an order's refunded goods back where its shipment took them from. The whole sale in one refund:
     * the shipments are reversed (Bitrix returns every item to the warehouse it left, and the order can be
     * cancelled). Part of it: a return document (type R) to the items' reserved warehouses. Goods whose
     * shipment was never deducted never left: nothing to return.
     */
    async returnOrderStock(input: { orderId: string; refundReceiptId: string; wholeSale: boolean; lines: ProductQuantity[] }): Promise<{ outcome: 'shipments-reversed' | 'document' | 'not-deducted'; shipmentIds?: string[]; documentId?: string }> {
      const order = await bitrix.getOrder(input.orderId);
      const deducted = order.shipments.filter((s) => !s.system && s.deducted);
      if (input.wholeSale) {
        for (const s of deducted) await bitrix.updateShipment(s.id, { allowDelivery: false, deducted: false, deliveryId: s.deliveryId });
        logger?.info({ orderId: input.orderId, refundReceiptId: input.refundReceiptId, shipments: deducted.map((s) => s.id) }, 'refund: shipments reversed');
        return deducted.length > 0 ? { outcome: 'shipments-reversed', shipmentIds: deducted.map((s) => s.id) } : { outcome: 'not-deducted' };
      }
      const [existing] = await bitrix.listDocuments({ title: refundDocumentTitle(input.refundReceiptId) });
      if (!existing && deducted.length === 0) return { outcome: 'not-deducted' };
      const store = config.stores.find((s) => order.items.some((i) => i.reservations.some((r) => r.storeId === s.bitrixStoreId))) ?? (config.stores.length === 1 ? config.stores[0] : undefined);
      const elements = input.lines.map(({ productId, quantity }) => {
        const item = order.items.find((i) => i.productId === productId);
        const warehouseId = item?.reservations[0]?.storeId ?? store?.bitrixStoreId;
        if (!warehouseId) throw ApplicationFailure.nonRetryable(`product ${productId}: no warehouse it was reserved at`, 'refund');
        return { productId, quantity, warehouseId };
      });
      const documentId = await returnByDocument(input.refundReceiptId, elements);
      logger?.info({ orderId: input.orderId, refundReceiptId: input.refundReceiptId, documentId }, 'refund: goods returned by document');
      return { outcome: 'document', documentId };
    },

    /** Returns a walk-in refund's goods to the store's warehouse (the one its walk-in sale was written off). */
    async returnWalkInStock(input: { storeId: string; refundReceiptId: string; lines: ProductQuantity[] }): Promise<{ documentId: string }> {
      const store = config.stores.find((s) => s.id === input.storeId);
      if (!store) throw ApplicationFailure.nonRetryable(`store ${input.storeId} is not in POS_CONFIG`, 'config');
      const documentId = await returnByDocument(input.refundReceiptId, input.lines.map((l) => ({ ...l, warehouseId: store.bitrixStoreId })));
      logger?.info({ storeId: input.storeId, refundReceiptId: input.refundReceiptId, documentId }, 'refund: walk-in goods returned');
      return { documentId };
    },

    /**
     * Records the refund on the Bitrix payment: payReturnComment lists every refund of the payment (merged
     * with what is there, so refunds recorded in any order add up); once the whole sale is refunded the
     * payment is returned (paid N, isReturn P: returned through the payment system, i.e. the terminal).
     */
    async recordPaymentReturn(input: RecordPaymentReturnInput): Promise<{ outcome: 'recorded' | 'already-recorded' | 'not-paid-here' }> {
      const payments = await bitrix.listPayments({ orderId: input.orderId });
      const payment = payments.find((p) => p.id === input.paymentId);
      if (!payment) throw new ExternalServiceError('bitrix', 'PAYMENT_NOT_FOUND', `payment ${input.paymentId} is not on order ${input.orderId}`, false);
      const ours = (payment.psInvoiceId ?? '').split(',').some((id) => input.saleReceiptIds.includes(id));
      if (!ours) return { outcome: 'not-paid-here' };
      const refunds = parseRefundComment(payment.payReturnComment);
      for (const r of input.refunds) refunds.set(r.refundId, r.amount);
      const comment = formatRefundComment(refunds, input.paid, input.currency);
      const returned = !payment.paid && payment.isReturn === 'P';
      if (payment.payReturnComment === comment && (returned || !input.fullyRefunded)) return { outcome: 'already-recorded' };
      const latest = [...refunds.keys()].pop() === input.refundReceiptId;
      await bitrix.updatePayment(payment.id, input.paySystemId, {
        payReturnComment: comment,
        ...(latest || !payment.payReturnNum ? { payReturnNum: input.refundReceiptId, payReturnDate: input.refundedAt } : {}),
        ...(input.fullyRefunded ? { paid: false, isReturn: 'P' } : {}),
      });
      logger?.info({ orderId: input.orderId, paymentId: payment.id, refundReceiptId: input.refundReceiptId, fullyRefunded: input.fullyRefunded }, 'refund recorded on the payment');
      return { outcome: 'recorded' };
    },

    /**
     * The order after a refund: the whole sale refunded → cancelled (when configured and Bitrix allows it:
     * nothing paid, nothing shipped), else the "refunded" status; a partial refund → the "partially
     * refunded" status. Statuses not configured are left alone.
     */
    async settleOrderAfterRefund(input: { orderId: string; fullyRefunded: boolean; reason: string }): Promise<{ outcome: 'cancelled' | 'status-set' | 'unchanged'; statusId?: string }> {
      const order = await bitrix.getOrder(input.orderId);
      if (order.canceled) return { outcome: 'unchanged' };
      const { statuses } = config.bitrix;
      if (input.fullyRefunded && config.refunds.cancelOrder) {
        const blocked = order.payments.some((p) => p.paid) || order.shipments.some((s) => !s.system && s.deducted);
        if (!blocked) {
          await bitrix.updateOrder(input.orderId, { canceled: true, reasonCanceled: input.reason, statusId: statuses.canceled });
          logger?.info({ orderId: input.orderId }, 'refund: order cancelled');
          return { outcome: 'cancelled', statusId: statuses.canceled };
        }
      }
      const target = input.fullyRefunded ? statuses.refunded : statuses.partiallyRefunded;
      if (!target || order.statusId === target) return { outcome: 'unchanged' };
      await bitrix.updateOrder(input.orderId, { statusId: target });
      return { outcome: 'status-set', statusId: target };
    },
  });
}

export type RefundBitrixActivities = ReturnType<typeof createBitrixRefundActivities>;
