import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import type { PosPaymentStatus } from '../domain/payment';
import { kopecksToRubles } from '../domain/money';
import { SANDBOX_PRODUCTS } from '../app/stack';
import { SANDBOX_INFO_FILE, type SandboxInfo } from '../lib/sandbox-info';

// Plays one order through a running sandbox (`npm start`) and prints what each system shows after each step.

interface SimOrderView {
  id: number;
  accountNumber: string;
  statusId: string;
  payed: boolean;
  deducted: boolean;
  payments: { id: number; paid: boolean; psInvoiceId: string | null; datePaid: string | null; psStatusMessage: string | null; sum: number }[];
}
interface SimState {
  orders: SimOrderView[];
  stock: { storeId: number; productId: number; amount: number }[];
}

async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await request(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 400) throw new Error(`${method} ${url.replace(/\?.*/, '')} → ${res.statusCode} ${text}`);
  return JSON.parse(text) as T;
}

const say = (text = '') => process.stdout.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dataDir = resolve(process.env.DATA_DIR ?? '.data');
  let info: SandboxInfo;
  try {
    info = JSON.parse(readFileSync(join(dataDir, SANDBOX_INFO_FILE), 'utf8')) as SandboxInfo;
  } catch {
    throw new Error(`no running sandbox found (${join(dataDir, SANDBOX_INFO_FILE)}): start it first with "npm start"`);
  }
  if (!info.bitrixAdminUrl || !info.evotorUrl) throw new Error('the demo needs the Bitrix and Evotor simulators (leave BITRIX_REST_URL and EVOTOR_API_URL unset)');
  const admin = { authorization: `Bearer ${info.adminApiKey}` };
  const [storeId, devices] = Object.entries(info.deviceIds)[0];
  const deviceId = devices[0];
  const bitrixState = () => call<SimState>('GET', `${info.bitrixAdminUrl}/state`);
  const workflow = async (orderId: number) => {
    const res = await request(`${info.apiUrl}/api/orders/${orderId}`, { headers: admin });
    const body = (await res.body.json()) as { status?: PosPaymentStatus };
    return res.statusCode === 200 ? body.status : undefined;
  };
  const waitForStage = async (orderId: number, stages: string[]) => {
    for (let i = 0; i < 300; i++) {
      const s = await workflow(orderId);
      if (s && stages.includes(s.stage)) return s;
      await sleep(200);
    }
    throw new Error(`order ${orderId} did not reach ${stages.join('/')} within a minute`);
  };

  const [grinder, beans] = SANDBOX_PRODUCTS;
  const before = await bitrixState();
  const stockOf = (s: SimState, productId: number) => s.stock.find((r) => r.storeId === 1 && r.productId === productId)?.amount;

  say('1. A customer orders online in Bitrix and chooses "pay at the pickup point".');
  const { order } = await call<{ order: { id: number; accountNumber: string; price: number } }>('POST', `${info.bitrixAdminUrl}/orders`, {
    basket: [
      { productId: grinder.productId, name: grinder.name, price: grinder.price, quantity: 1, vatRate: grinder.vatRate, reservations: [{ storeId: 1, quantity: 1 }] },
      { productId: beans.productId, name: beans.name, price: beans.price, quantity: 2, vatRate: beans.vatRate, reservations: [{ storeId: 1, quantity: 2 }] },
    ],
    payments: [{ paySystemId: 10 }],
    propertyValues: [{ code: 'EMAIL', value: 'buyer@example.ru' }],
  });
  say(`   Bitrix: order №${order.accountNumber} (id ${order.id}), ${order.price} RUB, status N, reserved at warehouse 1.`);

  say('\n2. Bitrix sends ONSALEORDERSAVED to our API; a durable workflow takes the order.');
  const awaiting = await waitForStage(order.id, ['AWAITING_PAYMENT', 'NEEDS_ATTENTION']);
  const afterStart = (await bitrixState()).orders.find((o) => o.id === order.id)!;
  say(`   Temporal: workflow pos-payment:${order.id} is ${awaiting.stage} (${awaiting.waitingFor ?? ''}); deadline ${awaiting.deadline ?? '-'}.`);
  say(`   Bitrix:   order status is now "${afterStart.statusId}" (awaiting in-store payment).`);
  const evotor = await call<{ pushes: { id: string; status: string; payload: { orderId?: string } }[] }>('GET', `${info.evotorUrl}/_admin/state`);
  const push = evotor.pushes.find((p) => p.payload.orderId === String(order.id));
  say(`   Evotor:   push ${push?.id ?? '(none)'} to terminal ${deviceId} of ${storeId}: ${push?.status ?? 'not sent'}.`);

  say('\n3. The cashier opens the pushed order on the terminal and the customer pays by card.');
  const receipt = await call<{ id: string; totalAmount: string }>('POST', `${info.evotorUrl}/_admin/devices/${deviceId}/pay-push`, {
    pushId: push?.id,
    paymentSource: 'PAY_CARD',
  });
  say(`   Evotor:   SELL receipt ${receipt.id}, ${receipt.totalAmount} RUB, fiscalized by the terminal's fiscal drive;`);
  say('             the cloud POSTs the receipt webhook to our API (at least once).');

  say('\n4. The workflow confirms the payment in Bitrix and writes the stock off.');
  const done = await waitForStage(order.id, ['COMPLETED', 'NEEDS_ATTENTION', 'CANCELLED']);
  say(`   Temporal: ${done.timeline.map((t) => t.stage).join(' → ')}`);
  if (done.fiscal) say(`   Fiscal:   ФН ${done.fiscal.fnNumber}, ФД ${done.fiscal.fiscalDocumentNumber}, ФП ${done.fiscal.fiscalSign}, ${done.fiscal.receiptDateTime}`);
  if (done.problem) say(`   Problem:  ${done.problem.message} — ${done.problem.action}`);
  const after = await bitrixState();
  const o = after.orders.find((x) => x.id === order.id)!;
  const p = o.payments[0];
  say(`   Bitrix:   order status "${o.statusId}", paid: ${o.payed ? 'yes' : 'no'}, deducted: ${o.deducted ? 'yes' : 'no'}`);
  say(`             payment ${p.id}: paid ${p.paid ? 'Y' : 'N'}, ${kopecksToRubles(p.sum)} RUB, psInvoiceId ${p.psInvoiceId}, datePaid ${p.datePaid}`);
  say(`             "${p.psStatusMessage ?? ''}"`);
  say(`             stock at warehouse 1: ${grinder.name} ${stockOf(before, grinder.productId)} → ${stockOf(after, grinder.productId)}, ${beans.name} ${stockOf(before, beans.productId)} → ${stockOf(after, beans.productId)}`);
  if (info.temporalUiUrl)
    say(`\nSee it in the Temporal Web UI: ${info.temporalUiUrl}/namespaces/${info.namespace}/workflows/pos-payment:${order.id}`);
  say(`Or ask the API:  curl -H "Authorization: Bearer <ADMIN_API_KEY from ${join(dataDir, SANDBOX_INFO_FILE)}>" ${info.apiUrl}/api/orders/${order.id}`);
  if (done.stage !== 'COMPLETED') process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  process.exit(1);
});
