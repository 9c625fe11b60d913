import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

// Reference client of the middleware API v1 (docs/middleware-api.md): reads receipts from a JSON file,
// signs and posts them, prints the answer per receipt. Small on purpose, to be ported to a Windows service.
//
//   MIDDLEWARE_URL=http://127.0.0.1:8080 MIDDLEWARE_KEY_ID=store-1 MIDDLEWARE_SECRET=... \
//     npx tsx scripts/middleware-client.ts receipts.json

async function main(): Promise<void> {
  const [file] = process.argv.slice(2);
  const { MIDDLEWARE_URL: url, MIDDLEWARE_KEY_ID: keyId, MIDDLEWARE_SECRET: secret } = process.env;
  if (!file || !url || !keyId || !secret) {
    throw new Error('usage: MIDDLEWARE_URL=… MIDDLEWARE_KEY_ID=… MIDDLEWARE_SECRET=… tsx scripts/middleware-client.ts receipts.json');
  }
  const receipts = JSON.parse(readFileSync(file, 'utf8')) as unknown[];
  // 1. Serialize once: the signature covers these exact bytes.
  const body = JSON.stringify({ receipts });
  // 2. Unix seconds, UTC; the server accepts ±300 s.
  const timestamp = Math.floor(Date.now() / 1000);
  // 3. HMAC-SHA256 over "<timestamp>.<body>", hex.
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  const res = await fetch(`${url.replace(/\/$/, '')}/middleware/v1/receipts/batch`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Pos-Key-Id': keyId,
      'X-Pos-Timestamp': String(timestamp),
      'X-Pos-Signature': `v1=${signature}`,
      'Idempotency-Key': randomUUID(),
    },
    body,
  });
  const answer = (await res.json()) as { results?: { receiptId: string; status: string; reason?: string }[]; error?: string };
  if (!res.ok) throw new Error(`${res.status}: ${answer.error}`);
  // 4. accepted / duplicate: done, stop resending. rejected: fix and send again. 5xx or no answer: resend all.
  for (const r of answer.results ?? []) process.stdout.write(`${r.receiptId}\t${r.status}${r.reason ? `\t${r.reason}` : ''}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
