import { ApplicationFailure } from '@temporalio/activity';
import type { OrderSnapshot } from '../../domain/order';
import type { ProductQuantity } from '../../domain/refund';
import type { PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import type { AtolRefundLine } from '../atol/receipt';
import type { BitrixClient } from '../bitrix/client';
import type { CompanyAccounts } from './company-clients';

/** What the refund steps of every system are built from (each system's factory takes what it needs). */
export interface RefundActivityDeps {
  bitrix: BitrixClient;
  /** Each store's company's Evotor, ATOL and Ferma accounts. */
  accounts: CompanyAccounts;
  config: PosConfig;
  callbackBaseUrl?: string;
  logger?: Logger;
}

/** Basket lines for refunded products, in basket order (a product on two lines fills the first one first). */
export function refundBasketLines(order: OrderSnapshot, lines: ProductQuantity[]): AtolRefundLine[] {
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
