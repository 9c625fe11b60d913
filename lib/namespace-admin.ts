import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import type { Logger } from './logger';

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
