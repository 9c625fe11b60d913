import type { Response } from 'express';
import type { ZodError } from 'zod';

export function fieldErrors(error: ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}

export function sendError(res: Response, status: number, message: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({ error: message, ...extra });
}

/** Answers 415 unless the request says it carries `type`; returns whether it does. */
export function requireContentType(req: { is(type: string): string | false | null }, res: Response, type: 'json' | 'urlencoded'): boolean {
  if (req.is(type)) return true;
  sendError(res, 415, `Content-Type: ${type === 'json' ? 'application/json' : 'application/x-www-form-urlencoded'} required`);
  return false;
}
