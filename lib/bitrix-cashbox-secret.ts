import { createHmac } from 'node:crypto';

/**
 * Each store's cashbox token, derived from BITRIX_CASHBOX_SECRET: the bridge writes it into the cashbox's settings
 * (AUTH.TOKEN) when it registers it, Bitrix sends it back in every print request as cashbox_params[AUTH][TOKEN].
 * One secret to keep, and a store's token speaks only for that store.
 */
export function storeCashboxToken(masterSecret: string, storeId: string): string {
  return createHmac('sha256', masterSecret).update(`bitrix-cashbox:store:${storeId}`).digest('base64url');
}

/** The key in CHECK_URL's query: Bitrix's status request carries only the check uuid, nothing of the cashbox. */
export function checkUrlKey(masterSecret: string): string {
  return createHmac('sha256', masterSecret).update('bitrix-cashbox:check-url').digest('base64url');
}
