import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

export interface RunningProcess {
  child: ChildProcess;
  /** Resolves when the process has exited: its code, the signal that killed it, and when. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Everything it wrote to stdout and stderr so far (JSON log lines). */
  output(): string;
  /** Resolves with the first log line (parsed) that `match` accepts. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

/** One of the project's production entry points (workers/main.ts, api/main.ts) as a real child process. */
export function startProcess(script: string, env: Record<string, string | undefined>): RunningProcess {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', script], {
    cwd: ROOT,
    env: { ...process.env, LOG_PRETTY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  const onData = (chunk: Buffer) => {
    const s = chunk.toString();
    text += s;
    if (process.env.TEST_CHILD_OUTPUT) process.stderr.write(s);
    for (const line of s.split('\n')) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (const w of [...waiters]) if (w.match(parsed)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal, at: Date.now() })),
  );
  return {
    child,
    exited,
    output: () => text,
    waitForLog: (match, timeoutMs = 60_000) =>
      new Promise((res, rej) => {
        for (const line of text.split('\n')) {
          try {
            const parsed = JSON.parse(line) as Record<string, unknown>;
            if (match(parsed)) return res(parsed);
          } catch {
            // not a log line
          }
        }
        const timer = setTimeout(() => rej(new Error(`no such log line within ${timeoutMs} ms; output:\n${text.slice(-3000)}`)), timeoutMs);
        waiters.push({ match, resolve: (l) => { clearTimeout(timer); res(l); } });
        void exited.then(() => {
          clearTimeout(timer);
          rej(new Error(`the process exited before the log line; output:\n${text.slice(-3000)}`));
        });
      }),
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
