import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../lib/logger';
import { sendError } from './errors';

/** Constant-time comparison of two secrets of any length (hashing first hides the length too). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export type BearerCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' };

/** Checks `Authorization: Bearer <token>` against the configured token(s). */
export function checkBearer(header: string | undefined, expected: readonly string[]): BearerCheck {
  if (!header) return { ok: false, reason: 'missing' };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return { ok: false, reason: 'malformed' };
  // Compare against every configured token so that timing does not tell which one matched.
  let ok = false;
  for (const token of expected) ok = secretsEqual(m[1], token) || ok;
  return ok ? { ok: true } : { ok: false, reason: 'mismatch' };
}

/** The admin API's guard: `Authorization: Bearer <ADMIN_API_KEY>`; 503 while no key is configured. */
export function requireAdminKey(adminApiKey: string | undefined, logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!adminApiKey) return sendError(res, 503, 'the admin API is disabled: ADMIN_API_KEY is not configured');
    const auth = checkBearer(req.header('authorization'), [adminApiKey]);
    if (!auth.ok) {
      logger.warn({ path: req.path, reason: `bearer token ${auth.reason}` }, 'rejected admin request');
      return sendError(res, 401, `Authorization: bearer token ${auth.reason}`);
    }
    next();
  };
}
