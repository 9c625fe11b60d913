/**
 * A workflow's problem as the manager is told about it in Bitrix: when the workflow stops in NEEDS_ATTENTION
 * (`problem`) and when it leaves it (`resolved`). Ids and the problem's own text only — no buyer data.
 */
export interface ProblemNotice {
  /** `<workflow id>#<n>`: the workflow's n-th problem; the same for its `problem` and `resolved` notice. */
  key: string;
  event: 'problem' | 'resolved';
  workflowId: string;
  runId: string;
  /** What stopped, e.g. "Order 1042 (Bitrix id 42)", "Refund <receipt>", "Walk-in sale <receipt> at msk-1". */
  subject: string;
  orderId?: string;
  storeId?: string;
  step: string;
  message: string;
  action: string;
  /** For `resolved`: how it ended (support's note, a retry, the refund that came after all). */
  resolution?: string;
}

export interface NoticeLinks {
  order?: string;
  workflow?: string;
}

/** The problem key Bitrix sees as the notification's TAG: one line, no spaces, at most 200 characters (its `#n` kept). */
export function noticeTag(key: string): string {
  const tag = `pos-bridge|${key}`.replace(/\s+/g, '_');
  return tag.length <= 200 ? tag : `${tag.slice(0, 100)}~${tag.slice(-99)}`;
}

/** The timeline marker of one notice: a comment that contains it was already written. */
export function noticeMarker(notice: Pick<ProblemNotice, 'key' | 'event'>): string {
  return `[pos-bridge ${notice.key} ${notice.event}]`;
}

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** The notification's text (BB-code, as Bitrix's messenger shows it): what happened, what to do, the links. */
export function noticeText(notice: ProblemNotice, links: NoticeLinks): string {
  const lines =
    notice.event === 'problem'
      ? [
          `[B]Needs attention: ${oneLine(notice.subject, 200)}[/B]`,
          `What happened (${oneLine(notice.step, 80)}): ${oneLine(notice.message, 1000)}`,
          `What to do: ${oneLine(notice.action, 1000)}`,
        ]
      : [`[B]Resolved: ${oneLine(notice.subject, 200)}[/B]`, `The problem in "${oneLine(notice.step, 80)}" is closed: ${oneLine(notice.resolution ?? 'the workflow went on', 1000)}`];
  const refs = [
    links.order ? `[URL=${links.order}]The order in Bitrix[/URL]` : undefined,
    links.workflow ? `[URL=${links.workflow}]The workflow in the Temporal Web UI[/URL]` : undefined,
  ].filter((l): l is string => l !== undefined);
  if (refs.length) lines.push(refs.join(' · '));
  return lines.join('\n');
}
