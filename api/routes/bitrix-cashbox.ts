import express, { Router, type Request } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { Logger } from '../../lib/logger';
import type { PosConfig } from '../../lib/config';
import { checkUrlKey, storeCashboxToken } from '../../lib/bitrix-cashbox-secret';
import { CHECK_TYPES, checkApplyFields, storeOfCashboxNumber } from '../../domain/bitrix-cashbox';
import { LIMITS, checkUuidProblem } from '../../domain/ids';
import { rublesToKopecks } from '../../domain/money';
import { CHECK_PATH, PRINT_PATH, acceptPrintRequest, checkStatus } from '../../cross-system/bitrix-cashbox';
import { secretsEqual } from '../auth';
import { fieldErrors, sendError } from '../errors';

/**
 * Bitrix's REST cashbox print request (docs/external-apis.md §1a). Bitrix posts it form-encoded with bracket keys
 * (its HttpClient posts the array); JSON is taken too, as the documentation shows the same fields as JSON.
 * Only the fields we read are checked; items, payments, the buyer's contacts pass unread (and are never logged).
 */
const CheckUuid = z.string({ error: 'required' }).superRefine((v, ctx) => {
  const problem = checkUuidProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const PrintRequestSchema = z.object({
  uuid: CheckUuid,
  type: z.string({ error: 'required' }).max(32, 'at most 32 characters'),
  total_sum: z.union([z.string(), z.number()], { error: 'required' }).transform((v, ctx) => {
    try {
      const k = rublesToKopecks(v, 'total_sum');
      if (k <= 0 || k > LIMITS.maxAmountKopecks) throw new Error();
      return k;
    } catch {
      ctx.addIssue({ code: 'custom', message: `a positive ruble amount with at most two decimals, at most ${LIMITS.maxAmountKopecks / 100} RUB` });
      return z.NEVER;
    }
  }),
});

const bodyParsers = [express.urlencoded({ extended: true, limit: '256kb' }), express.json({ limit: '256kb' })];

function requireFormOrJson(req: Request): boolean {
  return Boolean(req.is('urlencoded') || req.is('json'));
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

export function bitrixCashboxRouter(deps: { client: Client; config: PosConfig; masterSecret?: string; logger: Logger }): Router {
  const router = Router();
  const refuse = (reason: string, status: number, res: express.Response, extra: Record<string, unknown> = {}) => {
    deps.logger.warn({ reason, status }, 'rejected Bitrix cashbox request');
    // ERRORS is what Bitrix reads from a print answer (CashboxRest::printImmediately): the manager sees the reason.
    sendError(res, status, reason, { ERRORS: [reason], ...extra });
  };

  router.post(PRINT_PATH, ...bodyParsers, async (req, res) => {
    if (!requireFormOrJson(req)) return refuse('Content-Type: application/x-www-form-urlencoded or application/json required', 415, res);
    if (!deps.masterSecret) return refuse('Bitrix cashboxes are not enabled here (BITRIX_CASHBOX_SECRET is not configured)', 404, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const params = body.cashbox_params as { AUTH?: { TOKEN?: unknown } } | undefined;
    const token = str(params?.AUTH?.TOKEN);
    const numberKkm = str(body.number_kkm) ?? '';
    const storeId = storeOfCashboxNumber(numberKkm);
    // The token is derived per store: one store's cashbox cannot speak for another's (compared in constant time).
    const expected = storeCashboxToken(deps.masterSecret, storeId ?? `unknown:${numberKkm.slice(0, 80)}`);
    if (!token || !secretsEqual(token, expected) || !storeId) {
      return refuse('cashbox_params[AUTH][TOKEN]: missing or wrong for this cashbox (number_kkm)', 401, res);
    }
    const store = deps.config.stores.find((s) => s.id === storeId);
    if (!store?.bitrixCashbox?.enabled) return refuse(`number_kkm: store ${storeId} has no Bitrix cashbox in POS_CONFIG (bitrixCashbox.enabled)`, 403, res);
    const parsed = PrintRequestSchema.safeParse(body);
    if (!parsed.success) return refuse(fieldErrors(parsed.error), 400, res);
    const { uuid, type, total_sum: total } = parsed.data;
    // When Bitrix made the check (unix seconds): only a tie-break between equal sales, so a missing or odd value is ignored.
    const made = Number(str(body.date_create));
    const createdAt = Number.isInteger(made) && made > 0 ? new Date(made * 1000) : undefined;
    const kind = CHECK_TYPES[type];
    if (!kind) return refuse(`type: "${type.slice(0, 32)}" is not a check this cashbox answers (sell, sellreturn, sellreturncash)`, 422, res);
    const outcome = await acceptPrintRequest(deps.client, { uuid, storeId, kind, checkType: type, total, createdAt });
    if (outcome.status === 'refused') return refuse(`uuid ${uuid}: ${outcome.reason}`, outcome.httpStatus, res);
    deps.logger.info({ uuid, storeId, type, status: outcome.status, workflowId: outcome.workflowId }, 'Bitrix check accepted');
    // Bitrix keeps this UUID as the check's external uuid; check.apply and CHECK_URL name the check by it.
    res.status(200).json({ UUID: uuid, status: outcome.status });
  });

  router.post(CHECK_PATH, ...bodyParsers, async (req, res) => {
    if (!requireFormOrJson(req)) return refuse('Content-Type: application/x-www-form-urlencoded or application/json required', 415, res);
    if (!deps.masterSecret) return refuse('Bitrix cashboxes are not enabled here (BITRIX_CASHBOX_SECRET is not configured)', 404, res);
    const key = typeof req.query.key === 'string' ? req.query.key : undefined;
    if (!key || !secretsEqual(key, checkUrlKey(deps.masterSecret))) return refuse('key: missing or wrong', 401, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const parsed = z.object({ uuid: CheckUuid }).safeParse({ uuid: str(body.uuid) ?? str(body.UUID) });
    if (!parsed.success) return refuse(fieldErrors(parsed.error), 400, res);
    const { uuid } = parsed.data;
    const status = await checkStatus(deps.client, uuid);
    if (!status) return res.status(200).json({ STATUS: 'ERROR', ERROR: `check ${uuid} is unknown to the bridge` });
    if (status.stage === 'NEEDS_ATTENTION') return res.status(200).json({ STATUS: 'ERROR', ERROR: status.problem?.message ?? 'stopped for a person' });
    if (!status.fiscal) return res.status(200).json({ STATUS: 'WAIT' });
    res.status(200).json({ STATUS: 'DONE', ...checkApplyFields(uuid, status.fiscal) });
  });
  return router;
}
