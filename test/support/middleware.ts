import { request } from 'undici';
import { sign } from '../../api/signature';
import type { MiddlewareReceipt, ReceiptResult } from '../../api/routes/middleware';

/** A reference middleware client: signs the raw body with the shared secret, as the contract says. */
export async function postSignedBatch(
  apiUrl: string,
  keys: string,
  receipts: unknown[],
  opts: { timestamp?: number; keyId?: string; secret?: string; idempotencyKey?: string; tamper?: boolean } = {},
): Promise<{ status: number; body: { results?: ReceiptResult[]; error?: string } }> {
  const [keyId, secret] = [keys.slice(0, keys.indexOf(':')), keys.slice(keys.indexOf(':') + 1).split(',')[0]];
  const body = JSON.stringify({ receipts });
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = sign(opts.secret ?? secret, timestamp, body);
  const res = await request(`${apiUrl}/middleware/v1/receipts/batch`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-pos-key-id': opts.keyId ?? keyId,
      'x-pos-timestamp': String(timestamp),
      'x-pos-signature': `v1=${signature}`,
      'idempotency-key': opts.idempotencyKey ?? `batch-${timestamp}`,
    },
    body: opts.tamper ? body.replace('"total":', '"total": ') : body,
  });
  return { status: res.statusCode, body: (await res.body.json()) as { results?: ReceiptResult[]; error?: string } };
}

let seq = 0;
/** A walk-in sale as middleware reports it. */
export function walkInReceipt(storeId: string, lines: { productId: string; quantity: number; price: number }[], overrides: Partial<MiddlewareReceipt> = {}): MiddlewareReceipt {
  seq++;
  return {
    receiptId: `mw-${Date.now().toString(36)}-${seq}`,
    storeId,
    deviceId: 'ingenico-1',
    type: 'SELL',
    dateTime: new Date().toISOString(),
    total: lines.reduce((s, l) => s + l.price * l.quantity, 0),
    currency: 'RUB',
    paymentType: 'card',
    lines: lines.map((l) => ({ ...l, name: `Product ${l.productId}` })),
    ...overrides,
  };
}

/**
 * Any signed middleware request: POST signs the body, GET signs the request target (path and query).
 * `keys` is a MIDDLEWARE_KEYS-style "keyId:secret" pair.
 */
export async function signedRequest(
  apiUrl: string,
  keys: string,
  method: 'GET' | 'POST',
  target: string,
  payload?: unknown,
  opts: { timestamp?: number } = {},
): Promise<{ status: number; body: Record<string, unknown> & { error?: string } }> {
  const [keyId, secret] = [keys.slice(0, keys.indexOf(':')), keys.slice(keys.indexOf(':') + 1).split(',')[0]];
  const body = payload === undefined ? undefined : JSON.stringify(payload);
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const res = await request(`${apiUrl}${target}`, {
    method,
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      'x-pos-key-id': keyId,
      'x-pos-timestamp': String(timestamp),
      'x-pos-signature': `v1=${sign(secret, timestamp, method === 'GET' ? target : (body ?? ''))}`,
      'idempotency-key': `req-${timestamp}-${Math.random()}`,
    },
    body,
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> & { error?: string } };
}
