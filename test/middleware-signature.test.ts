import { NO_MATCHING_KEY, parseSigningKeys, ReplayGuard, sign, verifySignature } from '../api/signature';

describe('middleware request signatures (HMAC-SHA256 over timestamp and raw body)', () => {
  const keys = parseSigningKeys('store-1:old-secret-0123456789,store-1:new-secret-0123456789,store-2:other-secret-012345');
  const body = Buffer.from('{"receipts":[]}');
  const now = Date.parse('2026-11-29T12:00:00Z');
  const ts = String(now / 1000);
  const headers = (secret: string, overrides: Record<string, string> = {}) => ({
    keyId: 'store-1',
    timestamp: ts,
    signature: `v1=${sign(secret, ts, body)}`,
    ...overrides,
  });

  it('accepts both secrets of a key during rotation, and names the key', () => {
    expect(verifySignature(headers('old-secret-0123456789'), body, keys, { now }).id).toBe('store-1');
    expect(verifySignature(headers('new-secret-0123456789'), body, keys, { now }).secret).toBe('new-secret-0123456789');
  });

  it('refuses a signature made with another key, a changed body, or a foreign key id', () => {
    expect(() => verifySignature(headers('other-secret-012345'), body, keys, { now })).toThrow(NO_MATCHING_KEY);
    expect(() => verifySignature(headers('old-secret-0123456789'), Buffer.from('{"receipts":[1]}'), keys, { now })).toThrow(NO_MATCHING_KEY);
    expect(() => verifySignature(headers('old-secret-0123456789', { keyId: 'store-9' }), body, keys, { now })).toThrow(NO_MATCHING_KEY);
  });

  it('refuses stale and future timestamps outside the window', () => {
    const old = String(now / 1000 - 301);
    expect(() => verifySignature({ keyId: 'store-1', timestamp: old, signature: `v1=${sign('old-secret-0123456789', old, body)}` }, body, keys, { now })).toThrow(/outside the 300 s window \(301 s off\)/);
    const future = String(now / 1000 + 400);
    expect(() => verifySignature({ keyId: 'store-1', timestamp: future, signature: `v1=${sign('old-secret-0123456789', future, body)}` }, body, keys, { now })).toThrow(/outside the 300 s window/);
  });

  it('names a missing or malformed header', () => {
    expect(() => verifySignature({ ...headers('x'), signature: undefined }, body, keys, { now })).toThrow('x-pos-signature: missing');
    expect(() => verifySignature({ ...headers('x'), signature: 'sha256=abc' }, body, keys, { now })).toThrow(/expected "v1=<64 hex digits>"/);
    expect(() => verifySignature({ ...headers('x'), timestamp: '2026-11-29' }, body, keys, { now })).toThrow('x-pos-timestamp: not unix seconds');
  });

  it('refuses the same signed request twice inside the window, and forgets it after', () => {
    const guard = new ReplayGuard(300);
    expect(guard.replayed('store-1', 'v1=abc', now)).toBe(false);
    expect(guard.replayed('store-1', 'v1=abc', now + 1000)).toBe(true);
    expect(guard.replayed('store-2', 'v1=abc', now + 1000)).toBe(false);
    expect(guard.replayed('store-1', 'v1=abc', now + 601_000)).toBe(false);
  });

  it('rejects badly formed key lists with the variable name', () => {
    expect(() => parseSigningKeys('nocolon')).toThrow(/MIDDLEWARE_KEYS: entry 1/);
    expect(() => parseSigningKeys('k:short')).toThrow(/at least 16 characters/);
  });
});
