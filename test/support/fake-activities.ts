import type { RefundLookupActivities } from '../../cross-system/refund-lookup';
import type { NotificationActivities } from '../../activities/bitrix/notifications';
import type { BitrixActivities, OrderContext } from '../../activities/bitrix/activities';
import type { TerminalActivities } from '../../activities/terminals/activities';
import type { AtolActivities } from '../../activities/atol/activities';
import type { TemporalActivities } from '../../cross-system/order-lookup';
import type { WalkInActivities } from '../../cross-system/walk-in-write-offs';
import type { FiscalAttributes } from '../../domain/fiscal';
import type { OrderSnapshot } from '../../domain/order';

/** The activities' fakes for workflow tests: in-memory Bitrix order, scripted fiscal answers, a call log. */
export interface FakeWorld {
  order: Omit<OrderSnapshot, 'buyer'>;
  fiscalMode: 'terminal' | 'atol' | '1c';
  calls: { name: string; input: unknown }[];
  /** What the Evotor cloud document says; null = not there yet. */
  terminalFiscal: FiscalAttributes | null;
  /** Scripted ATOL report answers, consumed in order; the last one repeats. */
  atolReports: Awaited<ReturnType<AtolActivities['getAtolReport']>>[];
}

export const FISCAL: FiscalAttributes = {
  source: 'terminal',
  fnNumber: '9999078900012345',
  fiscalDocumentNumber: '321',
  fiscalSign: '1234567890',
  receiptDateTime: '2026-11-29T10:00:00.000Z',
};

export function fakeWorld(overrides: Partial<FakeWorld> = {}): FakeWorld {
  return {
    order: {
      id: '500',
      accountNumber: '700',
      currency: 'RUB',
      total: 100_00,
      statusId: 'N',
      paid: false,
      canceled: false,
      deducted: false,
      items: [{ basketId: '1', productId: '101', name: 'Item', price: 100_00, quantity: 1, vatRate: 0.22, vatIncluded: true, reservations: [{ storeId: '1', quantity: 1 }] }],
      payments: [{ id: '9', paySystemId: '10', sum: 100_00, paid: false }],
      shipments: [{ id: '3', deliveryId: '1', deducted: false }],
    },
    fiscalMode: 'terminal',
    calls: [],
    terminalFiscal: FISCAL,
    atolReports: [{ status: 'done', fiscal: { ...FISCAL, source: 'atol' } }],
    ...overrides,
  };
}

export function fakeActivities(world: FakeWorld): {
  bitrix: BitrixActivities & WalkInActivities & NotificationActivities;
  evotor: TerminalActivities;
  fiscal: AtolActivities;
  temporal: TemporalActivities & Pick<RefundLookupActivities, 'recordOrderSale'>;
} {
  const log = <T>(name: string, input: unknown, value: T): T => {
    world.calls.push({ name, input });
    return value;
  };
  const context = (): OrderContext => ({
    found: true,
    order: world.order,
    hasBuyerContact: true,
    posPayment: world.order.payments[0],
    store: { id: 'msk-1', bitrixStoreId: '1', terminalKind: 'evotor', evotorStoreId: 'E1', evotorDeviceIds: ['D1'], fiscalMode: world.fiscalMode, timeZone: 'Europe/Moscow' },
    statuses: { awaitingPayment: 'WP', paid: 'P', canceled: 'CN' },
    paymentDeadlineMs: 3 * 86_400_000,
    fiscalDeadlineMs: 30 * 60_000,
  });
  let reportIndex = 0;
  return {
    bitrix: {
      loadOrderContext: async (orderId) => log('loadOrderContext', orderId, context()),
      setOrderStatus: async (input) => {
        const changed = world.order.statusId !== input.statusId;
        world.order.statusId = input.statusId;
        return log('setOrderStatus', input, { changed });
      },
      markPaymentPaid: async (input) => {
        world.order.payments[0].paid = true;
        return log('markPaymentPaid', input, { outcome: 'marked' as const });
      },
      cancelOrder: async (input) => {
        world.order.canceled = true;
        return log('cancelOrder', input, { changed: true });
      },
      moveOrderDealsToStage: async (input) => log('moveOrderDealsToStage', input, { dealIds: [] }),
      deductOrderStock: async (input) => {
        world.order.deducted = true;
        return log('deductOrderStock', input, { deducted: ['3'], alreadyDeducted: [] });
      },
      deductWalkInBatch: async (input) =>
        log('deductWalkInBatch', input, input.receipts.map((r) => ({ receiptKey: r.key, outcome: 'deducted' as const, documentId: '77' }))),
      notifyProblem: async (notice) => log('notifyProblem', notice, { outcome: 'sent' as const, userId: '1', notificationId: String(world.calls.length), dealTimeline: false }),
      commentProblemOnDeals: async (notice) => log('commentProblemOnDeals', notice, { dealIds: [] }),
    },
    temporal: {
      findAwaitingOrders: async (input) => log('findAwaitingOrders', input, { storeId: 'msk-1', candidates: [] }),
      recordOrderSale: async (input) => log('recordOrderSale', input, undefined),
    },
    evotor: {
      pushOrderToTerminal: async (input) => log('pushOrderToTerminal', input, { pushId: 'push-1' }),
      fetchReceiptFiscalAttributes: async (input) => log('fetchReceiptFiscalAttributes', input, world.terminalFiscal),
    },
    fiscal: {
      registerAtolSell: async (input) => log('registerAtolSell', input, { uuid: `uuid-${input.externalId}`, alreadyAccepted: false }),
      registerAtolCorrection: async (input) =>
        log('registerAtolCorrection', input, { uuid: `uuid-${input.externalId}`, alreadyAccepted: false, basis: { type: 'self' as const, actDate: '01.12.2026', actNumber: input.actNumber } }),
      getAtolReport: async (input) => {
        const report = world.atolReports[Math.min(reportIndex++, world.atolReports.length - 1)];
        return log('getAtolReport', input, report);
      },
    },
  };
}
