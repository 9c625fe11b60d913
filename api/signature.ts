import { createHmac, timingSafeEqual } from 'node:crypto';

/** Thrown by verifySignature; `reason` is safe to log and to answer with (no secret in it). */
export class SignatureError extends Error {
  override readonly name = 'SignatureError';
}

export interface SigningKey {
  id: string;
  secret: string;
}

export const SIGNATURE_HEADERS = {
  keyId: 'x-pos-key-id',
  timestamp: 'x-pos-timestamp',
  signature: 'x-pos-signature',
} as const;

/** The signature of a middleware request: hex HMAC-SHA256 over `<timestamp>.<raw body>`. */
export function sign(secret: string, timestamp: number | string, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** One answer for an unknown key id and a wrong signature, so that a caller cannot find out which key ids exist. */
export const NO_MATCHING_KEY = `${SIGNATURE_HEADERS.signature}: does not match (unknown ${SIGNATURE_HEADERS.keyId}, or a wrong signature)`;

/**
 * What can be checked before the body is read: all three headers there and well-formed, the timestamp
 * inside the replay window, the key id known. A door calls it first, so a stranger never makes us read
 * a 10 MB body. Returns the key's valid secrets.
 */
export function checkSignatureHeaders(
  headers: { keyId?: string; timestamp?: string; signature?: string },
  keys: readonly SigningKey[],
  opts: { toleranceSeconds?: number; now?: number } = {},
): SigningKey[] {
  const tolerance = opts.toleranceSeconds ?? 300;
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  if (!headers.keyId) throw new SignatureError(`${SIGNATURE_HEADERS.keyId}: missing`);
  if (!headers.timestamp) throw new SignatureError(`${SIGNATURE_HEADERS.timestamp}: missing`);
  if (!headers.signature) throw new SignatureError(`${SIGNATURE_HEADERS.signature}: missing`);
  if (!/^\d{9,11}$/.test(headers.timestamp)) throw new SignatureError(`${SIGNATURE_HEADERS.timestamp}: not unix seconds`);
  const age = now - Number(headers.timestamp);
  if (Math.abs(age) > tolerance) throw new SignatureError(`${SIGNATURE_HEADERS.timestamp}: outside the ${tolerance} s window (${age} s off)`);
  if (!/^v1=[0-9a-f]{64}$/.test(headers.signature)) throw new SignatureError(`${SIGNATURE_HEADERS.signature}: expected "v1=<64 hex digits>"`);
  const candidates = keys.filter((k) => k.id === headers.keyId);
  if (candidates.length === 0) throw new SignatureError(NO_MATCHING_KEY);
  return candidates;
}

/**
 * The one check every signed door uses: the headers (checkSignatureHeaders), then the signature matching one
 * of the key's valid secrets (several during a rotation), compared in constant time.
 */
export function verifySignature(
  headers: { keyId?: string; timestamp?: string; signature?: string },
  rawBody: Buffer,
  keys: readonly SigningKey[],
  opts: { toleranceSeconds?: number; now?: number } = {},
): SigningKey {
  const candidates = checkSignatureHeaders(headers, keys, opts);
  const given = Buffer.from(headers.signature!.slice(3), 'hex');
  let match: SigningKey | undefined;
  for (const key of candidates) {
    const expected = Buffer.from(sign(key.secret, headers.timestamp!, rawBody), 'hex');
    if (timingSafeEqual(expected, given)) match ??= key;
  }
  if (!match) throw new SignatureError(NO_MATCHING_KEY);
  return match;
}

/** `MIDDLEWARE_KEYS`: `keyId:secret` pairs separated by commas; the same id twice = rotation. */
export function parseSigningKeys(text: string | undefined): SigningKey[] {
  if (!text) return [];
  return text.split(',').map((pair, i) => {
    const at = pair.indexOf(':');
    const id = pair.slice(0, at).trim();
    const secret = pair.slice(at + 1).trim();
    if (at <= 0 || !id || secret.length < 16) throw new RangeError(`MIDDLEWARE_KEYS: entry ${i + 1} must be "keyId:secret" with a secret of at least 16 characters`);
    return { id, secret };
  });
}

/**
 * Remembers the signatures seen inside the replay window, so the very same signed request is refused when
 * it comes again (one API process's memory; a replay to another instance still only produces duplicates).
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowSeconds = 300) {}

  /** True when this signature was already used; records it otherwise. */
  replayed(keyId: string, signature: string, now = Date.now()): boolean {
    const expiry = now + 2 * this.windowSeconds * 1000;
    for (const [k, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(k);
    }
    const key = `${keyId}:${signature}`;
    if (this.seen.has(key)) return true;
    this.seen.set(key, expiry);
    return false;
  }
}
