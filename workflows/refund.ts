import {
  condition,
  defineQuery,
  defineUpdate,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { FermaActivities } from '../activities/ferma/activities';
import type { AtolActivities } from '../activities/atol/activities';
import type { OrderSaleFacts, RefundBitrixActivities, RefundEvotorActivities, RefundFiscalActivities } from '../activities/refund/activities';
import type { RefundLookupActivities, RefundStore, SaleLookup } from '../cross-system/refund-lookup';
import type { FiscalAttributes } from '../domain/fiscal';
import { kopecksToRubles } from '../domain/money';
import { atolRefundExternalId, fermaRefundInvoiceId, type LedgerDecision, type ProductQuantity, type RefundInput, type RefundResult, type RefundStage, type RefundStatus, type SaleFacts } from '../domain/refund';
import type { ReceiptLine } from '../domain/walk-in';
import { fiscalSummary } from '../domain/terminal-payload';
import { claimRefundSignal, ledgerDecisionSignal, refundCompletedSignal } from './refund-ledger';
import { PosFiscalMode, PosOrderId, PosOrderNumber, PosReceiptId, PosStore, PosTerminal, PosTotal } from '../domain/search-attributes';
import { Finish, nowIso, stages } from './attention';
import { signalOrStart } from './signal-or-start';
import { OUTSIDE_SYSTEM_RETRY, setSupportHandlers, stepRunner, type SupportRequest } from './support-actions';
import { TASK_QUEUES, orderSaleKey, refundLedgerWorkflowId, walkInSaleKey } from '../domain/workflow-ids';

export const refundStatusQuery = defineQuery<RefundStatus>('status');
export const retryRefundUpdate = defineUpdate<RefundStatus, []>('retry');
export const resolveRefundUpdate = defineUpdate<RefundStatus, [{ note: string }]>('resolve');

// Retryable outside-system errors are retried for up to an hour; after that a person is asked (NEEDS_ATTENTION).
const retry = OUTSIDE_SYSTEM_RETRY;
const lookup = proxyActivities<RefundLookupActivities>({ taskQueue: TASK_QUEUES.workflows, startToCloseTimeout: '30s', scheduleToCloseTimeout: '10m', retry });
const bitrix = proxyActivities<RefundBitrixActivities>({ taskQueue: TASK_QUEUES.bitrix, startToCloseTimeout: '1m', scheduleToCloseTimeout: '1h', retry });
const evotor = proxyActivities<RefundEvotorActivities>({ taskQueue: TASK_QUEUES.evotor, startToCloseTimeout: '30s', scheduleToCloseTimeout: '10m', retry });
const atol = proxyActivities<RefundFiscalActivities & Pick<AtolActivities, 'getAtolReport'>>({
  taskQueue: TASK_QUEUES.fiscal,
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1h',
  retry,
});

const ferma = proxyActivities<Pick<RefundFiscalActivities, 'registerFermaRefundOfSale'> & Pick<FermaActivities, 'getFermaReceiptStatus'>>({
  taskQueue: TASK_QUEUES.fiscal,
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1h',
  retry,
});

const POLL_INITIAL_MS = 1_000;
const POLL_MAX_MS = 15_000;
const ATOL_POLL_MAX_MS = 60_000;
const ATOL_REPORT_DEADLINE_MS = 30 * 60_000;
const LEDGER_ANSWER_MS = 5 * 60_000;

type FoundSale = Extract<SaleLookup, { status: 'order' | 'walk-in' }>;

/**
 * One per refund receipt (PAYBACK), keyed by store + receipt, so a redelivered webhook is a duplicate.
 * Finds the sale it refunds (and waits for it when the sale is not through its own workflow yet), reserves
 * the refunded goods and money with the sale's ledger (never more than was sold or paid), then reverses
 * exactly what the sale did, in the reverse order, each step once: stock back, the Bitrix payment returned
 * and the order settled, the fiscal refund receipt.
 */
export async function refundWorkflow(input: RefundInput): Promise<RefundResult> {
  const { refund } = input;
  const state: RefundStatus = {
    refundId: refund.receiptId,
    terminalStoreId: refund.terminalStoreId,
    stage: 'LOCATING_SALE',
    stageSince: nowIso(),
    amount: refund.amount,
    currency: refund.currency,
    refundedAt: refund.paidAt,
    storeId: input.storeId,
    lines: [],
    done: [],
    timeline: [],
  };
  let requested: SupportRequest | undefined;
  let decision: LedgerDecision | undefined;
  let reservedWith: string | undefined;

  setHandler(refundStatusQuery, () => state);
  setHandler(ledgerDecisionSignal, (d) => {
    if (d.refundId === refund.receiptId) decision = d;
  });
  setSupportHandlers({ retry: retryRefundUpdate, resolve: resolveRefundUpdate }, state, (r) => (requested = r), {
    resolveRefusal: (stage) => (stage === 'NEEDS_ATTENTION' ? undefined : `only a refund in NEEDS_ATTENTION can be resolved by hand (stage is ${stage})`),
  });

  const { describe, enter, stopForPerson } = stages<RefundStage, RefundStatus>(state, () => {
    const sale = state.sale?.kind === 'order'
      ? `order ${state.sale.accountNumber ?? state.sale.orderId} (Bitrix id ${state.sale.orderId})`
      : state.sale?.kind === 'walk-in'
        ? `walk-in sale ${state.saleReceiptId}`
        : state.saleReceiptId
          ? `receipt ${state.saleReceiptId}`
          : 'not known yet';
    const head = [
      `**Refund ${refund.receiptId}** of ${kopecksToRubles(refund.amount)} ${refund.currency} at terminal ${refund.deviceId}${state.storeId ? ` (${state.storeId})` : ''}, ${refund.paidAt}`,
      `Sale refunded: ${sale}`,
      `Stage: **${state.stage}** since ${state.stageSince}`,
    ];
    if (state.lines.length) head.push(`Goods: ${state.lines.map((l) => `${l.quantity} × product ${l.productId}`).join(', ')}`);
    if (state.decision)
      head.push(
        `Refunded of this sale so far: ${kopecksToRubles(state.decision.refundedAmount)} of ${kopecksToRubles(state.decision.paid)} paid` +
          (state.decision.wholeSale ? ' (this refund takes back the whole sale)' : state.decision.fullyRefunded ? ' (everything sold is now refunded)' : ''),
      );
    if (state.done.length) head.push(`Done:\n${state.done.map((d) => `- ${d}`).join('\n')}`);
    return { head, tail: state.fiscal ? [`Fiscal refund receipt: ${fiscalSummary(state.fiscal)}`] : [] };
  });

  /** Stops in NEEDS_ATTENTION until a person retries (returns) or resolves (throws Finish). */
  async function needsAttention(stepName: string, message: string, action: string): Promise<void> {
    const decided = await stopForPerson({ step: stepName, message, action }, {
      waitingFor: 'a person: retry or resolve',
      log: { refundId: refund.receiptId },
      decided: () => requested,
    });
    requested = undefined;
    if (decided?.kind === 'resolve') throw new Finish('RESOLVED_BY_HAND', decided.note);
  }

  const step = stepRunner(needsAttention);

  /** Asks `probe` with growing pauses until it has an answer; past the deadline a person is asked, and retry waits again. */
  async function waitFor<T>(what: string, stepName: string, action: string, deadlineMs: number, probe: () => Promise<{ value: T } | { pending: string }>): Promise<T> {
    let deadlineAt = Date.now() + deadlineMs;
    for (let delay = POLL_INITIAL_MS; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
      const answer = await probe();
      if ('value' in answer) {
        state.waitingFor = undefined;
        state.deadline = undefined;
        return answer.value;
      }
      if (Date.now() >= deadlineAt) {
        await needsAttention(stepName, `${answer.pending} (waited ${Math.round(deadlineMs / 60_000)} min)`, action);
        deadlineAt = Date.now() + deadlineMs;
        delay = POLL_INITIAL_MS;
        continue;
      }
      state.waitingFor = `${what}: ${answer.pending}`;
      state.deadline = new Date(deadlineAt).toISOString();
      describe();
      await sleep(Math.min(delay, Math.max(deadlineAt - Date.now(), 1)));
    }
  }

  async function mapLines(terminalStoreId: string | undefined, lines: ReceiptLine[], what: string): Promise<ProductQuantity[]> {
    for (;;) {
      const mapped = await step(`read the ${what}`, 'Check that the Evotor cloud and Bitrix are reachable, then retry.', () => bitrix.mapRefundLines({ terminalStoreId, lines }));
      if ('lines' in mapped) return mapped.lines;
      await needsAttention(`read the ${what}`, mapped.problem, 'Give the product its Bitrix id in the terminal catalog, then retry; or handle the refund by hand and resolve with a note.');
    }
  }

  /** Our store of the refund receipt. */
  async function locateStore(): Promise<{ store: RefundStore; saleDeadlineMs: number }> {
    for (;;) {
      const settings = await step('find the store', 'Check POS_CONFIG, then retry.', () => lookup.refundSettings({ terminalStoreId: refund.terminalStoreId, storeId: input.storeId }));
      if (settings.store) return { store: settings.store, saleDeadlineMs: settings.saleDeadlineMs };
      await needsAttention('find the store', settings.problem ?? 'unknown store', 'Add the store to POS_CONFIG, then retry; or resolve with a note.');
    }
  }

  /** The sale the refund names (Evotor: the refund's cloud document's base_document_id) and its fiscal data. */
  async function baseOfRefund(deadlineMs: number): Promise<{ baseReceiptId?: string; fiscal?: FiscalAttributes }> {
    if (refund.terminalKind !== 'evotor') return { baseReceiptId: input.baseReceiptId };
    const doc = await waitFor<{ baseReceiptId?: string; fiscal?: FiscalAttributes }>('the refund receipt in the Evotor cloud', 'read the refund receipt', 'Check that the terminal is online and uploaded the refund, then retry.', deadlineMs, async () => {
      const found = await step('read the refund receipt', 'Check that the Evotor cloud is reachable, then retry.', () =>
        evotor.readRefundDocument({ terminalStoreId: refund.terminalStoreId, receiptId: refund.receiptId }),
      );
      return found.found ? { value: found } : { pending: 'the Evotor cloud has no document for the refund receipt yet' };
    });
    return { baseReceiptId: input.baseReceiptId ?? doc.baseReceiptId, fiscal: doc.fiscal };
  }

  async function findSale(saleReceiptId: string | undefined, deadlineMs: number): Promise<FoundSale> {
    for (;;) {
      const found = await waitFor<SaleLookup>(
        'the sale to be processed',
        'find the sale',
        'Check the sale receipt and its workflow (filter PosReceiptId); once it is processed, retry. Or handle the refund by hand and resolve with a note.',
        deadlineMs,
        async () => {
          const answer = await step('find the sale', 'Check that Temporal is reachable, then retry.', () =>
            lookup.findSale({ terminalStoreId: refund.terminalStoreId, saleReceiptId, orderIdHint: refund.orderId }),
          );
          return answer.status === 'pending' ? { pending: answer.reason } : { value: answer };
        },
      );
      if (found.status === 'order' || found.status === 'walk-in') return found;
      if (found.status === 'problem') await needsAttention('find the sale', found.reason, found.action);
    }
  }

  /** Asks the sale's ledger to reserve this refund; over what was sold or paid it is stopped for a person. */
  async function reserve(sale: SaleFacts): Promise<Extract<LedgerDecision, { outcome: 'reserved' }>> {
    const ledgerId = refundLedgerWorkflowId(sale.saleKey);
    for (;;) {
      decision = undefined;
      await signalOrStart(
        ledgerId,
        claimRefundSignal,
        { sale, claim: { refundId: refund.receiptId, lines: state.lines, amount: refund.amount, replyTo: workflowInfo().workflowId } },
        'refundLedgerWorkflow',
        { args: [{ saleKey: sale.saleKey }], staticSummary: `Refunds of ${sale.kind === 'order' ? `order ${sale.orderId}` : `walk-in sale ${sale.saleKey}`}` },
      );
      if (!(await condition(() => decision !== undefined, LEDGER_ANSWER_MS))) {
        await needsAttention('ask the sale\'s ledger', `${ledgerId} did not answer`, `Check the workflow ${ledgerId}, then retry.`);
        continue;
      }
      const answer = decision!;
      if (answer.outcome === 'reserved') {
        reservedWith = ledgerId;
        return answer;
      }
      await needsAttention(
        'check the refund against the sale',
        `stopped: ${answer.reason}`,
        'Nothing was changed in Bitrix or ATOL. Check the refund at the terminal: if the money did go back, settle the difference by hand and resolve with a note; retry once the sale or its earlier refunds are corrected.',
      );
    }
  }

  /** The refund receipt at the cloud register that printed the sale (ATOL `sell_refund`, Ferma `IncomeReturn`). */
  async function cloudRefund(
    register: 'atol' | 'ferma',
    orderId: string,
    saleTime: string,
    d: Extract<LedgerDecision, { outcome: 'reserved' }>,
    storeId: string,
  ): Promise<FiscalAttributes> {
    const name = register === 'atol' ? 'ATOL' : 'Ferma';
    for (let attempt = 1; ; attempt++) {
      const externalId = register === 'atol' ? atolRefundExternalId(refund.receiptId, attempt) : fermaRefundInvoiceId(refund.receiptId, attempt);
      const deadlineAt = Date.now() + ATOL_REPORT_DEADLINE_MS;
      enter('FISCALIZING', `${register === 'atol' ? 'ATOL Online' : 'OFD.ru Ferma'} refund receipt ${externalId}`, new Date(deadlineAt).toISOString());
      const receiptTime = nowIso();
      const args = { orderId, storeId, receiptTime, saleTime, wholeSale: d.wholeSale, lines: d.lines };
      const uuid = await step(`send refund receipt to ${name}`, `Check ${name} credentials and the order data named in the error, then retry.`, () =>
        register === 'atol'
          ? atol.registerAtolRefund({ ...args, externalId }).then((r) => r.uuid)
          : ferma.registerFermaRefundOfSale({ ...args, invoiceId: externalId }).then((r) => r.receiptId),
      );
      for (let delay = POLL_INITIAL_MS * 2; ; delay = Math.min(delay * 2, ATOL_POLL_MAX_MS)) {
        const report = await step(`read ${name} report`, `Check that ${name} is reachable, then retry.`, () =>
          register === 'atol' ? atol.getAtolReport({ uuid }) : ferma.getFermaReceiptStatus({ receiptId: uuid }),
        );
        if (report.status === 'done' && report.fiscal) return report.fiscal;
        if (report.status === 'fail') {
          await needsAttention(`${name} refund receipt`, `${name} failed refund receipt ${externalId}: ${report.error ?? 'no reason given'}`, `Fix the cause (${name} settings, the order's data), then retry: a new refund receipt is sent.`);
          break;
        }
        if (Date.now() >= deadlineAt) {
          await needsAttention(`read ${name} report`, `${name} has not processed refund receipt ${externalId} (id ${uuid}) in 30 min`, `Check the receipt in the ${name} account; retry to keep waiting for the same receipt.`);
          continue;
        }
        await sleep(delay);
      }
    }
  }

  async function reportCompleted(): Promise<void> {
    if (!reservedWith) return;
    try {
      await getExternalWorkflowHandle(reservedWith).signal(refundCompletedSignal, { refundId: refund.receiptId });
    } catch (err) {
      log.warn('could not tell the ledger the refund is done', { refundId: refund.receiptId, error: (err as Error).message });
    }
  }

  try {
    enter('LOCATING_SALE', 'the sale this refund belongs to', undefined, [
      { key: PosReceiptId, value: refund.receiptId },
      { key: PosTerminal, value: refund.deviceId },
      { key: PosTotal, value: refund.amount },
      ...(input.storeId ? [{ key: PosStore, value: input.storeId }] : []),
    ]);
    const { store, saleDeadlineMs } = await locateStore();
    state.storeId = store.id;
    state.fiscalMode = store.fiscalMode;
    upsertSearchAttributes([
      { key: PosStore, value: store.id },
      { key: PosFiscalMode, value: store.fiscalMode },
    ]);

    const { baseReceiptId, fiscal: terminalFiscal } = await baseOfRefund(saleDeadlineMs);
    state.saleReceiptId = baseReceiptId;
    while (!baseReceiptId && !refund.orderId)
      await needsAttention(
        'find the sale',
        'the refund receipt names no sale (no base document, no order id)',
        'Find the sale by hand and reverse it in Bitrix, then resolve with a note.',
      );
    const found = await findSale(baseReceiptId, saleDeadlineMs);
    const evotorStore = refund.terminalKind === 'evotor' ? refund.terminalStoreId : undefined;
    state.lines = await mapLines(evotorStore, input.lines, 'refunded goods');

    let sale: SaleFacts;
    let order: Extract<OrderSaleFacts, { found: true }> | undefined;
    if (found.status === 'order') {
      for (;;) {
        const facts = await step('load order', 'Check that Bitrix is reachable, then retry.', () => bitrix.loadOrderSale({ orderId: found.orderId }));
        if (facts.found) {
          order = facts;
          break;
        }
        await needsAttention('load order', facts.reason, 'Handle the refund by hand, then resolve with a note.');
      }
      state.sale = { kind: 'order', orderId: found.orderId, accountNumber: order.accountNumber };
      upsertSearchAttributes([
        { key: PosOrderId, value: found.orderId },
        { key: PosOrderNumber, value: order.accountNumber },
      ]);
      sale = {
        saleKey: orderSaleKey(found.orderId),
        kind: 'order',
        orderId: found.orderId,
        storeId: store.id,
        sold: order.sold,
        paid: found.paidAmount || order.posPayment?.sum || order.total,
        currency: order.currency,
      };
    } else {
      state.sale = { kind: 'walk-in' };
      const sold = await mapLines(evotorStore, found.lines, 'goods of the sale');
      sale = {
        saleKey: walkInSaleKey(found.terminalStoreId, baseReceiptId!),
        kind: 'walk-in',
        storeId: found.storeId ?? store.id,
        sold,
        paid: found.amount,
        currency: found.currency,
      };
    }
    describe();

    const reserved = await reserve(sale);
    state.decision = reserved;
    state.lines = reserved.lines;

    // Reversed in the reverse order of the sale: stock, then the payment and the order, then the fiscal receipt.
    enter('RETURNING_STOCK', 'Bitrix to take the goods back');
    if (found.status === 'order') {
      const back = await step('return stock', "Check the order's shipments and the warehouse in Bitrix, then retry.", () =>
        bitrix.returnOrderStock({ orderId: found.orderId, refundReceiptId: refund.receiptId, wholeSale: reserved.wholeSale, lines: reserved.lines }),
      );
      state.done.push(
        back.outcome === 'shipments-reversed'
          ? `stock: shipment(s) ${back.shipmentIds!.join(', ')} reversed, the goods are back at their warehouse`
          : back.outcome === 'document'
            ? `stock: returned by Bitrix store document ${back.documentId}`
            : 'stock: the order was never written off, nothing to return',
      );

      enter('CONFIRMING', 'Bitrix to record the refund');
      if (order!.posPayment) {
        const payment = order!.posPayment;
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
            paid: sale.paid,
            currency: sale.currency,
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
    } else {
      const back = await step('return stock', 'Check the products and the warehouse in Bitrix, then retry.', () =>
        bitrix.returnWalkInStock({ storeId: sale.storeId, refundReceiptId: refund.receiptId, lines: reserved.lines }),
      );
      state.done.push(`stock: returned by Bitrix store document ${back.documentId}`);
    }

    enter('FISCALIZING', 'the fiscal refund receipt');
    const cloud = found.status === 'order' && (found.fiscal?.source === 'atol' || found.fiscal?.source === 'ferma') ? found.fiscal.source : undefined;
    if (found.status === 'order' && cloud) {
      state.fiscal = await cloudRefund(cloud, found.orderId, found.saleTime, reserved, store.id);
      state.done.push(cloud === 'atol' ? 'fiscal: ATOL sell_refund mirroring the sale receipt' : 'fiscal: Ferma IncomeReturn mirroring the sale receipt');
    } else if (terminalFiscal) {
      state.fiscal = terminalFiscal;
      state.done.push('fiscal: printed by the terminal');
    } else state.done.push('fiscal: none of ours to mirror (the terminal or 1C:Retail prints the refund)');

    await reportCompleted();
    enter('COMPLETED');
    return { ...state, outcome: 'COMPLETED' };
  } catch (err) {
    if (!(err instanceof Finish)) throw err;
    state.problem = undefined;
    state.resolution = err.message;
    await reportCompleted();
    enter('COMPLETED');
    log.info('refund closed by hand', { refundId: refund.receiptId });
    return { ...state, outcome: 'RESOLVED_BY_HAND' };
  }
}
