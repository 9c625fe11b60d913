import { ApplicationFailure } from '@temporalio/activity';
import type { FiscalAttributes } from '../../domain/fiscal';
import { kopecksToRubles, type Kopecks } from '../../domain/money';
import type { OrderSnapshot } from '../../domain/order';
import { byProduct, formatRefundComment, parseRefundComment, refundDocumentTitle, type ProductQuantity } from '../../domain/refund';
import type { ReceiptLine } from '../../domain/walk-in';
import type { PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import type { AtolClient } from '../atol/client';
import { writeStoreDocument } from '../bitrix/store-documents';
import { createFermaActivities } from '../ferma/activities';
import type { FermaClient } from '../ferma/client';
import { buildAtolRefundReceipt, type AtolRefundLine } from '../atol/receipt';
import type { BitrixClient } from '../bitrix/client';
import { fiscalAttributesFromDocument, type EvotorCloudClient } from '../evotor/client';
import { receiptKind } from '../atol/activities';
import { buildReceipt, callbackUrlOf, classifyErrors } from '../shared/activity-errors';
import { ExternalServiceError } from '../shared/errors';
import { createProductMapper } from '../evotor/product-mapper';

export interface RefundActivityDeps {
  bitrix: BitrixClient;
  evotor: EvotorCloudClient;
  atol?: AtolClient;
  ferma?: FermaClient;
  config: PosConfig;
  callbackBaseUrl?: string;
  logger?: Logger;
}

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
 * The steps that reverse a sale in the outside systems. Each reads before it writes or carries a key the
 * system deduplicates, so a retry after a lost answer changes nothing.
 */
export function createRefundActivities({ bitrix, evotor, atol, ferma, config, callbackBaseUrl, logger }: RefundActivityDeps) {
  const fermaActivities = createFermaActivities({ bitrix, ferma, config, callbackBaseUrl, logger });
  const mapProduct = createProductMapper(evotor, config);
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

  /** Basket lines for refunded products, in basket order (a product on two lines fills the first one first). */
  function basketLines(order: OrderSnapshot, lines: ProductQuantity[]): AtolRefundLine[] {
    const out: AtolRefundLine[] = [];
    for (const { productId, quantity } of lines) {
      let left = quantity;
      for (const item of order.items.filter((i) => i.productId === productId)) {
        const take = Math.min(item.quantity, left);
        if (take > 0) out.push({ basketId: item.basketId, quantity: Math.round(take * 1000) / 1000 });
        left = Math.round((left - take) * 1000) / 1000;
      }
      if (left > 0) throw ApplicationFailure.nonRetryable(`product ${productId}: ${quantity} refunded but order ${order.accountNumber} has less`, 'refund');
    }
    return out;
  }

  const bitrixActivities = classifyErrors({
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

  const fiscalActivities = classifyErrors({
    /**
     * A `sell_refund` mirroring the order's sale receipt: the refunded lines with their own VAT as on the
     * sale date, the sale's payment type. The external_id comes from the refund receipt: a resend is code 33.
     */
    async registerAtolRefund(input: {
      orderId: string;
      storeId: string;
      externalId: string;
      receiptTime: string;
      saleTime: string;
      wholeSale: boolean;
      lines: ProductQuantity[];
    }): Promise<{ uuid: string; alreadyAccepted: boolean }> {
      if (!atol) throw ApplicationFailure.nonRetryable('ATOL Online is not configured (ATOL_API_URL, ATOL_LOGIN, ATOL_PASSWORD, ATOL_GROUP_CODE)', 'config');
      const store = config.stores.find((s) => s.id === input.storeId);
      if (!store?.company) throw ApplicationFailure.nonRetryable(`store ${input.storeId} has no company data for ATOL in POS_CONFIG`, 'config');
      const order = await bitrix.getOrder(input.orderId);
      const { company } = store;
      const body = buildReceipt('ATOL refund receipt', () =>
        buildAtolRefundReceipt({
          order,
          externalId: input.externalId,
          receiptTime: new Date(input.receiptTime),
          saleTime: new Date(input.saleTime),
          timeZone: store.timeZone,
          company,
          kind: receiptKind(order, posPaySystems),
          lines: input.wholeSale ? undefined : basketLines(order, input.lines),
          callbackUrl: callbackUrlOf(callbackBaseUrl, '/webhooks/atol/callback'),
        }),
      );
      const registration = await atol.sellRefund(body);
      logger?.info({ orderId: input.orderId, externalId: input.externalId, uuid: registration.uuid, alreadyAccepted: registration.alreadyAccepted }, 'ATOL sell_refund registered');
      return registration;
    },

    /** An `IncomeReturn` at OFD.ru Ferma mirroring the sale's `Income`; the InvoiceId comes from the refund receipt. */
    async registerFermaRefundOfSale(input: {
      orderId: string;
      storeId: string;
      invoiceId: string;
      receiptTime: string;
      saleTime: string;
      wholeSale: boolean;
      lines: ProductQuantity[];
    }): Promise<{ receiptId: string; alreadyAccepted: boolean }> {
      let lines: AtolRefundLine[] | undefined;
      if (!input.wholeSale) {
        const order = await bitrix.getOrder(input.orderId);
        lines = buildReceipt('Ferma refund receipt', () => basketLines(order, input.lines));
      }
      return fermaActivities.registerFermaRefund({ orderId: input.orderId, storeId: input.storeId, invoiceId: input.invoiceId, receiptTime: input.receiptTime, saleTime: input.saleTime, lines });
    },
  });

  const evotorActivities = classifyErrors({
    /** The refund receipt's cloud document: the sale it refunds (base_document_id) and its fiscal data. */
    async readRefundDocument(input: { terminalStoreId: string; receiptId: string }): Promise<{ found: false } | { found: true; baseReceiptId?: string; fiscal?: FiscalAttributes }> {
      const doc = await evotor.getDocument(input.terminalStoreId, input.receiptId);
      if (!doc) return { found: false };
      const fiscal = fiscalAttributesFromDocument(doc);
      return { found: true, ...(doc.body.base_document_id ? { baseReceiptId: doc.body.base_document_id } : {}), ...(fiscal ? { fiscal } : {}) };
    },

    /** Best effort: asks the store's terminals to refund an order (the cashier can also find it by number). */
    async pushRefundRequest(input: { deviceIds: string[]; orderId: string; accountNumber?: string; amount: Kopecks; currency: string; activeTill: string }): Promise<{ pushId?: string }> {
      if (input.deviceIds.length === 0) return {};
      const push = await evotor.sendPush({
        devices: input.deviceIds,
        payload: { kind: 'bitrix-refund', orderId: input.orderId, accountNumber: input.accountNumber, amount: kopecksToRubles(input.amount), currency: input.currency },
        activeTill: new Date(input.activeTill),
      });
      logger?.info({ orderId: input.orderId, pushId: push.id }, 'refund requested at the terminal');
      return { pushId: push.id };
    },
  });

  return { bitrix: bitrixActivities, fiscal: fiscalActivities, evotor: evotorActivities };
}

export type RefundActivities = ReturnType<typeof createRefundActivities>;
export type RefundBitrixActivities = RefundActivities['bitrix'];
export type RefundFiscalActivities = RefundActivities['fiscal'];
export type RefundEvotorActivities = RefundActivities['evotor'];
