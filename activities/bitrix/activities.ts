import type { PosConfig, StoreConfig } from '../../lib/config';
import { durationMs } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import type { Kopecks } from '../../domain/money';
import type { OrderPayment, OrderSnapshot } from '../../domain/order';
import { classifyErrors } from '../shared/activity-errors';
import { ExternalServiceError } from '../shared/errors';
import type { BitrixClient } from './client';

/** Bitrix `sale` error code for "order does not exist". */
const ORDER_NOT_FOUND = '200540400001';

export interface PickupStore {
  id: string;
  bitrixStoreId: string;
  terminalKind: StoreConfig['terminalKind'];
  evotorStoreId?: string;
  evotorDeviceIds: string[];
  fiscalMode: StoreConfig['fiscalMode'];
  timeZone: string;
}

export type OrderContext =
  | { found: false; orderId: string; reason: string }
  | {
      found: true;
      /** The order without buyer contacts: personal data stays out of workflow histories. */
      order: Omit<OrderSnapshot, 'buyer'>;
      hasBuyerContact: boolean;
      /** The order's payment in a POS pay system; undefined = not paid at a pickup point. */
      posPayment?: OrderPayment;
      store?: PickupStore;
      storeProblem?: string;
      statuses: PosConfig['bitrix']['statuses'];
      paidDealStageId?: string;
      paymentDeadlineMs: number;
      fiscalDeadlineMs: number;
      /** How long a cancelled paid order waits for its refund at the terminal. */
      paybackDeadlineMs?: number;
    };

export interface MarkPaymentPaidInput {
  orderId: string;
  paymentId: string;
  paySystemId: string;
  /** Terminal receipt id(s): become psInvoiceId, our idempotency key on the Bitrix payment. */
  receiptIds: string[];
  paidAt: string;
  amount: Kopecks;
  currency: string;
  fiscalMessage?: string;
}

export interface BitrixActivityDeps {
  client: BitrixClient;
  config: PosConfig;
  logger?: Logger;
}

function pickupStoreFor(order: OrderSnapshot, config: PosConfig): { store?: PickupStore; problem?: string } {
  const reserved = new Set(order.items.flatMap((i) => i.reservations.map((r) => r.storeId)));
  const matches = config.stores.filter((s) => reserved.has(s.bitrixStoreId));
  let store: StoreConfig | undefined;
  if (matches.length === 1) store = matches[0];
  else if (matches.length > 1) return { problem: `items are reserved at several pickup stores (${matches.map((s) => s.id).join(', ')})` };
  else if (config.stores.length === 1) store = config.stores[0];
  else return { problem: `no configured pickup store matches the order's reservations (warehouses ${[...reserved].join(', ') || 'none'})` };
  return {
    store: {
      id: store.id,
      bitrixStoreId: store.bitrixStoreId,
      terminalKind: store.terminalKind,
      evotorStoreId: store.evotorStoreId,
      evotorDeviceIds: store.evotorDeviceIds,
      fiscalMode: store.fiscalMode,
      timeZone: store.timeZone,
    },
  };
}

export function createBitrixActivities({ client, config, logger }: BitrixActivityDeps) {
  const posPaySystems = new Set(config.bitrix.posPaySystemIds);

  return classifyErrors({
    async loadOrderContext(orderId: string): Promise<OrderContext> {
      let order: OrderSnapshot;
      try {
        order = await client.getOrder(orderId);
      } catch (e) {
        if (e instanceof ExternalServiceError && e.code === ORDER_NOT_FOUND) {
          return { found: false, orderId, reason: 'order does not exist in Bitrix' };
        }
        throw e;
      }
      const { buyer, ...withoutBuyer } = order;
      const posPayment = order.payments.find((p) => posPaySystems.has(p.paySystemId) && p.isReturn !== 'Y');
      const { store, problem } = pickupStoreFor(order, config);
      return {
        found: true,
        order: withoutBuyer,
        hasBuyerContact: Boolean(buyer.email || buyer.phone),
        posPayment,
        store,
        storeProblem: problem,
        statuses: config.bitrix.statuses,
        paidDealStageId: config.bitrix.crm?.paidDealStageId,
        paymentDeadlineMs: durationMs(config.payment.deadline),
        fiscalDeadlineMs: durationMs(config.payment.fiscalDeadline),
        paybackDeadlineMs: durationMs(config.refunds.paybackDeadline),
      };
    },

    /** Sets the order status unless it already has it. */
    async setOrderStatus(input: { orderId: string; statusId: string }): Promise<{ changed: boolean }> {
      const order = await client.getOrder(input.orderId);
      if (order.statusId === input.statusId) return { changed: false };
      await client.updateOrder(input.orderId, { statusId: input.statusId });
      logger?.info({ orderId: input.orderId, statusId: input.statusId }, 'order status set');
      return { changed: true };
    },

    /**
     * Marks the POS payment paid with the terminal receipt id as psInvoiceId. Reads first: a retry after a
     * lost response finds its own receipt id and does nothing; a payment already paid by someone else
     * (1C exchange, a manager) is left as it is and reported.
     */
    async markPaymentPaid(input: MarkPaymentPaidInput): Promise<{ outcome: 'marked' | 'already-marked' | 'paid-elsewhere' }> {
      const invoiceId = input.receiptIds.join(',');
      const order = await client.getOrder(input.orderId);
      const payment = order.payments.find((p) => p.id === input.paymentId);
      if (!payment) throw new ExternalServiceError('bitrix', 'PAYMENT_NOT_FOUND', `payment ${input.paymentId} is not on order ${input.orderId}`, false);
      if (payment.paid) {
        return { outcome: payment.psInvoiceId === invoiceId ? 'already-marked' : 'paid-elsewhere' };
      }
      await client.updatePayment(input.paymentId, input.paySystemId, {
        paid: true,
        datePaid: input.paidAt,
        psInvoiceId: invoiceId,
        psStatus: 'Y',
        psStatusCode: 'PAID',
        psStatusMessage: input.fiscalMessage ?? '',
        psSum: input.amount,
        psCurrency: input.currency,
        psResponseDate: input.paidAt,
      });
      logger?.info({ orderId: input.orderId, paymentId: input.paymentId, receiptIds: input.receiptIds }, 'payment marked paid');
      return { outcome: 'marked' };
    },

    /** Cancels the order in Bitrix with a reason, unless it is cancelled already. */
    async cancelOrder(input: { orderId: string; reason: string; statusId?: string }): Promise<{ changed: boolean }> {
      const order = await client.getOrder(input.orderId);
      if (order.canceled) return { changed: false };
      await client.updateOrder(input.orderId, { canceled: true, reasonCanceled: input.reason, statusId: input.statusId });
      logger?.info({ orderId: input.orderId }, 'order cancelled in Bitrix');
      return { changed: true };
    },

    /** Moves the Bitrix24 deals linked to the order to a stage (setting a stage twice changes nothing). */
    async moveOrderDealsToStage(input: { orderId: string; stageId: string }): Promise<{ dealIds: string[] }> {
      const links = await client.listAll<{ ownerId: string | number; ownerTypeId: string | number }>(
        'crm.orderentity.list',
        { filter: { orderId: input.orderId } },
        (r) => ((r as { orderEntity?: { ownerId: string | number; ownerTypeId: string | number }[] }).orderEntity ?? []),
      );
      const dealIds = links.filter((l) => String(l.ownerTypeId) === '2').map((l) => String(l.ownerId));
      for (const id of dealIds) await client.call('crm.item.update', { entityTypeId: 2, id, fields: { stageId: input.stageId } });
      logger?.info({ orderId: input.orderId, dealIds, stageId: input.stageId }, 'deals moved');
      return { dealIds };
    },

    /** Writes the order's stock off the way Bitrix itself does: shipments deducted (from the reserved warehouse). */
    async deductOrderStock(input: { orderId: string }): Promise<{ deducted: string[]; alreadyDeducted: string[] }> {
      const order = await client.getOrder(input.orderId);
      const deducted: string[] = [];
      const alreadyDeducted: string[] = [];
      for (const shipment of order.shipments) {
        if (shipment.system) continue;
        if (shipment.deducted) {
          alreadyDeducted.push(shipment.id);
          continue;
        }
        await client.updateShipment(shipment.id, { allowDelivery: true, deducted: true, deliveryId: shipment.deliveryId });
        deducted.push(shipment.id);
      }
      logger?.info({ orderId: input.orderId, deducted, alreadyDeducted }, 'order stock deducted');
      return { deducted, alreadyDeducted };
    },
  });
}

export type BitrixActivities = ReturnType<typeof createBitrixActivities>;
