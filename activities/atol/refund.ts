import { ApplicationFailure } from '@temporalio/activity';
import type { ProductQuantity } from '../../domain/refund';
import { buildReceipt, callbackUrlOf, classifyErrors } from '../shared/activity-errors';
import { refundBasketLines, type RefundActivityDeps } from '../shared/refund-lines';
import { receiptKind } from './activities';
import { buildAtolRefundReceipt } from './receipt';

/** The refund step at ATOL Online: a `sell_refund` mirroring the order's sale receipt. */
export function createAtolRefundActivities({ bitrix, accounts, config, callbackBaseUrl, logger }: Pick<RefundActivityDeps, 'bitrix' | 'accounts' | 'config' | 'callbackBaseUrl' | 'logger'>) {
  const posPaySystems = new Set(config.bitrix.posPaySystemIds);
  return classifyErrors({
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
      const atol = accounts.atolOfStore(input.storeId);
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
          lines: input.wholeSale ? undefined : refundBasketLines(order, input.lines),
          callbackUrl: callbackUrlOf(callbackBaseUrl, '/webhooks/atol/callback'),
        }),
      );
      const registration = await atol.sellRefund(body);
      logger?.info({ orderId: input.orderId, externalId: input.externalId, uuid: registration.uuid, alreadyAccepted: registration.alreadyAccepted }, 'ATOL sell_refund registered');
      return registration;
    },
  });
}

export type AtolRefundActivities = ReturnType<typeof createAtolRefundActivities>;
