import type { Reservation } from './claim';
import { bitrix } from './activities';
import type { LocatedSale } from './locate-sale';
import type { RefundRun } from './run';

/** The goods go back first (the sale wrote them off last): the order's shipments reversed, or a store document. */
export async function returnStock({ refund, state, enter, step }: RefundRun, sale: LocatedSale, reserved: Reservation): Promise<void> {
  enter('RETURNING_STOCK', 'Bitrix to take the goods back');
  if (sale.kind === 'order') {
    const back = await step('return stock', "Check the order's shipments and the warehouse in Bitrix, then retry.", () =>
      bitrix.returnOrderStock({ orderId: sale.found.orderId, refundReceiptId: refund.receiptId, wholeSale: reserved.wholeSale, lines: reserved.lines }),
    );
    state.done.push(
      back.outcome === 'shipments-reversed'
        ? `stock: shipment(s) ${back.shipmentIds!.join(', ')} reversed, the goods are back at their warehouse`
        : back.outcome === 'document'
          ? `stock: returned by Bitrix store document ${back.documentId}`
          : 'stock: the order was never written off, nothing to return',
    );
  } else {
    const back = await step('return stock', 'Check the products and the warehouse in Bitrix, then retry.', () =>
      bitrix.returnWalkInStock({ storeId: sale.facts.storeId, refundReceiptId: refund.receiptId, lines: reserved.lines }),
    );
    state.done.push(`stock: returned by Bitrix store document ${back.documentId}`);
  }
}
