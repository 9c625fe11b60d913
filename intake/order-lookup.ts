import type { Client } from '@temporalio/client';
import type { Kopecks } from '../domain/money';
import type { PosConfig } from '../lib/config';

const quote = (value: string) => `"${value.replace(/["\\]/g, '')}"`;

/**
 * Which of our stores a terminal receipt comes from, and which orders of that store await exactly this
 * amount (and this number, when the receipt carries one) — from the payment workflows' search attributes.
 * The order-matching activity, and the Evotor door's walk-in check, both ask it.
 */
export async function findAwaitingOrders(
  client: Client,
  config: PosConfig,
  input: { terminalStoreId?: string; storeId?: string; amount: Kopecks; accountNumber?: string },
): Promise<{ storeId?: string; candidates: string[] }> {
  const store = config.stores.find((s) => (input.storeId ? s.id === input.storeId : s.evotorStoreId === input.terminalStoreId));
  if (!store) return { candidates: [] };
  let query = `WorkflowType = "posPaymentWorkflow" AND ExecutionStatus = "Running" AND PosStage = "AWAITING_PAYMENT" AND PosStore = ${quote(store.id)} AND PosTotal = ${Math.trunc(input.amount)}`;
  if (input.accountNumber) query += ` AND PosOrderNumber = ${quote(input.accountNumber)}`;
  const candidates: string[] = [];
  for await (const wf of client.workflow.list({ query })) {
    const orderId = wf.workflowId.replace(/^pos-payment:/, '');
    if (!candidates.includes(orderId)) candidates.push(orderId);
    if (candidates.length > 10) break;
  }
  return { storeId: store.id, candidates };
}
