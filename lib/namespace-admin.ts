import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ALL_SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import type { Logger } from './logger';
import { ensureSearchAttributes } from './search-attributes-admin';

/**
 * Registers the namespace with its retention, or updates the retention of an existing one (idempotent).
 * A cluster, unlike the dev server, starts without any namespace.
 */
export async function ensureNamespace(connection: Connection, namespace: string, retentionSeconds: number, logger?: Logger): Promise<'created' | 'updated' | 'unchanged'> {
  const retention = msToTs(retentionSeconds * 1000);
  try {
    const found = await connection.workflowService.describeNamespace({ namespace });
    if (Number(found.config?.workflowExecutionRetentionTtl?.seconds ?? 0) === retentionSeconds) return 'unchanged';
    await connection.workflowService.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: retention } });
    logger?.info({ namespace, retentionSeconds }, 'namespace retention updated');
    return 'updated';
  } catch (e) {
    if ((e as { code?: number }).code !== 5 /* NOT_FOUND */) throw e;
  }
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: retention });
  } catch (e) {
    // Another setup run registered it in between.
    if ((e as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw e;
  }
  logger?.info({ namespace, retentionSeconds }, 'namespace registered');
  return 'created';
}

/**
 * A namespace ready for the workflows: registered with its retention, the project's search attributes added,
 * and usable through the frontend (a new namespace reaches its registry within a refresh interval, ~10 s).
 * Retries while the server is still starting (history shards not yet owned answer Unavailable).
 */
export async function prepareNamespace(
  connection: Connection,
  namespace: string,
  retentionSeconds: number,
  opts: { timeoutMs?: number; logger?: Logger } = {},
): Promise<{ namespace: 'created' | 'updated' | 'unchanged'; searchAttributesAdded: string[] }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let outcome: 'created' | 'updated' | 'unchanged' | undefined;
  let added: string[] | undefined;
  for (;;) {
    try {
      outcome ??= await ensureNamespace(connection, namespace, retentionSeconds, opts.logger);
      added ??= await ensureSearchAttributes(connection, namespace, opts.logger);
      const known = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      if (ALL_SEARCH_ATTRIBUTES.every((a) => a.name in known)) return { namespace: outcome, searchAttributesAdded: added };
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} not ready: ${(e as Error).message}`);
    }
    if (Date.now() > deadline) throw new Error(`namespace ${namespace} not ready: search attributes missing`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
