import type { Reservation } from './claim';
import { bitrix } from './activities';
import type { LocatedSale } from './locate-sale';
import type { RefundRun } from './run';

/** Bitrix records the refund: the order's POS payment returned (in full or in part), then the order's status. */
export async function confirmInBitrix({ refund, state, enter, step }: RefundRun, sale: Extract<LocatedSale, { kind: 'order' }>, reserved: Reservation): Promise<void> {
  const { found, order, facts } = sale;
  enter('CONFIRMING', 'Bitrix to record the refund');
  if (order.posPayment) {
    const payment = order.posPayment;
    const recorded = await step('mark payment returned', 'Check the payment in Bitrix, then retry.', () =>
      bitrix.recordPaymentReturn({
        orderId: found.orderId,
        paymentId: payment.id,
        paySystemId: payment.paySystemId,
        saleReceiptIds: found.saleReceiptIds,
        refundReceiptId: refund.receiptId,
        refundedAt: refund.paidAt,
        refunds: reserved.refunds,
        fullyRefunded: reserved.fullyRefunded,
        paid: facts.paid,
        currency: facts.currency,
      }),
    );
    state.done.push(
      recorded.outcome === 'not-paid-here'
        ? 'payment: Bitrix never recorded it as paid by the terminal, nothing to return'
        : reserved.fullyRefunded
          ? `payment ${payment.id}: returned (isReturn P), refund recorded`
          : `payment ${payment.id}: partial refund recorded`,
    );
  }
  const settled = await step('set order status', 'Check the status codes in POS_CONFIG bitrix.statuses, then retry.', () =>
    bitrix.settleOrderAfterRefund({ orderId: found.orderId, fullyRefunded: reserved.fullyRefunded, reason: `refunded at the terminal (receipt ${refund.receiptId})` }),
  );
  state.done.push(
    settled.outcome === 'cancelled' ? 'order: cancelled in Bitrix' : settled.outcome === 'status-set' ? `order: status ${settled.statusId}` : 'order: left as it is',
  );
}
