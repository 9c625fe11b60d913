import express, { Router } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { Logger } from '../../lib/logger';
import { secretsEqual } from '../auth';
import { fieldErrors, requireContentType, sendError } from '../errors';
import { bitrixOrderEventIntake } from '../../intake/receipts';
import { bitrixIdProblem } from '../../domain/ids';

/**
 * Bitrix events arrive form-encoded with bracket keys; all values are strings (docs/external-apis.md §1).
 * Validated under the sender's own key names, so an error names `data[FIELDS][ID]` as Bitrix spells it.
 */
const BitrixEventSchema = z.object({
  event: z.string({ error: 'required' }).min(1, 'required').max(64, 'at most 64 characters'),
  'data[FIELDS][ID]': z.string({ error: 'required' }).superRefine((id, ctx) => {
    const problem = bitrixIdProblem(id);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  ts: z.string().regex(/^\d{1,12}$/, 'unix seconds').optional(),
});

function flatten(body: Record<string, unknown>): Record<string, unknown> {
  const data = body.data as { FIELDS?: { ID?: unknown } } | undefined;
  return { event: body.event, 'data[FIELDS][ID]': data?.FIELDS?.ID, ts: body.ts };
}

const ORDER_EVENTS = new Set(['ONSALEORDERSAVED', 'ONSALEORDERPAID', 'ONSALEORDERCANCELED']);

const DEFAULT_MAX_EVENT_AGE_MS = 7 * 86_400_000;

export function bitrixWebhookRouter(deps: { client: Client; applicationToken?: string; maxEventAgeMs?: number; logger: Logger }): Router {
  const maxAgeMs = deps.maxEventAgeMs ?? DEFAULT_MAX_EVENT_AGE_MS;
  const router = Router();
  router.post('/webhooks/bitrix', express.urlencoded({ extended: true, limit: '64kb' }), async (req, res) => {
    if (!requireContentType(req, res, 'urlencoded')) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const auth = body.auth as Record<string, unknown> | undefined;
    const token = typeof auth?.application_token === 'string' ? auth.application_token : undefined;
    if (!deps.applicationToken) {
      deps.logger.error('rejected Bitrix event: BITRIX_APP_TOKEN is not configured');
      return sendError(res, 503, 'Bitrix events are not accepted: BITRIX_APP_TOKEN is not configured');
    }
    if (!token || !secretsEqual(token, deps.applicationToken)) {
      deps.logger.warn({ reason: token ? 'token mismatch' : 'token missing', event: body.event }, 'rejected Bitrix event');
      return sendError(res, 401, 'auth[application_token]: missing or wrong');
    }
    const parsed = BitrixEventSchema.safeParse(flatten(body));
    if (!parsed.success) {
      const message = fieldErrors(parsed.error);
      deps.logger.warn({ reason: message }, 'rejected Bitrix event');
      return sendError(res, 400, message);
    }
    const ageMs = parsed.data.ts ? Date.now() - Number(parsed.data.ts) * 1000 : 0;
    if (ageMs > maxAgeMs) {
      const reason = `ts: the event is ${Math.round(ageMs / 1000)} s old, older than the accepted ${Math.round(maxAgeMs / 1000)} s (BITRIX_EVENT_MAX_AGE)`;
      deps.logger.warn({ reason }, 'rejected Bitrix event');
      return sendError(res, 400, reason);
    }
    const event = parsed.data.event.toUpperCase().slice(0, 64);
    const orderId = parsed.data['data[FIELDS][ID]'];
    if (!ORDER_EVENTS.has(event)) {
      deps.logger.info({ event, orderId }, 'Bitrix event ignored: not an order event');
      return res.status(200).json({ status: 'ignored', reason: `event ${event} is not handled` });
    }
    const workflowId = await bitrixOrderEventIntake(deps.client, orderId, { event, ts: parsed.data.ts });
    deps.logger.info({ event, orderId, workflowId }, 'Bitrix event accepted');
    res.status(200).json({ status: 'accepted', workflowId });
  });
  return router;
}
