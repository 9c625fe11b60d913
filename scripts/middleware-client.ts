import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

// Reference client of the middleware API v1 (docs/middleware-api.md). Small on purpose, to be ported to a
// Windows service or a 1C:Retail extension in an afternoon.
//
//   export MIDDLEWARE_URL=http://127.0.0.1:8080 MIDDLEWARE_KEY_ID=store-1 MIDDLEWARE_SECRET=...
//   npx tsx scripts/middleware-client.ts receipts receipts.json      (a JSON array of receipts)
//   npx tsx scripts/middleware-client.ts orders <storeId>            (the orders waiting at the store)
//   npx tsx scripts/middleware-client.ts confirm confirmation.json   (a 1C:Retail fiscal confirmation)

const { MIDDLEWARE_URL: url, MIDDLEWARE_KEY_ID: keyId, MIDDLEWARE_SECRET: secret } = process.env;

/** Signs and sends one request. POST signs the body bytes; GET signs the request target (path + query). */
async function send(method: 'GET' | 'POST', target: string, payload?: unknown): Promise<{ status: number; answer: Record<string, unknown> }> {
  // 1. Serialize once: the signature covers these exact bytes.
  const body = payload === undefined ? undefined : JSON.stringify(payload);
  // 2. Unix seconds, UTC; the server accepts ±300 s. A new timestamp (and signature) for every request.
  const timestamp = Math.floor(Date.now() / 1000);
  // 3. HMAC-SHA256 over "<timestamp>.<body>" (GET: "<timestamp>.<target>"), hex.
  const signature = createHmac('sha256', secret!).update(`${timestamp}.${method === 'GET' ? target : body}`).digest('hex');
  const res = await fetch(`${url!.replace(/\/$/, '')}${target}`, {
    method,
    headers: {
      ...(body ? { 'Content-Type': 'application/json' } : {}),
      'X-Pos-Key-Id': keyId!,
      'X-Pos-Timestamp': String(timestamp),
      'X-Pos-Signature': `v1=${signature}`,
      'Idempotency-Key': randomUUID(),
    },
    body,
  });
  return { status: res.status, answer: (await res.json()) as Record<string, unknown> };
}

async function main(): Promise<void> {
  const [command, arg] = process.argv.slice(2);
  if (!url || !keyId || !secret || !arg || !['receipts', 'orders', 'confirm'].includes(command)) {
    throw new Error('usage: MIDDLEWARE_URL=… MIDDLEWARE_KEY_ID=… MIDDLEWARE_SECRET=… tsx scripts/middleware-client.ts receipts <file.json> | orders <storeId> | confirm <file.json>');
  }
  if (command === 'receipts') {
    const receipts = JSON.parse(readFileSync(arg, 'utf8')) as unknown[];
    const { status, answer } = await send('POST', '/middleware/v1/receipts/batch', { receipts });
    if (status !== 200) throw new Error(`${status}: ${String(answer.error)}`);
    // 4. accepted / duplicate: done, stop resending. rejected: fix and send again. 5xx or no answer: resend all.
    for (const r of answer.results as { receiptId: string; status: string; reason?: string }[])
      process.stdout.write(`${r.receiptId}\t${r.status}${r.reason ? `\t${r.reason}` : ''}\n`);
  } else if (command === 'orders') {
    const { status, answer } = await send('GET', `/middleware/v1/orders?storeId=${encodeURIComponent(arg)}`);
    if (status !== 200) throw new Error(`${status}: ${String(answer.error)}`);
    for (const o of answer.orders as { orderId: string; accountNumber?: string; total: number; payBy?: string }[])
      process.stdout.write(`${o.orderId}\t№${o.accountNumber ?? '-'}\t${(o.total / 100).toFixed(2)}\tpay by ${o.payBy ?? '-'}\n`);
  } else {
    const { status, answer } = await send('POST', '/middleware/v1/fiscal-confirmations', JSON.parse(readFileSync(arg, 'utf8')));
    // 202 accepted / 200 duplicate: done. 4xx: fix (the error names the field). 5xx or no answer: send again.
    if (status >= 300) throw new Error(`${status}: ${String(answer.error)}`);
    process.stdout.write(`${String(answer.status)}\t${String(answer.workflowId)}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
