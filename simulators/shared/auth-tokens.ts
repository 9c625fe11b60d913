import { randomBytes } from 'node:crypto';

/**
 * Access tokens of a cloud register API: issued for a TTL to an account (its login), expirable on demand by
 * tests. A token speaks only for the account it was issued to.
 */
export function createAuthTokens(ttlMs: number) {
  const tokens = new Map<string, { expiresAt: number; account: string }>();
  let issued = 0;
  let issuedByAccount: Record<string, number> = {};
  return {
    issue(account = ''): { token: string; expiresAt: number } {
      const token = randomBytes(16).toString('hex');
      const expiresAt = Date.now() + ttlMs;
      tokens.set(token, { expiresAt, account });
      issued += 1;
      issuedByAccount[account] = (issuedByAccount[account] ?? 0) + 1;
      return { token, expiresAt };
    },
    /** The account a known token was issued to. */
    accountOf(token: string | undefined): string | undefined {
      return token ? tokens.get(token)?.account : undefined;
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
      issuedByAccount = {};
    },
    stats(): { issued: number; active: number; issuedByAccount: Record<string, number> } {
      const now = Date.now();
      return { issued, active: [...tokens.values()].filter((t) => t.expiresAt > now).length, issuedByAccount: { ...issuedByAccount } };
    },
  };
}
