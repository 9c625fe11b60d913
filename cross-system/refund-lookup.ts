import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defineQuery } from '@temporalio/workflow';
import type { QueryDefinition } from '@temporalio/common';
import type { FiscalAttributes } from '../domain/fiscal';
import type { Kopecks } from '../domain/money';
import { type PosPaymentStatus } from '../domain/payment';
import { type OrderSaleRecord } from '../domain/refund';
import type { ReceiptLine } from '../domain/walk-in';
import { PosOrderId, PosStore } from '../domain/search-attributes';
import { durationMs, type PosConfig, type StoreConfig } from '../lib/config';
import type { TerminalReceiptInput, TerminalReceiptState } from '../workflows/terminal-receipt';
import type { CompanyAccounts } from '../activities/shared/company-clients';
import { cloudReceipt } from './reconciliation/documents';
import { walkInSaleQuery } from '../workflows/walk-in-sales-book';
import { TASK_QUEUES, orderSaleKey, posPaymentWorkflowId, refundLedgerWorkflowId, terminalReceiptWorkflowId, walkInSalesBookWorkflowId } from '../domain/workflow-ids';

export interface RefundLookupDeps {
  client: Client;
  config: PosConfig;
  /** The Evotor cloud: where a walk-in sale older than the namespace's retention is read back from. */
  /** Each store's company's Evotor account (reads a sale's cloud document). */
  accounts?: CompanyAccounts;
}

// The status queries of the workflows a sale may have gone through (both are named "status").
const paymentStatusQuery = defineQuery<PosPaymentStatus>('status');
const receiptStatusQuery = defineQuery<TerminalReceiptState>('status');
const ledgerStatusQuery = defineQuery<{ orderSale?: OrderSaleRecord }>('status');

const DAY_MS = 86_400_000;

export type RefundStore = Pick<StoreConfig, 'id' | 'fiscalMode' | 'bitrixStoreId' | 'terminalKind' | 'evotorStoreId' | 'evotorDeviceIds'>;

/** Where a sale went and what became of it, as far as a refund needs to know. */
export type SaleLookup =
  /** Not there yet, or still being processed: ask again later. */
  | { status: 'pending'; reason: string }
  /** Will not resolve by waiting: a person must look. */
  | { status: 'problem'; reason: string; action: string }
  | {
      status: 'order';
      orderId: string;
      /** The order's payment receipts (their ids are the Bitrix payment's psInvoiceId). */
      saleReceiptIds: string[];
      paidAmount: Kopecks;
      currency?: string;
      accountNumber?: string;
      /** The sale's fiscal receipt: `source: 'atol'` means we sent a `sell` that a `sell_refund` must mirror. */
      fiscal?: FiscalAttributes;
      /** The payment workflow's stage: COMPLETED, CANCELLED, AWAITING_REFUND (a cancellation waits for this refund). */
      paymentStage: string;
      saleTime: string;
    }
  | { status: 'walk-in'; storeId?: string; terminalStoreId: string; lines: ReceiptLine[]; amount: Kopecks; currency: string; saleTime: string };

/** Look-ups in Temporal itself (the workflows a sale went through): cheap, and they cost Bitrix nothing. */
export function createRefundLookupActivities({ client, config, accounts }: RefundLookupDeps) {
  const pending = (reason: string): SaleLookup => ({ status: 'pending', reason });
  const problem = (reason: string, action: string): SaleLookup => ({ status: 'problem', reason, action });

  async function queryOrNothing<T>(workflowId: string, query: QueryDefinition<T>): Promise<T | undefined> {
    try {
      return await client.workflow.getHandle(workflowId).query(query);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    }
  }

  /** The receipt as the door handed it over: the first event of its workflow's history. */
  async function receiptInput(workflowId: string): Promise<TerminalReceiptInput | undefined> {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    return payload ? client.options.loadedDataConverter.payloadConverter.fromPayload<TerminalReceiptInput>(payload) : undefined;
  }

  let retention: { ms: number; readAt: number } | undefined;
  /** How long the namespace keeps closed workflows (read once an hour). */
  async function retentionMs(): Promise<number> {
    if (!retention || Date.now() - retention.readAt > 3_600_000) {
      const described = await client.workflowService.describeNamespace({ namespace: client.options.namespace });
      const ttl = described.config?.workflowExecutionRetentionTtl;
      retention = { ms: Number(ttl?.seconds ?? 0) * 1000 + Math.floor((ttl?.nanos ?? 0) / 1e6), readAt: Date.now() };
    }
    return retention.ms;
  }

  /**
   * A sale whose receipt workflow is gone: read back from its Evotor cloud document, but only when the sale is
   * older than the namespace's retention — then its record was there and retention removed it (a younger sale
   * without a record has not reached us yet, and is waited for). An order's sale goes to the order's ledger.
   */
  async function saleFromCloud(terminalStoreId: string, saleReceiptId: string): Promise<SaleLookup | undefined> {
    if (!accounts || !config.stores.some((s) => s.evotorStoreId === terminalStoreId)) return undefined;
    const doc = await accounts.evotorOfTerminalStore(terminalStoreId).getDocument(terminalStoreId, saleReceiptId);
    const sale = doc ? cloudReceipt(doc) : undefined;
    if (!sale || sale.type !== 'SELL') return undefined;
    if (Date.now() - Date.parse(sale.payment.paidAt) <= (await retentionMs())) return undefined;
    if (sale.payment.orderId) return orderSale(sale.payment.orderId, saleReceiptId);
    if (!sale.lines.length) return problem(`the walk-in sale ${saleReceiptId} has no lines in its Evotor document`, 'Return the goods by hand in Bitrix if they left the warehouse, then resolve with a note.');
    return {
      status: 'walk-in',
      storeId: config.stores.find((s) => s.evotorStoreId === terminalStoreId)?.id,
      terminalStoreId,
      lines: sale.lines,
      amount: sale.payment.amount,
      currency: sale.payment.currency,
      saleTime: sale.payment.paidAt,
    };
  }

  /**
   * A middleware walk-in sale whose receipt workflow is gone: read from its store-day sales book (kept for the
   * return period), newest day first. Nothing found: the sale has not reached us yet, or is past its return period.
   */
  async function saleFromBook(terminalStoreId: string, saleReceiptId: string): Promise<SaleLookup | undefined> {
    // A middleware receipt's terminal store is our store id (an Evotor one is Evotor's store uuid).
    const store = config.stores.find((s) => s.id === terminalStoreId);
    if (!store) return undefined;
    // Only a sale older than the retention has lost its record: younger days are not read (a refund that waits
    // for its sale polls here), and a book is kept for its day plus the return period.
    const days = Math.ceil(durationMs(config.refunds.walkInReturnPeriod) / DAY_MS) + 1;
    for (let d = Math.floor((await retentionMs()) / DAY_MS); d <= days; d++) {
      const day = new Date(Date.now() - d * DAY_MS).toISOString().slice(0, 10);
      for (let part = 0; ; part++) {
        let sale;
        try {
          sale = await client.workflow.getHandle(walkInSalesBookWorkflowId(store.id, day, part)).query(walkInSaleQuery, saleReceiptId);
        } catch (e) {
          if (e instanceof WorkflowNotFoundError) break;
          throw e;
        }
        if (sale) return { status: 'walk-in', storeId: store.id, terminalStoreId: sale.terminalStoreId, lines: sale.lines, amount: sale.amount, currency: sale.currency, saleTime: sale.paidAt };
      }
    }
    return undefined;
  }

  /** The sale as the payment workflow recorded it into the order's ledger when it completed. */
  async function recordedSale(orderId: string): Promise<OrderSaleRecord | undefined> {
    return (await queryOrNothing(refundLedgerWorkflowId(orderSaleKey(orderId)), ledgerStatusQuery))?.orderSale;
  }

  async function orderSale(orderId: string, saleReceiptId: string | undefined): Promise<SaleLookup> {
    const handle = client.workflow.getHandle(posPaymentWorkflowId(orderId));
    let execution: string;
    let status: Pick<PosPaymentStatus, 'paidAmount' | 'currency' | 'accountNumber' | 'fiscal'> & { stage: string; payments: OrderSaleRecord['payments'] };
    try {
      execution = (await handle.describe()).status.name;
      status = await handle.query(paymentStatusQuery);
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
      // Gone: never started yet, or closed and past the namespace's retention — then its ledger has the sale.
      const record = await recordedSale(orderId);
      if (!record) return pending(`order ${orderId} has no payment workflow yet`);
      execution = 'COMPLETED';
      status = record;
    }
    const sale = saleReceiptId ? status.payments.find((p) => p.receiptId === saleReceiptId) : status.payments[0];
    if (execution === 'RUNNING' && status.stage !== 'AWAITING_REFUND') {
      if (!sale) return pending(`the sale receipt has not reached order ${orderId}'s payment workflow yet`);
      return pending(`order ${orderId}'s payment is still being processed (stage ${status.stage})`);
    }
    if (execution !== 'RUNNING' && execution !== 'COMPLETED')
      return problem(`order ${orderId}'s payment workflow ended ${execution}`, 'Check the order in Bitrix and the payment workflow, then handle the refund by hand and resolve with a note.');
    if (!sale)
      return problem(
        saleReceiptId ? `receipt ${saleReceiptId} is not a payment of order ${orderId}` : `order ${orderId} has no payment taken at a terminal`,
        'Find the sale this refund belongs to; handle it by hand in Bitrix, then resolve with a note.',
      );
    return {
      status: 'order',
      orderId,
      saleReceiptIds: status.payments.map((p) => p.receiptId),
      paidAmount: status.paidAmount,
      currency: status.currency,
      accountNumber: status.accountNumber,
      fiscal: status.fiscal,
      paymentStage: status.stage,
      saleTime: status.fiscal?.receiptDateTime ?? sale.paidAt,
    };
  }

  return {
    /**
     * Records an order's sale into its ledger (`refund-ledger:order:{orderId}`, started if need be; it stays
     * open) so that a refund still finds the sale after the closed payment workflow is gone (retention).
     */
    async recordOrderSale(record: OrderSaleRecord): Promise<void> {
      await client.workflow.signalWithStart('refundLedgerWorkflow', {
        workflowId: refundLedgerWorkflowId(orderSaleKey(record.orderId)),
        taskQueue: TASK_QUEUES.workflows,
        args: [{ saleKey: orderSaleKey(record.orderId) }],
        signal: 'recordOrderSale',
        signalArgs: [record],
        typedSearchAttributes: [
          { key: PosOrderId, value: record.orderId },
          ...(record.storeId ? [{ key: PosStore, value: record.storeId }] : []),
        ],
        staticSummary: `Refunds of order ${record.orderId}`,
      });
    },

    /** Our store of a refund receipt, and how long a refund may wait for its sale. */
    async refundSettings(input: { terminalStoreId: string; storeId?: string }): Promise<{ store?: RefundStore; saleDeadlineMs: number; problem?: string }> {
      const store = config.stores.find((s) => (input.storeId ? s.id === input.storeId : s.evotorStoreId === input.terminalStoreId));
      const saleDeadlineMs = durationMs(config.refunds.saleDeadline);
      if (!store) return { saleDeadlineMs, problem: `terminal store ${input.storeId ?? input.terminalStoreId} is not in POS_CONFIG` };
      const { id, fiscalMode, bitrixStoreId, terminalKind, evotorStoreId, evotorDeviceIds } = store;
      return { store: { id, fiscalMode, bitrixStoreId, terminalKind, evotorStoreId, evotorDeviceIds }, saleDeadlineMs };
    },

    /**
     * Where the sale a refund names went: an order's payment (the order id from the refund's extras, or the
     * order the sale receipt was matched to) or a walk-in sale. A sale not yet through its workflow is
     * `pending`: the refund waits for it rather than reverse what has not been done.
     */
    async findSale(input: { terminalStoreId: string; saleReceiptId?: string; orderIdHint?: string }): Promise<SaleLookup> {
      let orderId = input.orderIdHint;
      if (input.saleReceiptId) {
        const receiptWorkflowId = terminalReceiptWorkflowId(input.terminalStoreId, input.saleReceiptId);
        const receipt = await queryOrNothing(receiptWorkflowId, receiptStatusQuery);
        if (receipt?.matchedOrderId) orderId = receipt.matchedOrderId;
        else if (receipt?.stage === 'QUEUED_FOR_DEDUCTION') {
          const sold = await receiptInput(receiptWorkflowId);
          if (!sold?.lines?.length) return problem(`the walk-in sale ${input.saleReceiptId} has no lines`, 'Return the goods by hand in Bitrix if they left the warehouse, then resolve with a note.');
          return {
            status: 'walk-in',
            storeId: receipt.storeId,
            terminalStoreId: sold.payment.terminalStoreId,
            lines: sold.lines,
            amount: sold.payment.amount,
            currency: sold.payment.currency,
            saleTime: sold.payment.paidAt,
          };
        } else if (!receipt && !orderId) {
          const kept = (await saleFromCloud(input.terminalStoreId, input.saleReceiptId)) ?? (await saleFromBook(input.terminalStoreId, input.saleReceiptId));
          if (kept) return kept;
        } else if (receipt?.stage === 'MATCHING') return pending('the sale receipt is still being matched to an order');
        else if (receipt?.stage === 'NEEDS_ATTENTION') return pending(`the sale receipt waits for a person in ${receiptWorkflowId}: ${receipt.reason ?? ''}`.trim());
        else if (receipt)
          return problem(`the sale receipt was closed by hand in ${receiptWorkflowId}${receipt.resolution ? ` (${receipt.resolution})` : ''}`, 'Handle this refund by hand as well, then resolve with a note.');
      }
      if (!orderId) return pending(`the sale receipt ${input.saleReceiptId ?? '(not named)'} has not reached us yet`);
      return orderSale(orderId, input.saleReceiptId);
    },
  };
}

export type RefundLookupActivities = ReturnType<typeof createRefundLookupActivities>;
