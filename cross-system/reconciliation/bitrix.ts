import { bitrixOrderEventIntake } from '../../intake/receipts';
import { terminalReceiptIntake } from '../../intake/terminal-receipts';
import type { Kopecks } from '../../domain/money';
import { type PosPaymentStatus } from '../../domain/payment';
import type { ReportItem, PageOutcome } from '../../domain/reconciliation';
import { parseResult, type BitrixClient, type BitrixPayment } from '../../activities/bitrix/client';
import { orderListResultSchema, paymentListResultSchema } from '../../activities/bitrix/schemas';
import { classifyErrors } from '../../activities/shared/activity-errors';
import { ExternalServiceError } from '../../activities/shared/errors';
import { orderEventsWorkflowId, posPaymentWorkflowId } from '../../domain/workflow-ids';
import { cloudCorrectionExternalId, correctionActNumber } from '../../domain/fiscal';
import { ReconciliationActivityDeps, OrderCandidate, BitrixPageOutcome, BITRIX_PAGES_PER_REQUEST, BITRIX_PAGE, Seen, Workflows, refusedItem } from './shared';

/** Activities on the Bitrix task queue (each one Bitrix request, or one `batch` of them), paced by its rate limit. */
export function createReconciliationBitrixActivities({ client, bitrix, config, logger }: ReconciliationActivityDeps & { bitrix: BitrixClient }) {
  const take = terminalReceiptIntake(client, config, { concurrency: 1, onForeignOrder: 'hold' });
  const posPaySystemIds = config.bitrix.posPaySystemIds;
  const posPaySystems = new Set(posPaySystemIds);

  /** Up to BITRIX_PAGES_PER_REQUEST pages of a list in one batch request; `more` when the last page was full. */
  async function listPages<T>(
    method: string,
    params: Record<string, unknown>,
    start: number,
    key: 'payments' | 'orders',
    pages = BITRIX_PAGES_PER_REQUEST,
  ): Promise<{ rows: T[]; more: boolean }> {
    const commands = Object.fromEntries(Array.from({ length: pages }, (_, i) => [`p${i}`, { method, params: { ...params, start: start + i * BITRIX_PAGE } }]));
    const { results, errors } = await bitrix.batch(commands);
    const failed = Object.entries(errors)[0];
    if (failed) throw new ExternalServiceError('bitrix', String(failed[1].error), `${method}: ${failed[1].error_description}`, false);
    const rows: T[] = [];
    let last = 0;
    for (let i = 0; i < pages; i++) {
      const raw = results[`p${i}`];
      // Through the client's parser: a bad row is a non-retryable Bitrix error naming the field, not a bare ZodError.
      const page = (key === 'payments' ? parseResult(paymentListResultSchema, raw ?? { payments: [] }, method).payments : parseResult(orderListResultSchema, raw ?? { orders: [] }, method).orders) as T[];
      rows.push(...page);
      last = page.length;
      if (page.length < BITRIX_PAGE) break;
    }
    return { rows, more: last === BITRIX_PAGE };
  }

  const posPaymentOf = (payments: BitrixPayment[], orderId: string) =>
    payments.find((p) => p.orderId === orderId && posPaySystems.has(p.paySystemId) && p.isReturn !== 'Y');

  return classifyErrors({
    /**
     * Terminal payments for our orders that no workflow holds: Bitrix says whether the POS payment is paid
     * (by someone else) and for how much, then each goes through the Evotor door's own call — signal-with-start
     * of the order's payment workflow, which fiscalizes (a correction receipt at a cloud register: the payment
     * is marked found by reconciliation), records the payment and deducts the stock.
     */
    async reconcileOrderReceipts(input: { candidates: OrderCandidate[] }): Promise<PageOutcome> {
      const workflows = new Workflows(client);
      const orderIds = [...new Set(input.candidates.map((c) => c.orderId))];
      // An order has a payment or two: pages enough for all of them in one request.
      const pages = Math.min(BITRIX_PAGES_PER_REQUEST, Math.ceil((orderIds.length * 2) / BITRIX_PAGE) + 1);
      const { rows: payments } = await listPages<BitrixPayment>('sale.payment.list', { filter: { '@orderId': orderIds }, order: { id: 'asc' } }, 0, 'payments', pages);
      const items: ReportItem[] = [];
      for (const c of input.candidates) {
        if (await workflows.holdsReceipt(c.payment, c.orderId)) continue;
        const pos = posPaymentOf(payments, c.orderId);
        const paidElsewhere = Boolean(pos?.paid);
        const cls = paidElsewhere && c.fiscalMode !== 'terminal' ? 'payment-without-fiscal-receipt' : 'terminal-payment-not-recorded';
        // A cloud register fiscalizes only after the payment reaches us: one found here had no receipt at the
        // time, so the order's workflow issues a correction receipt for it (54-FZ), not a sale receipt.
        const cloud = c.fiscalMode === 'atol' || c.fiscalMode === 'ferma';
        const payment = { ...c.payment, orderId: c.orderId, ...(cloud ? { foundByReconciliationAt: new Date().toISOString() } : {}) };
        const [outcome] = await take([{ payment, type: 'SELL', lines: [] }]);
        if (outcome.status === 'duplicate') continue;
        if (outcome.status === 'rejected') {
          items.push(refusedItem(cls, c.payment.receiptId, outcome.reason, { orderId: c.orderId, receiptId: c.payment.receiptId, terminalStoreId: c.payment.terminalStoreId, storeId: c.storeId }));
          continue;
        }
        const base = {
          key: c.payment.receiptId,
          orderId: c.orderId,
          receiptId: c.payment.receiptId,
          terminalStoreId: c.payment.terminalStoreId,
          storeId: c.storeId,
          terminalAmount: c.payment.amount,
          ...(pos ? { bitrixAmount: pos.sum } : {}),
          at: c.payment.paidAt,
          workflowId: outcome.workflowId,
        };
        const bitrixSide = !pos ? 'Bitrix has no POS payment for the order' : paidElsewhere ? 'Bitrix shows the payment paid by someone else' : 'Bitrix shows the payment unpaid';
        items.push(
          outcome.status === 'held'
            ? { ...base, class: cls, action: 'reported', found: `paid at the terminal; ${c.why}; ${bitrixSide}`, done: `held for a person in ${outcome.workflowId}: ${outcome.reason}` }
            : {
                ...base,
                class: cls,
                action: 'healed',
                found: `paid at the terminal; ${c.why}; ${bitrixSide}`,
                done: `payment handed to ${outcome.workflowId}${healedFiscalText(c)}`,
                // Only a cloud register's receipt is corrected here; a terminal printed its receipt at the time, and
                // 1C:Retail's receipt is awaited (reported only when its workflow ends without one, evotor.ts).
                ...(cloud ? { correction: 'issued' as const } : {}),
              },
        );
        if (pos?.paid && pos.sum !== c.payment.amount) {
          items.push({
            ...base,
            // Keyed by order, as the check of paid payments keys it: one divergence, found twice, is one item.
            key: c.orderId,
            class: 'amount-mismatch',
            action: 'reported',
            found: `the terminal took ${c.payment.amount} kopecks; Bitrix shows the POS payment paid with ${pos.sum}`,
            done: 'Refund the difference at the terminal or correct the payment in Bitrix.',
          });
        }
      }
      if (items.length) logger?.info({ items: items.length }, 'reconciliation: order payments handed over');
      return { items, totals: {}, requests: { bitrix: 1, temporal: workflows.calls + input.candidates.length } };
    },

    /**
     * One batch of Bitrix POS payments in the window. `awaiting`: unpaid payments billed in it — an order
     * with neither a payment nor an events workflow missed its event, and goes through the Bitrix door's
     * own call. `paid`: payments paid in it — each must rest on a terminal receipt of the same amount.
     */
    async reconcileBitrixPayments(input: { mode: 'awaiting' | 'paid'; from: string; to: string; start: number }): Promise<BitrixPageOutcome> {
      const workflows = new Workflows(client);
      const dateField = input.mode === 'awaiting' ? 'dateBill' : 'datePaid';
      const filter = { '@paySystemId': posPaySystemIds, paid: input.mode === 'paid' ? 'Y' : 'N', [`>=${dateField}`]: input.from, [`<${dateField}`]: input.to };
      const { rows, more } = await listPages<BitrixPayment>('sale.payment.list', { filter, order: { id: 'asc' } }, input.start, 'payments');
      let requests = 1;
      const payments = rows.filter((p) => p.isReturn !== 'Y');
      const items: ReportItem[] = [];
      const orderIds = [...new Set(payments.map((p) => p.orderId))];
      const seen = await workflows.existing(orderIds.flatMap((id) => [posPaymentWorkflowId(id), orderEventsWorkflowId(id)]));

      if (input.mode === 'awaiting') {
        const missed = orderIds.filter((id) => !seen.has(posPaymentWorkflowId(id)) && !seen.has(orderEventsWorkflowId(id)));
        if (missed.length) {
          // A cancelled order needs nothing: ask Bitrix which of them are still open.
          requests++;
          const { rows: orders } = await listPages<{ id: string; canceled?: boolean }>(
            'sale.order.list',
            { filter: { '@id': missed }, select: ['id', 'canceled'], order: { id: 'asc' } },
            0,
            'orders',
            Math.min(BITRIX_PAGES_PER_REQUEST, Math.ceil(missed.length / BITRIX_PAGE)),
          );
          for (const order of orders.filter((o) => !o.canceled)) {
            const payment = payments.find((p) => p.orderId === order.id)!;
            // The Bitrix door's own call: the events workflow decides and starts pos-payment.
            const workflowId = await bitrixOrderEventIntake(client, order.id, { event: 'ONSALEORDERSAVED' });
            items.push({
              class: 'missed-bitrix-event',
              key: order.id,
              action: 'healed',
              found: 'an order with an unpaid POS payment and no workflow: its Bitrix event never reached us',
              done: `order handed to ${workflowId}, which starts ${posPaymentWorkflowId(order.id)}`,
              orderId: order.id,
              bitrixAmount: payment.sum,
              workflowId,
            });
          }
        }
      } else {
        const matched = await workflows.ordersWithMatchedReceipts(orderIds);
        for (const p of payments) {
          const item = await checkPaidPayment(p, seen.get(posPaymentWorkflowId(p.orderId)), matched.has(p.orderId), workflows);
          if (item) items.push(item);
        }
      }
      return {
        items,
        nextStart: more ? input.start + BITRIX_PAGES_PER_REQUEST * BITRIX_PAGE : undefined,
        totals: { bitrixPayments: payments.length },
        requests: { bitrix: requests, temporal: workflows.calls + items.filter((i) => i.action === 'healed').length },
      };
    },
  });

  /** What the healed payment's receipt will be: a correction receipt at a cloud register, or one for the terminal's / 1C's side. */
  function healedFiscalText(c: OrderCandidate): string {
    if (c.fiscalMode === 'atol' || c.fiscalMode === 'ferma') {
      const register = c.fiscalMode === 'atol' ? 'ATOL Online sell_correction' : 'Ferma IncomeCorrection';
      return ` (its receipt was not issued at the time: it issues a correction receipt, ${register} ${cloudCorrectionExternalId(c.orderId, 1)}, basis "self", act ${correctionActNumber(c.orderId)}, then records the payment)`;
    }
    if (c.fiscalMode === '1c') return ` (it waits for 1C:Retail's receipt and records the payment; if 1C:Retail did not print it at the time, the correction receipt must be made there, act ${correctionActNumber(c.orderId)}, and confirmed through the middleware)`;
    return '';
  }

  async function checkPaidPayment(p: BitrixPayment, order: Seen | undefined, matchedReceipt: boolean, workflows: Workflows): Promise<ReportItem | undefined> {
    const base = { key: p.orderId, orderId: p.orderId, bitrixAmount: p.sum, ...(p.datePaid ? { at: new Date(p.datePaid).toISOString() } : {}) };
    if (!order) {
      // A receipt handed over earlier in this run may have started the workflow after the visibility read.
      const now = await workflows.describe(posPaymentWorkflowId(p.orderId));
      if (now) order = { workflowId: now.workflowId, runId: now.runId, status: now.status.name, closed: now.status.name !== 'RUNNING' };
    }
    let status: PosPaymentStatus | undefined;
    if (order) {
      try {
        status = await workflows.paymentStatus(order);
      } catch (e) {
        logger?.warn({ orderId: p.orderId, err: (e as Error).message }, 'reconciliation: payment workflow not readable');
        return undefined;
      }
    }
    if (status && status.payments.length > 0) {
      const paid: Kopecks = status.payments.reduce((s, x) => s + x.amount, 0);
      if (paid === p.sum) return undefined;
      return {
        ...base,
        class: 'amount-mismatch',
        action: 'reported',
        found: `the terminal took ${paid} kopecks in ${status.payments.length} receipt(s); Bitrix shows the POS payment paid with ${p.sum}`,
        done: 'Refund or take the difference at the terminal, or correct the payment in Bitrix; then resolve the order.',
        receiptId: status.payments.map((x) => x.receiptId).join(' '),
        terminalAmount: paid,
        workflowId: order!.workflowId,
      };
    }
    // Still running without a receipt: it waits for one (a stuck wait is reported by its stage limit).
    if (order && !order.closed) return undefined;
    if (matchedReceipt) return undefined;
    return {
      ...base,
      class: 'bitrix-paid-without-terminal-receipt',
      action: 'reported',
      found: `the POS payment is marked paid in Bitrix${p.psInvoiceId ? ` (invoice ${p.psInvoiceId})` : ''}, but no terminal receipt for the order reached us`,
      done: 'Check whether the customer paid at the pickup point (terminal, 1C:Retail); if not, unmark the payment in Bitrix.',
      ...(order ? { workflowId: order.workflowId } : {}),
    };
  }
}

export type ReconciliationBitrixActivities = ReturnType<typeof createReconciliationBitrixActivities>;
