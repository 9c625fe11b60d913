import type { ProductQuantity } from '../../domain/refund';
import type { AtolRefundLine } from '../atol/receipt';
import { buildReceipt, classifyErrors } from '../shared/activity-errors';
import { refundBasketLines, type RefundActivityDeps } from '../shared/refund-lines';
import { createFermaActivities } from './activities';

/** The refund step at OFD.ru Ferma: an `IncomeReturn` mirroring the sale's `Income`. */
export function createFermaRefundActivities({ bitrix, accounts, config, callbackBaseUrl, logger }: Pick<RefundActivityDeps, 'bitrix' | 'accounts' | 'config' | 'callbackBaseUrl' | 'logger'>) {
  const fermaActivities = createFermaActivities({ bitrix, accounts, config, callbackBaseUrl, logger });
  return classifyErrors({
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
        lines = buildReceipt('Ferma refund receipt', () => refundBasketLines(order, input.lines));
      }
      return fermaActivities.registerFermaRefund({ orderId: input.orderId, storeId: input.storeId, invoiceId: input.invoiceId, receiptTime: input.receiptTime, saleTime: input.saleTime, lines });
    },
  });
}

export type FermaRefundActivities = ReturnType<typeof createFermaRefundActivities>;
