import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { orderEventsWorkflowId, posPaymentWorkflowId, TASK_QUEUES, terminalReceiptWorkflowId, type PosPaymentResult, type TerminalPayment } from '../domain/payment';
import { refundWorkflowId, type RefundInput } from '../domain/refund';
import type { ReceiptLine } from '../domain/walk-in';
import { bitrixOrderEventSignal, bitrixOrderEventsWorkflow } from '../workflows/order-events';
import { paymentReceivedSignal, posPaymentWorkflow } from '../workflows/pos-payment';
import { refundWorkflow } from '../workflows/refund';
import { terminalReceiptWorkflow, type TerminalReceiptInput } from '../workflows/terminal-receipt';

export type IntakeOutcome = { status: 'accepted' | 'duplicate' | 'held'; workflowId: string; reason?: string };

/**
 * How every door hands a terminal receipt to Temporal (the Evotor webhook and the middleware batch alike).
 * A receipt for an order goes to that order's workflow; any other receipt to its own workflow keyed by store
 * + receipt, so that a redelivery is a duplicate.
 */
export function receiptIntake(client: Client) {
  async function toReceiptWorkflow(
    payment: TerminalPayment,
    receiptType: string,
    lines: ReceiptLine[],
    extra: Pick<TerminalReceiptInput, 'heldReason' | 'storeId' | 'matchOrders' | 'queuedByDoor'> = {},
  ): Promise<IntakeOutcome> {
    const workflowId = terminalReceiptWorkflowId(payment.terminalStoreId, payment.receiptId);
    try {
      await client.workflow.start(terminalReceiptWorkflow, {
        workflowId,
        taskQueue: TASK_QUEUES.workflows,
        args: [{ payment, receiptType, lines, ...extra }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `${receiptType} receipt ${payment.receiptId} from terminal ${payment.deviceId}`,
        // Read back by the door when the receipt comes again (api/walk-in-intake.ts): only a walk-in the door
        // queued itself may be offered to the deductions workflow again.
        ...(extra.queuedByDoor ? { memo: { queuedByDoor: true } } : {}),
      });
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) return { status: 'duplicate', workflowId };
      throw e;
    }
    return extra.heldReason ? { status: 'held', workflowId, reason: extra.heldReason } : { status: 'accepted', workflowId };
  }

  async function toOrder(payment: TerminalPayment & { orderId: string }): Promise<IntakeOutcome> {
    const workflowId = posPaymentWorkflowId(payment.orderId);
    try {
      await client.workflow.signalWithStart(posPaymentWorkflow, {
        workflowId,
        taskQueue: TASK_QUEUES.workflows,
        args: [{ orderId: payment.orderId, trigger: 'terminal-receipt' }],
        signal: paymentReceivedSignal,
        signalArgs: [payment],
        // A late duplicate after completion must not start the order again (EXTERNAL-APIS.md §5).
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: `POS payment of Bitrix order ${payment.orderId}`,
      });
      return { status: 'accepted', workflowId };
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
    const closed: PosPaymentResult = await client.workflow.getHandle(workflowId).result();
    if (closed.payments.some((p) => p.receiptId === payment.receiptId)) return { status: 'duplicate', workflowId };
    return toReceiptWorkflow(payment, 'SELL', [], { heldReason: `order ${payment.orderId}'s payment workflow already ended (${closed.stage}): a second payment?` });
  }

  /**
   * A refund receipt (PAYBACK) starts its own refund workflow, keyed by store + receipt: a redelivery is a
   * duplicate, even after the refund is done, so a refund is never reversed twice.
   */
  async function toRefund(payment: TerminalPayment, lines: ReceiptLine[], extra: Pick<RefundInput, 'baseReceiptId' | 'storeId'> = {}): Promise<IntakeOutcome> {
    const workflowId = refundWorkflowId(payment.terminalStoreId, payment.receiptId);
    try {
      await client.workflow.start(refundWorkflow, {
        workflowId,
        taskQueue: TASK_QUEUES.workflows,
        args: [{ refund: payment, lines, ...extra }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: `Refund receipt ${payment.receiptId} from terminal ${payment.deviceId}`,
      });
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) return { status: 'duplicate', workflowId };
      throw e;
    }
    return { status: 'accepted', workflowId };
  }

  return { toOrder, toReceiptWorkflow, toRefund };
}

/**
 * How a Bitrix order event reaches Temporal (the Bitrix webhook door and reconciliation's missed-event heal
 * alike): signal-with-start of the order's events workflow, which decides whether a payment workflow starts.
 */
export async function bitrixOrderEventIntake(client: Client, orderId: string, event: { event: string; ts?: string }): Promise<string> {
  const workflowId = orderEventsWorkflowId(orderId);
  await client.workflow.signalWithStart(bitrixOrderEventsWorkflow, {
    workflowId,
    taskQueue: TASK_QUEUES.workflows,
    args: [orderId],
    signal: bitrixOrderEventSignal,
    signalArgs: [{ ...event, receivedAt: new Date().toISOString() }],
    staticSummary: `Bitrix events of order ${orderId}`,
  });
  return workflowId;
}
