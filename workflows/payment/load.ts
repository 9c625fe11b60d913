import { condition, ParentClosePolicy, startChild, upsertSearchAttributes, WorkflowIdReusePolicy } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { PickupStore } from '../../activities/bitrix/activities';
import { PosFiscalMode, PosOrderId, PosOrderNumber, PosStore, PosTerminal, PosTotal } from '../../domain/search-attributes';
import { TASK_QUEUES, terminalReceiptWorkflowId } from '../../domain/workflow-ids';
import { Finish } from '../attention';
import { bitrix } from './activities';
import type { LoadedOrder, PaymentOutcome, PaymentRun, ReadyOrder } from './run';

/** The order from Bitrix; an order Bitrix does not know waits for a person. */
export async function loadContext(run: PaymentRun): Promise<LoadedOrder> {
  const { orderId, state } = run;
  for (;;) {
    const ctx = await run.step('load order', 'Check that Bitrix is reachable and BITRIX_REST_URL is right, then retry.', () => bitrix.loadOrderContext(orderId));
    if (ctx.found) return ctx;
    await run.needsAttention(
      'load order',
      `${ctx.reason} (order id ${orderId}); ${state.payments.length} terminal payment(s) are held here`,
      'Find the right order for the payment(s) in the status query; resolve with a note once handled by hand.',
    );
  }
}

/**
 * LOADING: the order, its POS payment and its pickup store, shown in the search attributes. From here a
 * payment through another store is refused (and each one already received is held for a person).
 */
export async function loadOrder(run: PaymentRun): Promise<ReadyOrder> {
  const { orderId, state } = run;
  upsertSearchAttributes([{ key: PosOrderId, value: orderId }]);
  run.enter('LOADING', 'the order from Bitrix');
  let ctx = await loadContext(run);
  while (!ctx.posPayment || !ctx.store) {
    await run.needsAttention(
      'load order',
      !ctx.posPayment ? 'the order has no payment in a POS pay system' : (ctx.storeProblem ?? 'no pickup store'),
      !ctx.posPayment
        ? "Check the order's pay system in Bitrix (POS_CONFIG bitrix.posPaySystemIds), then retry."
        : 'Check the reservations of the order and the stores in POS_CONFIG, then retry.',
    );
    ctx = await loadContext(run);
  }
  run.loaded = ctx;
  if (run.storeScoped) {
    const own = state.payments.filter((p) => !run.foreign(p));
    const others = state.payments.filter((p) => run.foreign(p));
    if (others.length > 0) {
      state.payments = own;
      state.paidAmount = own.reduce((sum, p) => sum + p.amount, 0);
      (state.foreignPayments ??= []).push(...others);
    }
    void holdForeignPayments(run, ctx.store);
  }
  const { order, store, posPayment } = ctx;
  Object.assign(state, {
    accountNumber: order.accountNumber,
    total: order.total,
    currency: order.currency,
    storeId: store.id,
    fiscalMode: store.fiscalMode,
    terminal: store.evotorDeviceIds[0],
    alreadyPaidInBitrix: posPayment.paid,
  });
  upsertSearchAttributes([
    { key: PosOrderNumber, value: order.accountNumber },
    { key: PosTotal, value: order.total },
    { key: PosStore, value: store.id },
    { key: PosFiscalMode, value: store.fiscalMode },
    ...(state.terminal ? [{ key: PosTerminal, value: state.terminal }] : []),
  ]);
  if (order.canceled && !run.paid()) throw new Finish<PaymentOutcome>('CANCELLED', 'the order is cancelled in Bitrix');
  return { ...ctx, posPayment, store };
}

/**
 * A payment taken at another store's terminal never pays this order: each is kept in its own receipt
 * workflow in NEEDS_ATTENTION for a person (nothing was changed in Bitrix or at a register for it).
 */
async function holdForeignPayments(run: PaymentRun, store: PickupStore): Promise<void> {
  const { orderId, state } = run;
  for (let i = 0; ; i++) {
    await condition(() => (state.foreignPayments?.length ?? 0) > i);
    const payment = state.foreignPayments![i];
    try {
      await startChild('terminalReceiptWorkflow', {
        workflowId: terminalReceiptWorkflowId(payment.terminalStoreId, payment.receiptId),
        taskQueue: TASK_QUEUES.workflows,
        args: [{ payment, receiptType: 'SELL', lines: [], heldReason: `it names order ${orderId}, which belongs to store ${store.id}: an order is paid only through its own store` }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `SELL receipt ${payment.receiptId} from terminal ${payment.deviceId} (another store's order)`,
      });
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
  }
}
