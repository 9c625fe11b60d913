import { randomBytes } from 'node:crypto';

/** Access tokens of a cloud register API: issued for a TTL, expirable on demand by tests. */
export function createAuthTokens(ttlMs: number) {
  const tokens = new Map<string, { expiresAt: number }>();
  let issued = 0;
  return {
    issue(): { token: string; expiresAt: number } {
      const token = randomBytes(16).toString('hex');
      const expiresAt = Date.now() + ttlMs;
      tokens.set(token, { expiresAt });
      issued += 1;
      return { token, expiresAt };
    },
    /** What is wrong with the token a request carries, or undefined when it is valid. */
    problem(token: string | undefined): 'missing' | 'expired' | undefined {
      const known = token ? tokens.get(token) : undefined;
      if (!known) return 'missing';
      if (Date.now() >= known.expiresAt) return 'expired';
      return undefined;
    },
    expireAll(): void {
      for (const t of tokens.values()) t.expiresAt = 0;
    },
    clear(): void {
      tokens.clear();
      issued = 0;
    },
    stats(): { issued: number; active: number } {
      const now = Date.now();
      return { issued, active: [...tokens.values()].filter((t) => t.expiresAt > now).length };
    },
  };
}
