/**
 * Every workflow id and task queue, in one registry. Ids come from the business key (the Bitrix order id,
 * the terminal store + receipt id: domain/ids.ts gives each its one canonical form), so the same business
 * event twice is the same workflow; support finds a workflow in the Web UI by these prefixes.
 */

export const TASK_QUEUES = {
  workflows: 'pos-workflows',
  /**
   * The per-store walk-in deductions workflows and the walk-in sales books: their own queue, so a burst of
   * receipts never starves them (the door waits on both).
   */
  deductions: 'pos-deductions',
  bitrix: 'bitrix',
  evotor: 'evotor',
  fiscal: 'fiscal',
} as const;

/** One order's payment at the pickup point (posPaymentWorkflow). */
export function posPaymentWorkflowId(orderId: string): string {
  return `pos-payment:${orderId}`;
}

/** The Bitrix events of one order (bitrixOrderEventsWorkflow). */
export function orderEventsWorkflowId(orderId: string): string {
  return `bitrix-order-events:${orderId}`;
}

/** A terminal receipt without our order id, or one no order could take (terminalReceiptWorkflow). */
export function terminalReceiptWorkflowId(terminalStoreId: string, receiptId: string): string {
  return `terminal-receipt:${terminalStoreId}:${receiptId}`;
}

/** One refund receipt (refundWorkflow). */
export function refundWorkflowId(terminalStoreId: string, refundReceiptId: string): string {
  return `refund:${terminalStoreId}:${refundReceiptId}`;
}

/** What was refunded against one sale (refundLedgerWorkflow), keyed by orderSaleKey or walkInSaleKey. */
export function refundLedgerWorkflowId(saleKey: string): string {
  return `refund-ledger:${saleKey}`;
}

export function orderSaleKey(orderId: string): string {
  return `order:${orderId}`;
}

export function walkInSaleKey(terminalStoreId: string, receiptId: string): string {
  return `walk-in:${terminalStoreId}:${receiptId}`;
}

/** A paid order cancelled: waits for its refund at the terminal (orderCancellationWorkflow). */
export function orderCancellationWorkflowId(orderId: string): string {
  return `order-cancellation:${orderId}`;
}

/** One store's walk-in write-offs (walkInDeductionsWorkflow). */
export function walkInDeductionsWorkflowId(storeId: string): string {
  return `walk-in-deductions:${storeId}`;
}

/**
 * One store's walk-in sales of one UTC day, kept for the return period (walkInSalesBookWorkflow): what a
 * refund needs of a middleware walk-in sale once its receipt workflow is past the namespace's retention.
 * A full book is followed by the next part.
 */
export function walkInSalesBookWorkflowId(storeId: string, day: string, part: number): string {
  return `walk-in-sales:${storeId}:${day}:${part}`;
}

/** A walk-in write-off Bitrix refused (walkInProblemWorkflow), keyed by the receipt key `store:receipt`. */
export function walkInProblemWorkflowId(receiptKey: string): string {
  return `walk-in-problem:${receiptKey}`;
}

export function reconciliationScheduleId(kind: 'frequent' | 'nightly'): string {
  return `reconciliation-${kind}`;
}

/** Workflow id of a run started by hand (API): a schedule's runs get `reconciliation-{kind}-{time}` from Temporal. */
export function manualRunWorkflowId(at: Date, key?: string): string {
  return key ? `reconciliation-manual-${key}` : `reconciliation-manual-${at.toISOString()}`;
}

/** One Bitrix REST cashbox check (bitrixCashboxCheckWorkflow), by Bitrix's check uuid: a repeated print request is the same. */
export function bitrixCashboxCheckWorkflowId(checkUuid: string): string {
  return `bitrix-cashbox-check:${checkUuid}`;
}
