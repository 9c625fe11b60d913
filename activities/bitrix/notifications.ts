import { z } from 'zod';
import type { PosConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { noticeMarker, noticeTag, noticeText, type NoticeLinks, type ProblemNotice } from '../../domain/notifications';
import { classifyErrors } from '../shared/activity-errors';
import { parseResult, type BitrixClient } from './client';

export interface NotificationActivityDeps {
  client: BitrixClient;
  config: PosConfig;
  /** The portal's origin (from BITRIX_REST_URL), for the default order link. */
  portalUrl?: string;
  /** The Temporal Web UI support opens (TEMPORAL_WEB_UI_URL), for the workflow link; unset: no link. */
  webUiUrl?: string;
  namespace: string;
  logger?: Logger;
}

export type NoticeOutcome =
  | { outcome: 'disabled' }
  | { outcome: 'no-recipient' }
  | { outcome: 'sent'; userId: string; notificationId: string; /** The deals linked to the order get the notice too. */ dealTimeline: boolean };

const id = z.union([z.string(), z.number()]).transform(String);
/** sale.order.get: only the responsible manager is read here (null when the order has none). */
const responsibleSchema = z.object({ order: z.object({ responsibleId: id.nullish() }) });
const commentListSchema = z.array(z.object({ COMMENT: z.string().nullish() }));

/** Who is told about a problem, by the store's settings (or the `bitrix` default): off, a fixed user, or the order's responsible. */
function settingsFor(config: PosConfig, storeId: string | undefined) {
  const store = storeId ? config.stores.find((s) => s.id === storeId) : undefined;
  const defaults = config.bitrix.notifications;
  return {
    enabled: store?.notifications?.enabled ?? defaults?.enabled ?? false,
    storeUserId: store?.notifications?.userId,
    defaultUserId: defaults?.userId,
    dealTimeline: defaults?.dealTimeline ?? false,
    orderUrl: defaults?.orderUrl,
  };
}

export function createNotificationActivities({ client, config, portalUrl, webUiUrl, namespace, logger }: NotificationActivityDeps) {
  const links = (notice: ProblemNotice, orderUrl: string | undefined): NoticeLinks => ({
    order: notice.orderId
      ? (orderUrl ?? (portalUrl ? `${portalUrl.replace(/\/$/, '')}/shop/orders/details/{orderId}/` : undefined))?.replace('{orderId}', encodeURIComponent(notice.orderId))
      : undefined,
    workflow: webUiUrl
      ? `${webUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(notice.workflowId)}/${encodeURIComponent(notice.runId)}/history`
      : undefined,
  });

  async function responsibleOf(orderId: string): Promise<string | undefined> {
    const { result } = await client.call('sale.order.get', { id: orderId });
    return parseResult(responsibleSchema, result, 'sale.order.get').order.responsibleId ?? undefined;
  }

  /** One comment per notice in each deal's timeline: Bitrix keeps no key for comments, so the deal's comments are read first. */
  async function commentOnDeals(notice: ProblemNotice, text: string): Promise<string[]> {
    if (!notice.orderId) return [];
    const entities = await client.listAll<{ ownerId: string | number; ownerTypeId: string | number }>(
      'crm.orderentity.list',
      { filter: { orderId: notice.orderId } },
      (r) => (r as { orderEntity?: { ownerId: string | number; ownerTypeId: string | number }[] }).orderEntity ?? [],
    );
    const dealIds = entities.filter((e) => String(e.ownerTypeId) === '2').map((e) => String(e.ownerId));
    const marker = noticeMarker(notice);
    const commented: string[] = [];
    for (const dealId of dealIds) {
      const comments = await client.listAll('crm.timeline.comment.list', { filter: { ENTITY_ID: dealId, ENTITY_TYPE: 'deal' }, select: ['ID', 'COMMENT'] }, (r) =>
        parseResult(commentListSchema, r, 'crm.timeline.comment.list'),
      );
      if (comments.some((c) => c.COMMENT?.includes(marker))) continue;
      await client.call('crm.timeline.comment.add', { fields: { ENTITY_ID: dealId, ENTITY_TYPE: 'deal', COMMENT: `${text}\n${marker}` } });
      commented.push(dealId);
    }
    return commented;
  }

  return classifyErrors({
    /**
     * Tells the manager in Bitrix that a workflow stopped for a person, or that its problem is closed. The
     * notification carries the problem's TAG, so a retry after a lost answer replaces it (Bitrix deletes the
     * older one with that TAG) instead of adding a second, and the `resolved` notice replaces the `problem` one.
     */
    async notifyProblem(notice: ProblemNotice): Promise<NoticeOutcome> {
      const settings = settingsFor(config, notice.storeId);
      if (!settings.enabled) return { outcome: 'disabled' };
      const userId = settings.storeUserId ?? (notice.orderId ? await responsibleOf(notice.orderId) : undefined) ?? settings.defaultUserId;
      if (!userId) {
        logger?.warn({ workflowId: notice.workflowId, storeId: notice.storeId }, 'problem not notified: no Bitrix user to notify (set notifications.userId)');
        return { outcome: 'no-recipient' };
      }
      const text = noticeText(notice, links(notice, settings.orderUrl));
      const { result } = await client.call('im.notify.system.add', { USER_ID: userId, MESSAGE: text, TAG: noticeTag(notice.key), SUB_TAG: notice.event });
      logger?.info({ workflowId: notice.workflowId, event: notice.event, userId, notificationId: String(result) }, 'problem notified in Bitrix');
      return { outcome: 'sent', userId, notificationId: String(result), dealTimeline: settings.dealTimeline && notice.orderId !== undefined };
    },

    /**
     * The same notice as a comment in the timeline of each CRM deal linked to the order (its own activity, so
     * that its retries never send the notification again). Comments have no key in Bitrix: each deal's
     * comments are read first and a comment carrying the notice's marker is not written again.
     */
    async commentProblemOnDeals(notice: ProblemNotice): Promise<{ dealIds: string[] }> {
      const settings = settingsFor(config, notice.storeId);
      const dealIds = await commentOnDeals(notice, noticeText(notice, links(notice, settings.orderUrl)));
      if (dealIds.length) logger?.info({ workflowId: notice.workflowId, event: notice.event, dealIds }, 'problem noted in the deals\' timelines');
      return { dealIds };
    },
  });
}

export type NotificationActivities = ReturnType<typeof createNotificationActivities>;
