import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { BitrixClient } from '../activities/bitrix/client';
import {
  CASHBOX_HANDLER_CODE,
  cashboxNumberOfStore,
  type CashboxCheckInput,
  type CashboxCheckStatus,
  type CheckKind,
} from '../domain/bitrix-cashbox';
import type { FiscalAttributes } from '../domain/fiscal';
import type { Kopecks } from '../domain/money';
import type { PosPaymentStatus } from '../domain/payment';
import { PosOrderId, PosReceiptId, PosStage, PosStore, PosTotal } from '../domain/search-attributes';
import { TASK_QUEUES, bitrixCashboxCheckWorkflowId } from '../domain/workflow-ids';
import { checkUrlKey, storeCashboxToken } from '../lib/bitrix-cashbox-secret';
import type { PosConfig } from '../lib/config';
import type { Logger } from '../lib/logger';
import { cashboxCheckStatusQuery, type bitrixCashboxCheckWorkflow } from '../workflows/bitrix-cashbox-check';
import { statusQuery } from '../workflows/payment/messages';
import { refundStatusQuery } from '../workflows/refund/messages';
import { quote } from './reconciliation/shared';


/** The door paths Bitrix is told about (sale.cashbox.handler.add PRINT_URL and CHECK_URL). */
export const PRINT_PATH = '/webhooks/bitrix/cashbox/print';
export const CHECK_PATH = '/webhooks/bitrix/cashbox/check';

/** Stores whose POS_CONFIG switches the Bitrix REST cashbox on. */
export function cashboxStores(config: PosConfig) {
  return config.stores.filter((s) => s.bitrixCashbox?.enabled);
}

/** The handler's settings: where Bitrix prints and checks, and the settings form (an AUTH.TOKEN we fill in). */
export function cashboxHandlerSettings(publicBaseUrl: string, masterSecret: string): Record<string, unknown> {
  const base = publicBaseUrl.replace(/\/$/, '');
  return {
    PRINT_URL: `${base}${PRINT_PATH}`,
    CHECK_URL: `${base}${CHECK_PATH}?key=${checkUrlKey(masterSecret)}`,
    HTTP_VERSION: '1.1',
    CONFIG: {
      AUTH: {
        LABEL: 'POS bridge',
        ITEMS: { TOKEN: { TYPE: 'STRING', REQUIRED: 'Y', LABEL: 'Token (set by the bridge; do not change)' } },
      },
    },
  };
}

export interface CashboxRegistration {
  handler: 'created' | 'updated';
  cashboxes: Record<string, 'created' | 'updated'>;
}

/**
 * The handler and one cashbox per enabled store, added when missing and brought up to date otherwise
 * (idempotent: called at every worker start). A cashbox is ours by its NUMBER_KKM (`pos-bridge:<store>`).
 */
export async function ensureBitrixCashboxes(
  bitrix: BitrixClient,
  config: PosConfig,
  opts: { publicBaseUrl: string; masterSecret: string; logger?: Logger },
): Promise<CashboxRegistration | undefined> {
  const stores = cashboxStores(config);
  if (stores.length === 0) return undefined;
  const settings = cashboxHandlerSettings(opts.publicBaseUrl, opts.masterSecret);
  const name = 'POS bridge (pickup point receipts)';
  const existing = (await bitrix.listCashboxHandlers()).find((h) => h.code === CASHBOX_HANDLER_CODE);
  let handler: CashboxRegistration['handler'];
  if (existing) {
    await bitrix.updateCashboxHandler(existing.id, { name, settings });
    handler = 'updated';
  } else {
    await bitrix.addCashboxHandler({ code: CASHBOX_HANDLER_CODE, name, settings });
    handler = 'created';
  }
  const cashboxes: CashboxRegistration['cashboxes'] = {};
  const known = await bitrix.listCashboxes();
  for (const store of stores) {
    const number = cashboxNumberOfStore(store.id);
    const values = { AUTH: { TOKEN: storeCashboxToken(opts.masterSecret, store.id) } };
    const found = known.find((c) => c.numberKkm === number);
    if (found) {
      // The token may have been rotated (BITRIX_CASHBOX_SECRET): the list does not show it, so it is always written.
      await bitrix.updateCashbox(found.id, { settings: values });
      cashboxes[store.id] = 'updated';
    } else {
      const email = store.bitrixCashbox?.email ?? store.company?.email;
      if (!email) throw new Error(`stores.${store.id}: a Bitrix cashbox needs an e-mail for print errors (bitrixCashbox.email)`);
      await bitrix.addCashbox({ name: `POS bridge: ${store.name}`, handlerCode: CASHBOX_HANDLER_CODE, email, numberKkm: number, settings: values });
      cashboxes[store.id] = 'created';
    }
  }
  opts.logger?.info({ handler, cashboxes }, 'Bitrix REST cashboxes in step with POS_CONFIG');
  return { handler, cashboxes };
}


/** The sale (or refund) a check stands for, as far as the door can tell. */
export type CheckSaleMatch =
  | { status: 'found'; saleWorkflowId: string; orderId?: string; refundReceiptId?: string }
  | { status: 'unknown'; reason: string }
  | { status: 'ambiguous'; reason: string };

const LOOKBACK_MS = 7 * 86_400_000;
/** A paid order's stages; a check for one of them is most likely the payment Bitrix just saw paid. */
const PAID_STAGES = new Set(['FISCALIZING', 'CONFIRMING', 'DEDUCTING_STOCK', 'COMPLETED', 'NEEDS_ATTENTION']);

/**
 * Which of our sales a check is for. Bitrix's print request names no order or payment (docs/external-apis.md
 * §1a), so the check is matched by what it does carry: the cashbox's store (its token), the direction (sell or
 * return) and the total — among the store's sales of the last 7 days that no other check took. A paid order
 * wins over one still awaiting payment (a payment marked paid in Bitrix before the terminal's receipt came);
 * two equal candidates are never guessed between.
 */
export async function findSaleForCheck(
  client: Client,
  input: { storeId: string; kind: CheckKind; total: Kopecks; now?: Date; /** The check's `date_create`: when Bitrix made it. */ createdAt?: Date },
): Promise<CheckSaleMatch> {
  const since = new Date((input.now ?? new Date()).getTime() - LOOKBACK_MS).toISOString();
  const type = input.kind === 'sale' ? 'posPaymentWorkflow' : 'refundWorkflow';
  const query = `WorkflowType = "${type}" AND PosStore = ${quote(input.storeId)} AND PosTotal = ${Math.trunc(input.total)} AND StartTime > "${since}"`;
  // The sales of that store and total that already have a check (one list, not a count per candidate).
  const claimed = new Set<string>();
  const checks = `WorkflowType = "bitrixCashboxCheckWorkflow" AND PosStore = ${quote(input.storeId)} AND PosTotal = ${Math.trunc(input.total)} AND StartTime > "${since}"`;
  for await (const wf of client.workflow.list({ query: checks })) {
    const key = input.kind === 'sale' ? wf.typedSearchAttributes.get(PosOrderId) : wf.typedSearchAttributes.get(PosReceiptId);
    if (key) claimed.add(key);
  }
  let candidates = 0;
  const unclaimed: { workflowId: string; stage?: string; orderId?: string; receiptId?: string }[] = [];
  for await (const wf of client.workflow.list({ query })) {
    const attrs = wf.typedSearchAttributes;
    const stage = attrs.get(PosStage);
    if (stage === 'CANCELLED') continue;
    candidates++;
    const c = { workflowId: wf.workflowId, stage: stage as string | undefined, orderId: attrs.get(PosOrderId), receiptId: attrs.get(PosReceiptId) };
    if (claimed.has((input.kind === 'sale' ? c.orderId : c.receiptId) ?? '')) continue;
    unclaimed.push(c);
    if (unclaimed.length >= 20) break;
  }
  const what = `${input.kind === 'sale' ? 'sale' : 'refund'} of ${(input.total / 100).toFixed(2)} RUB at store ${input.storeId}`;
  if (unclaimed.length === 0) {
    return { status: 'unknown', reason: candidates ? `every ${what} in the last 7 days already has its check` : `no ${what} is known to the bridge (last 7 days)` };
  }
  const paid = input.kind === 'sale' ? unclaimed.filter((c) => PAID_STAGES.has(c.stage ?? '')) : unclaimed;
  const pool = paid.length ? paid : unclaimed;
  let one = pool.length === 1 ? pool[0] : undefined;
  if (!one && input.kind === 'sale' && input.createdAt && paid.length > 1) one = await confirmedWhenMade(client, paid, input.createdAt);
  if (!one) return { status: 'ambiguous', reason: `${pool.length} ${what.replace(/^(sale|refund)/, '$1s')} could be this check; none is guessed` };
  return { status: 'found', saleWorkflowId: one.workflowId, orderId: input.kind === 'sale' ? one.orderId : undefined, refundReceiptId: input.kind === 'refund' ? one.receiptId : undefined };
}

/**
 * Slack around a CONFIRMING step when matching a check's `date_create` to it: `date_create` has whole seconds,
 * and Bitrix's clock and ours may differ a little (both NTP-synchronised).
 */
const CONFIRM_SLACK_MS = 2_000;

/**
 * Bitrix makes a sale check the moment the payment turns paid — for our sales, inside the payment workflow's
 * CONFIRMING step (its call that marks the payment paid). Among paid sales of the same total, the one whose
 * CONFIRMING step was under way when the check was made (`date_create`) is the check's — when exactly one was;
 * otherwise nothing is guessed.
 */
async function confirmedWhenMade<C extends { workflowId: string }>(client: Client, candidates: C[], createdAt: Date): Promise<C | undefined> {
  const near: C[] = [];
  const made = createdAt.getTime();
  for (const c of candidates) {
    let status: PosPaymentStatus;
    try {
      status = await client.workflow.getHandle(c.workflowId).query(statusQuery);
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) continue;
      throw e;
    }
    const timeline = status.timeline ?? [];
    // Every CONFIRMING step (a retry after NEEDS_ATTENTION confirms again); one still under way ends now.
    const during = timeline.some(
      (t, i) =>
        t.stage === 'CONFIRMING' &&
        made >= Date.parse(t.at) - CONFIRM_SLACK_MS &&
        made <= (timeline[i + 1] ? Date.parse(timeline[i + 1]!.at) : Date.now()) + CONFIRM_SLACK_MS,
    );
    if (during) near.push(c);
  }
  return near.length === 1 ? near[0] : undefined;
}

export type PrintRequestOutcome =
  | { status: 'accepted' | 'duplicate'; workflowId: string }
  | { status: 'refused'; httpStatus: 409 | 422; reason: string };

/**
 * A print request from Bitrix: the check's workflow, started once per check uuid (a repeated request is a
 * duplicate and changes nothing). It is answered only once that workflow is durable; never printed anywhere.
 */
export async function acceptPrintRequest(
  client: Client,
  request: { uuid: string; storeId: string; kind: CheckKind; checkType: string; total: Kopecks; createdAt?: Date },
): Promise<PrintRequestOutcome> {
  const { createdAt, ...check } = request;
  const workflowId = bitrixCashboxCheckWorkflowId(check.uuid);
  try {
    await client.workflow.getHandle(workflowId).describe();
    return { status: 'duplicate', workflowId };
  } catch (e) {
    if (!(e instanceof WorkflowNotFoundError)) throw e;
  }
  const match = await findSaleForCheck(client, { ...check, createdAt });
  if (match.status === 'unknown') return { status: 'refused', httpStatus: 422, reason: match.reason };
  if (match.status === 'ambiguous') return { status: 'refused', httpStatus: 409, reason: match.reason };
  const input: CashboxCheckInput = { ...check, saleWorkflowId: match.saleWorkflowId, orderId: match.orderId, refundReceiptId: match.refundReceiptId };
  try {
    await client.workflow.start<typeof bitrixCashboxCheckWorkflow>('bitrixCashboxCheckWorkflow', {
      workflowId,
      taskQueue: TASK_QUEUES.workflows,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // Visible as this sale's check from its start (the next print request must not see the sale unclaimed).
      typedSearchAttributes: [
        { key: PosStore, value: check.storeId },
        { key: PosTotal, value: check.total },
        ...(match.orderId ? [{ key: PosOrderId, value: match.orderId }] : []),
        ...(match.refundReceiptId ? [{ key: PosReceiptId, value: match.refundReceiptId }] : []),
      ],
      staticSummary: `Bitrix check ${check.checkType} of ${match.saleWorkflowId}`,
    });
    return { status: 'accepted', workflowId };
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return { status: 'duplicate', workflowId };
    throw e;
  }
}

/** What CHECK_URL answers about a check: its status as the check's workflow knows it. */
export async function checkStatus(client: Client, uuid: string): Promise<CashboxCheckStatus | undefined> {
  try {
    return await client.workflow.getHandle(bitrixCashboxCheckWorkflowId(uuid)).query(cashboxCheckStatusQuery);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

export type SaleFiscalRead = { status: 'ready'; fiscal: FiscalAttributes } | { status: 'waiting'; stage?: string } | { status: 'gone'; reason: string };

/** Activities on the workflows queue: they read Temporal (the sale's own workflow), nothing outside. */
export function createCashboxLookupActivities({ client }: { client: Client }) {
  return {
    /** The fiscal data of the sale (or refund) a check stands for, from its workflow's status. */
    async readSaleFiscalData(input: { saleWorkflowId: string; kind: CheckKind }): Promise<SaleFiscalRead> {
      try {
        const handle = client.workflow.getHandle(input.saleWorkflowId);
        // Described first: a workflow closed by then has its final state in the query that follows.
        const described = await handle.describe();
        const status = input.kind === 'sale' ? await handle.query(statusQuery) : await handle.query(refundStatusQuery);
        if (status.fiscal) return { status: 'ready', fiscal: status.fiscal };
        if (described.status.name !== 'RUNNING') return { status: 'gone', reason: `${input.saleWorkflowId} ended (${status.stage}) without fiscal data` };
        return { status: 'waiting', stage: status.stage };
      } catch (e) {
        if (e instanceof WorkflowNotFoundError) return { status: 'gone', reason: `${input.saleWorkflowId} no longer exists` };
        throw e;
      }
    },
  };
}
