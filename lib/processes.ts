import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';

const ROOT = resolve(__dirname, '..');

/**
 * A production entry point (workers/main.ts, api/main.ts) as its own process, run through tsx; its output goes
 * to `logFile` (appended) or to ours. The bench and the chaos run kill and restart these.
 */
export function startNodeProcess(script: string, env: Record<string, string>, logFile?: string): ChildProcess {
  const out = logFile ? openSync(logFile, 'a') : 'inherit';
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', script], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: env.LOG_LEVEL ?? 'warn', LOG_PRETTY: '' },
    stdio: ['ignore', out, out],
  });
  if (typeof out === 'number') closeSync(out);
  return child;
}

/** Resolves once the process has exited (at once when it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** Waits until every named task queue has a poller (workflow queues: type 1, activity queues: type 2). */
export async function waitForPollers(client: Client, namespace: string, queues: { name: string; activities?: boolean }[], timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const polled = await Promise.all(
      queues.map(async (q) => {
        const d = await client.workflowService
          .describeTaskQueue({ namespace, taskQueue: { name: q.name }, taskQueueType: q.activities ? 2 : 1 })
          .catch(() => undefined);
        return (d?.pollers ?? []).length > 0;
      }),
    );
    if (polled.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for pollers on ${queues.filter((_, i) => !polled[i]).map((q) => q.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
