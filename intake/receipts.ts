import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { bitrixIdProblem, terminalIdProblem } from '../domain/ids';
import { paymentBelongsToStore, type PosPaymentResult, type TerminalPayment } from '../domain/payment';
import { type RefundInput } from '../domain/refund';
import type { ReceiptLine } from '../domain/walk-in';
import { bitrixOrderEventSignal, bitrixOrderEventsWorkflow } from '../workflows/order-events';
import { paymentReceivedSignal, posPaymentWorkflow } from '../workflows/pos-payment';
import { refundWorkflow } from '../workflows/refund';
import { terminalReceiptWorkflow, type TerminalReceiptInput } from '../workflows/terminal-receipt';
import { TASK_QUEUES, orderEventsWorkflowId, posPaymentWorkflowId, refundWorkflowId, terminalReceiptWorkflowId } from '../domain/workflow-ids';

export type IntakeOutcome =
  | { status: 'accepted' | 'duplicate' | 'held'; workflowId: string; reason?: string }
  | { status: 'rejected'; workflowId?: undefined; reason: string };

/**
 * Why a payment cannot be handed over as it is (an id that is not canonical would make a second workflow
 * of the same order or receipt), or undefined. Doors check their input earlier with the same rules
 * (domain/ids.ts); this is the net for every caller, reconciliation included.
 */
export function paymentProblem(payment: TerminalPayment): string | undefined {
  const checks: [string, string | undefined, (v: string) => string | undefined][] = [
    ['receiptId', payment.receiptId, terminalIdProblem],
    ['terminalStoreId', payment.terminalStoreId, terminalIdProblem],
    ['deviceId', payment.deviceId, terminalIdProblem],
    ['orderId', payment.orderId, bitrixIdProblem],
  ];
  for (const [field, value, problem] of checks) {
    if (value === undefined) continue;
    const found = problem(value);
    if (found) return `${field}: ${found}`;
  }
  return undefined;
}

/** The store (POS_CONFIG id) a payment was taken at, from its terminal store id; undefined when not configured. */
export function storeOfPayment(config: { stores: { id: string; evotorStoreId?: string }[] }, payment: Pick<TerminalPayment, 'terminalKind' | 'terminalStoreId'>): string | undefined {
  return config.stores.find((s) => paymentBelongsToStore(payment, s))?.id;
}

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
    const problem = paymentProblem(payment);
    if (problem) return { status: 'rejected', reason: problem };
    const workflowId = terminalReceiptWorkflowId(payment.terminalStoreId, payment.receiptId);
    try {
      await client.workflow.start(terminalReceiptWorkflow, {
        workflowId,
        taskQueue: TASK_QUEUES.workflows,
        args: [{ payment, receiptType, lines, ...extra }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `${receiptType} receipt ${payment.receiptId} from terminal ${payment.deviceId}`,
        // Read back by the door when the receipt comes again (intake/walk-ins.ts): only a walk-in the door
        // queued itself may be offered to the deductions workflow again.
        ...(extra.queuedByDoor ? { memo: { queuedByDoor: true, queuedFirst: true } } : {}),
      });
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) return { status: 'duplicate', workflowId };
      throw e;
    }
    return extra.heldReason ? { status: 'held', workflowId, reason: extra.heldReason } : { status: 'accepted', workflowId };
  }

  /**
   * Which store's order this is, as far as Temporal already knows (the payment workflow's PosStore, set
   * once it has loaded the order); undefined when there is no workflow yet or it has not loaded.
   */
  async function storeOfOrder(workflowId: string): Promise<string | undefined> {
    try {
      const described = await client.workflow.getHandle(workflowId).describe();
      const value = described.searchAttributes?.PosStore?.[0];
      return typeof value === 'string' ? value : undefined;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    }
  }

  /**
   * An order is paid only through the store it belongs to. `storeId` is the store the payment was taken at
   * (undefined: a terminal store not in POS_CONFIG). A payment through another store is refused here when the
   * order's store is known (`onForeign`: "reject" answers the sender, "hold" keeps the receipt for a person in
   * its own receipt workflow); the payment workflow refuses it too when it learns its store later.
   */
  async function toOrder(payment: TerminalPayment & { orderId: string }, opts: { storeId?: string; onForeign?: 'reject' | 'hold' } = {}): Promise<IntakeOutcome> {
    const problem = paymentProblem(payment);
    if (problem) return { status: 'rejected', reason: problem };
    const workflowId = posPaymentWorkflowId(payment.orderId);
    const owner = await storeOfOrder(workflowId);
    if (owner !== undefined && owner !== opts.storeId) {
      const reason = `orderId: order ${payment.orderId} belongs to store ${owner}, not ${opts.storeId ?? `terminal store ${payment.terminalStoreId}`}: it is paid only through its own store`;
      if (opts.onForeign === 'reject') return { status: 'rejected', reason };
      return toReceiptWorkflow(payment, 'SELL', [], { heldReason: reason, ...(opts.storeId ? { storeId: opts.storeId } : {}) });
    }
    try {
      await client.workflow.signalWithStart(posPaymentWorkflow, {
        workflowId,
        taskQueue: TASK_QUEUES.workflows,
        args: [{ orderId: payment.orderId, trigger: 'terminal-receipt' }],
        signal: paymentReceivedSignal,
        signalArgs: [payment],
        // A late duplicate after completion must not start the order again: only a failed run may be started anew.
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
    const problem = paymentProblem(payment) ?? (extra.baseReceiptId ? terminalIdProblem(extra.baseReceiptId) : undefined);
    if (problem) return { status: 'rejected', reason: problem };
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
