import type { PosPaymentStatus } from '../../domain/payment';
import type { OrderCancellationStatus, RefundStatus } from '../../domain/refund';
import type { ReceiptResult } from '../../simulators/evotor/simulator';
import { cancellationStatusQuery } from '../../workflows/order-cancellation';
import { refundStatusQuery } from '../../workflows/refund';
import { getJson, postJson } from './http';
import { eventually, TEST_POS_CONFIG, type TestStack } from './stack';

/** The test stores plus the statuses refunds use, and the given refund settings. */
export function refundPosConfig(refunds = 'refunds: { paybackDeadline: 3d, saleDeadline: 1h }'): string {
  return TEST_POS_CONFIG.replace(
    'statuses: { awaitingPayment: WP, paid: P, canceled: CN }',
    'statuses: { awaitingPayment: WP, paid: P, canceled: CN, cancelRequested: CR, refunded: RF, partiallyRefunded: PR }',
  ).replace('payment: { deadline: 3d, fiscalDeadline: 30m }', `payment: { deadline: 3d, fiscalDeadline: 30m }\n${refunds}`);
}

export const STORES = {
  msk: { device: '20240101-0000-4000-8000-0000000000d1', terminalStore: '20240101-0000-4000-8000-000000000001', warehouse: 1 },
  spb: { device: '20240101-0000-4000-8000-0000000000d2', terminalStore: '20240101-0000-4000-8000-000000000002', warehouse: 2 },
  ekb: { device: '20240101-0000-4000-8000-0000000000d3', terminalStore: '20240101-0000-4000-8000-000000000003', warehouse: 3 },
} as const;
export type StoreKey = keyof typeof STORES;

export const GRINDER = { productId: 101, name: 'Кофемолка ручная', price: '2490.00', vatRate: 0.22 };
export const BEANS = { productId: 102, name: 'Кофе в зёрнах 1 кг', price: '1590.50', vatRate: 0.22 };
export const BOOK = { productId: 103, name: 'Книга «Кофе»', price: '799.00', vatRate: 0.1 };

export function stockOf(stack: TestStack, warehouse: number, productId: number): { amount: number; reserved: number } {
  const row = stack.bitrix.snapshot().stock.find((s) => s.storeId === warehouse && s.productId === productId);
  return { amount: row?.amount ?? 0, reserved: row?.quantityReserved ?? 0 };
}

export async function orderStatus(stack: TestStack, orderId: number): Promise<PosPaymentStatus | undefined> {
  const res = await getJson<{ status: PosPaymentStatus }>(`${stack.apiUrl}/api/orders/${orderId}`, { authorization: `Bearer ${stack.adminApiKey}` });
  return res.status === 200 ? res.body.status : undefined;
}

export async function waitForOrderStage(stack: TestStack, orderId: number, stage: string, timeoutMs = 45_000): Promise<PosPaymentStatus> {
  return eventually(async () => {
    const s = await orderStatus(stack, orderId);
    return s?.stage === stage ? s : undefined;
  }, `order ${orderId} in ${stage}`, timeoutMs);
}

/** An order at a store, paid by the cashier on the pushed order; waits until the payment workflow reaches `until`. */
export async function payOrderAtTerminal(
  stack: TestStack,
  store: StoreKey,
  lines: { product: typeof GRINDER; quantity: number }[],
  /** The stage to wait for after paying ('none': do not wait). */
  opts: { until?: string; beforePay?: (order: { id: number }) => void | Promise<void> } = {},
) {
  const { device, warehouse } = STORES[store];
  const order = stack.bitrix.createOrder({
    statusId: 'N',
    basket: lines.map(({ product, quantity }) => ({ ...product, quantity, reservations: [{ storeId: warehouse, quantity }] })),
    payments: [{ paySystemId: 10 }],
    propertyValues: [{ code: 'EMAIL', value: 'buyer@example.ru' }],
  });
  await waitForOrderStage(stack, order.id, 'AWAITING_PAYMENT');
  const push = await eventually(() => stack.evotor.state.pushes.find((p) => (p.payload as { orderId?: string }).orderId === String(order.id)), 'the order pushed');
  await opts.beforePay?.(order);
  const sale = stack.evotor.payPush(device, { pushId: push.id, paymentSource: 'PAY_CARD' });
  await stack.evotor.flush();
  if (opts.until !== 'none') await waitForOrderStage(stack, order.id, opts.until ?? 'COMPLETED');
  return { order, sale };
}

export function refundHandle(stack: TestStack, store: StoreKey, receiptId: string) {
  return stack.client.workflow.getHandle(`refund:${STORES[store].terminalStore}:${receiptId}`);
}

export async function waitForRefund(stack: TestStack, store: StoreKey, refund: ReceiptResult, stage: string, timeoutMs = 60_000): Promise<RefundStatus> {
  return eventually(async () => {
    const s = await refundHandle(stack, store, refund.id).query(refundStatusQuery);
    return s.stage === stage ? s : undefined;
  }, `refund ${refund.id} in ${stage}`, timeoutMs);
}

export async function waitForCancellation(stack: TestStack, orderId: number, stage: string, timeoutMs = 60_000): Promise<OrderCancellationStatus> {
  return eventually(async () => {
    const s = await stack.client.workflow.getHandle(`order-cancellation:${orderId}`).query(cancellationStatusQuery);
    return s.stage === stage ? s : undefined;
  }, `cancellation of order ${orderId} in ${stage}`, timeoutMs);
}

export function admin(stack: TestStack) {
  const auth = { authorization: `Bearer ${stack.adminApiKey}` };
  return {
    get: <T>(path: string) => getJson<T>(`${stack.apiUrl}${path}`, auth),
    post: <T>(path: string, body: unknown = {}) => postJson<T>(`${stack.apiUrl}${path}`, body, auth),
  };
}

export function atolRefundsOf(stack: TestStack, refundId: string) {
  return stack.atol!.state.receipts.sell_refund.filter((r) => r.external_id.startsWith(`pos-refund-${refundId}`));
}
