import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { condition, log, patched, proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { NotificationActivities } from '../activities/bitrix/notifications';
import type { ProblemNotice } from '../domain/notifications';
import type { Problem } from '../domain/payment';
import { PosStage, PosStageSince } from '../domain/search-attributes';
import { TASK_QUEUES } from '../domain/workflow-ids';
import { OUTSIDE_SYSTEM_RETRY } from './support-actions';

/** Workflows that stop for a person tell the manager in Bitrix (patched: older runs never did). */
export const NOTIFY_PROBLEMS = 'notify-problems';

// The steps never wait for a notice; a workflow's end waits for one at most half an hour, then it is given up (logged).
const notifier = proxyActivities<NotificationActivities>({
  taskQueue: TASK_QUEUES.bitrix,
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '30m',
  retry: OUTSIDE_SYSTEM_RETRY,
});

/** What a staged workflow's Bitrix notice says it is about; `problem` when its problem is not `state.problem`. */
export interface NoticeSubject {
  subject: string;
  orderId?: string;
  storeId?: string;
  problem?: { step: string; message: string; action: string };
}

/** What every workflow that can stop for a person shows: its stage, since when, what it waits for, its problem. */
export interface Staged<Stage extends string> {
  stage: Stage;
  stageSince: string;
  waitingFor?: string;
  deadline?: string;
  problem?: Problem;
  resolution?: string;
  /** Stages passed, with the time each was entered (kept by the workflows that show one). */
  timeline?: { stage: Stage; at: string }[];
}

/** Ends a workflow early with an outcome chosen by a person or by Bitrix. */
export class Finish<Outcome extends string = string> extends Error {
  constructor(
    readonly outcome: Outcome,
    message: string,
  ) {
    super(message);
  }
}

export const nowIso = (): string => new Date(Date.now()).toISOString();

/** The Web UI's "Current details" of a staged workflow: its own lines, then what it waits for, the problem, how it ended. */
export interface Details {
  head: string[];
  /** Lines after "Waiting for" (e.g. the fiscal receipt). */
  tail?: string[];
}

/**
 * The stage scaffolding every workflow that can stop for a person shares: entering a stage (its search
 * attributes in one upsert — each is a history event and an index write — and the Web UI's current details
 * redrawn), and stopping in NEEDS_ATTENTION until a person decides.
 */
export function stages<Stage extends string, S extends Staged<Stage>>(state: S, details: () => Details, notice?: () => NoticeSubject) {
  /** Asked at the first problem, so that a workflow that never stops for a person carries no marker for it. */
  let notifying: boolean | undefined;
  /** The open problem's notice (between entering NEEDS_ATTENTION and leaving it) and how many there were. */
  let open: ProblemNotice | undefined;
  let problems = 0;
  const sending: Promise<void>[] = [];

  function send(n: ProblemNotice): void {
    sending.push(
      (async () => {
        try {
          const sent = await notifier.notifyProblem(n);
          if (sent.outcome === 'sent' && sent.dealTimeline) await notifier.commentProblemOnDeals(n);
        } catch (err) {
          log.warn('problem notice not sent', { workflowId: n.workflowId, key: n.key, event: n.event, error: (err as Error).message });
        }
      })(),
    );
  }

  /** Opens a problem's notice on entering NEEDS_ATTENTION and closes it on leaving; each is sent once. */
  function noticeOnEnter(stage: Stage): void {
    if (!notice) return;
    if (stage === 'NEEDS_ATTENTION' && !open) {
      notifying ??= patched(NOTIFY_PROBLEMS);
      if (!notifying) return;
      const about = notice();
      const problem = about.problem ?? state.problem ?? { step: 'needs attention', message: state.waitingFor ?? 'stopped for a person', action: 'see the workflow' };
      const { workflowId, runId } = workflowInfo();
      open = {
        key: `${workflowId}#${++problems}`,
        event: 'problem',
        workflowId,
        runId,
        subject: about.subject,
        orderId: about.orderId,
        storeId: about.storeId,
        step: problem.step,
        message: problem.message,
        action: problem.action,
      };
      send(open);
    } else if (stage !== 'NEEDS_ATTENTION' && open) {
      const resolution = state.resolution ?? `the workflow went on (now ${stage})`;
      send({ ...open, ...pick(notice()), event: 'resolved', resolution });
      open = undefined;
    }
  }

  /** Waits until every notice started is through (sent or given up): call before the workflow returns. */
  async function noticesSent(): Promise<void> {
    while (sending.length) await sending.shift();
  }

  function describe(): void {
    const { head, tail = [] } = details();
    const lines = [...head];
    if (state.waitingFor) lines.push(`Waiting for: ${state.waitingFor}${state.deadline ? ` (deadline ${state.deadline})` : ''}`);
    lines.push(...tail);
    if (state.problem) lines.push(`Problem in "${state.problem.step}": ${state.problem.message}`, `What to do: ${state.problem.action}`);
    if (state.resolution) lines.push(`Closed: ${state.resolution}`);
    setCurrentDetails(lines.join('\n\n'));
  }

  function enter(stage: Stage, waitingFor?: string, deadline?: string, extra: SearchAttributeUpdatePair[] = []): void {
    state.stage = stage;
    state.stageSince = nowIso();
    state.waitingFor = waitingFor;
    state.deadline = deadline;
    state.timeline?.push({ stage, at: state.stageSince });
    upsertSearchAttributes([{ key: PosStage, value: stage }, { key: PosStageSince, value: new Date(Date.now()) }, ...extra]);
    describe();
    noticeOnEnter(stage);
  }

  /**
   * Stops in NEEDS_ATTENTION with the problem until `decided()` holds a person's request (or `also()` says
   * the wait is over by itself); returns the request for the workflow to act on. A retry (`resume`) goes back
   * to the stage it stopped in.
   */
  async function stopForPerson<R extends { kind: string }>(
    problem: { step: string; message: string; action: string },
    opts: { waitingFor: string; log: Record<string, unknown>; decided: () => R | undefined; also?: () => boolean; resume?: boolean },
  ): Promise<R | undefined> {
    const resume = { stage: state.stage, waitingFor: state.waitingFor, deadline: state.deadline };
    state.problem = { ...problem, at: nowIso() };
    log.warn('needs attention', { ...opts.log, step: problem.step, message: problem.message });
    enter('NEEDS_ATTENTION' as Stage, opts.waitingFor);
    await condition(() => opts.decided() !== undefined || (opts.also?.() ?? false));
    const decision = opts.decided();
    if (decision?.kind === 'retry' || decision === undefined) {
      state.problem = undefined;
      if (opts.resume !== false && decision !== undefined) enter(resume.stage, resume.waitingFor, resume.deadline);
    }
    return decision;
  }

  return { describe, enter, stopForPerson, noticesSent };
}

/** What may have become known about the subject while the problem was open (the store, the order). */
function pick(about: NoticeSubject): Partial<ProblemNotice> {
  return { subject: about.subject, ...(about.orderId ? { orderId: about.orderId } : {}), ...(about.storeId ? { storeId: about.storeId } : {}) };
}
