import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ALL_SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import type { Logger } from './logger';

const INDEXED_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/**
 * Registers the project's search attributes on a Temporal server that lacks them (idempotent). In
 * production the admin tools container does this; a cluster may also refuse it for lack of permission.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string, logger?: Logger): Promise<string[]> {
  let known: Record<string, unknown> = {};
  try {
    known = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (e) {
    // The time-skipping test server can add search attributes but not list them.
    if ((e as { code?: number }).code !== 12 /* UNIMPLEMENTED */) throw e;
  }
  const missing = ALL_SEARCH_ATTRIBUTES.filter((a) => !(a.name in known));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((a) => [a.name, INDEXED_TYPE[a.type]])),
  });
  logger?.info({ added: missing.map((a) => a.name), namespace }, 'search attributes registered');
  return missing.map((a) => a.name);
}
