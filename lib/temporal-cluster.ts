import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import { CLUSTER_SPEC } from './cluster-spec';
import { prepareNamespace } from './namespace-admin';
import { PollAborted, pollUntil } from './poll';

// A real Temporal cluster on this machine (npm run cluster): the Temporal server and its SQL tool built from
// the Go module, the Web UI server built from its Go module, PostgreSQL from Debian with its own data directory.

const ROOT = resolve(__dirname, '..');
const TOOLS = join(ROOT, '.tools', 'temporal-cluster');
export const CLUSTER_DATA_DIR = resolve(process.env.CLUSTER_DATA_DIR ?? join(ROOT, '.data', 'cluster'));
const RUN = join(CLUSTER_DATA_DIR, 'run');
const LOCAL = CLUSTER_SPEC.local;
const DB_USER = 'temporal';
const HOST = '127.0.0.1';

export interface ClusterInfo {
  temporalAddress: string;
  uiUrl: string;
  postgres: string;
  postgresData: string;
  namespace: string;
  serverVersion: string;
  numHistoryShards: number;
  retentionDays: number;
  dataDir: string;
}

export function clusterInfo(): ClusterInfo {
  return {
    temporalAddress: `${HOST}:${LOCAL.frontendPort}`,
    uiUrl: `http://${HOST}:${LOCAL.uiPort}`,
    postgres: `${HOST}:${LOCAL.postgresPort}`,
    postgresData: pgData(),
    namespace: CLUSTER_SPEC.namespace,
    serverVersion: CLUSTER_SPEC.serverVersion,
    numHistoryShards: CLUSTER_SPEC.numHistoryShards,
    retentionDays: CLUSTER_SPEC.retentionDays,
    dataDir: CLUSTER_DATA_DIR,
  };
}

type Log = (line: string) => void;

interface Binaries {
  server: string;
  sqlTool: string;
  ui: string;
}

const GO_BUILDS = [
  { dir: `server-v${CLUSTER_SPEC.serverVersion}`, packages: ['go.temporal.io/server/cmd/server', 'go.temporal.io/server/cmd/tools/sql'], version: CLUSTER_SPEC.serverVersion },
  { dir: `ui-v${CLUSTER_SPEC.uiVersion}`, packages: ['github.com/temporalio/ui-server/v2/cmd/server'], version: CLUSTER_SPEC.uiVersion },
];

export function clusterBinaries(): Binaries {
  return {
    server: join(TOOLS, GO_BUILDS[0].dir, 'server'),
    sqlTool: join(TOOLS, GO_BUILDS[0].dir, 'sql'),
    ui: join(TOOLS, GO_BUILDS[1].dir, 'server'),
  };
}

/** Builds the pinned Temporal server, SQL tool and Web UI server with `go install`, once (cached under .tools/). */
export function ensureClusterBinaries(log: Log): Binaries {
  const bins = clusterBinaries();
  for (const build of GO_BUILDS) {
    const gobin = join(TOOLS, build.dir);
    const wanted = build.packages.map((p) => join(gobin, p.split('/').pop()!));
    if (wanted.every((f) => existsSync(f))) continue;
    const which = spawnSync('go', ['version'], { encoding: 'utf8' });
    if (which.status !== 0) throw new Error('Go is needed to build the Temporal cluster (https://go.dev/doc/install); `go version` failed');
    log(`building ${build.packages.join(' ')} @v${build.version} with ${which.stdout.trim()} (first run only; many minutes on 2 cores)`);
    const t0 = Date.now();
    const result = spawnSync('go', ['install', ...build.packages.map((p) => `${p}@v${build.version}`)], {
      stdio: 'inherit',
      env: {
        ...process.env,
        GOBIN: gobin,
        // The module may need a newer Go than the installed one: Go then fetches that toolchain from the module proxy.
        GOTOOLCHAIN: 'auto',
        GOFLAGS: '-trimpath -buildvcs=false',
      },
    });
    if (result.status !== 0) throw new Error(`go install of ${build.packages.join(' ')}@v${build.version} failed (exit ${result.status})`);
    log(`  built in ${Math.round((Date.now() - t0) / 1000)} s → ${gobin}`);
  }
  return bins;
}

function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0], 'bin') : undefined;
}

const isRoot = () => process.getuid?.() === 0;

/** PostgreSQL from the Debian package, installed with apt-get when missing. */
export function ensurePostgresInstalled(log: Log): string {
  let bin = postgresBinDir();
  if (bin) return bin;
  log('installing PostgreSQL (Debian package postgresql)');
  const sudo = isRoot() ? [] : ['sudo'];
  for (const args of [['apt-get', 'update'], ['apt-get', 'install', '-y', 'postgresql']]) {
    const [cmd, ...rest] = [...sudo, 'env', 'DEBIAN_FRONTEND=noninteractive', ...args];
    const r = spawnSync(cmd, rest, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed (exit ${r.status})`);
  }
  bin = postgresBinDir();
  if (!bin) throw new Error('apt-get installed postgresql, but no /usr/lib/postgresql/*/bin/pg_ctl was found');
  return bin;
}

/** Runs a PostgreSQL command as the postgres user (initdb refuses root). */
function asPostgres(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const [c, a] = isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return spawnSync(c, a, { encoding: 'utf8', ...opts });
}

interface Secrets {
  dbPassword: string;
}

function secrets(): Secrets {
  const file = join(CLUSTER_DATA_DIR, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Secrets;
  const s: Secrets = { dbPassword: randomBytes(18).toString('base64url') };
  writeFileSync(file, JSON.stringify(s), { mode: 0o600 });
  return s;
}

let pgDataDir: string | undefined;

/**
 * .data/cluster/pg; when the postgres user cannot reach the project folder (a clone under /root), a folder in its
 * home named after the project path instead (the choice is kept in .data/cluster/pg-location).
 */
function pgData(): string {
  if (pgDataDir) return pgDataDir;
  const pointer = join(CLUSTER_DATA_DIR, 'pg-location');
  if (existsSync(pointer)) return (pgDataDir = readFileSync(pointer, 'utf8').trim());
  mkdirSync(CLUSTER_DATA_DIR, { recursive: true });
  if (!isRoot() || asPostgres('test', ['-x', CLUSTER_DATA_DIR]).status === 0) return (pgDataDir = join(CLUSTER_DATA_DIR, 'pg'));
  pgDataDir = join('/var/lib/postgresql', `bitrix-pos-bridge-${createHash('sha256').update(CLUSTER_DATA_DIR).digest('hex').slice(0, 12)}`);
  writeFileSync(pointer, pgDataDir);
  return pgDataDir;
}

function postgresRunning(bin: string): boolean {
  return existsSync(join(pgData(), 'PG_VERSION')) && asPostgres(join(bin, 'pg_ctl'), ['-D', pgData(), 'status']).status === 0;
}

function startPostgres(bin: string, log: Log): boolean {
  if (!existsSync(join(pgData(), 'PG_VERSION'))) {
    log(`initdb ${pgData()}`);
    mkdirSync(pgData(), { recursive: true });
    // Where the postgres user can read it, whatever the project folder's permissions.
    const pwdir = mkdtempSync(join(tmpdir(), 'pos-cluster-'));
    const pwfile = join(pwdir, 'initdb-pw');
    writeFileSync(pwfile, secrets().dbPassword, { mode: 0o600 });
    if (isRoot()) {
      const { uid, gid } = postgresIds();
      chownSync(pgData(), uid, gid);
      chownSync(pwdir, uid, gid);
      chownSync(pwfile, uid, gid);
    }
    chmodSync(pgData(), 0o700);
    const r = asPostgres(join(bin, 'initdb'), ['-D', pgData(), '-U', DB_USER, `--pwfile=${pwfile}`, '--auth-local=scram-sha-256', '--auth-host=scram-sha-256', '--no-locale', '-E', 'UTF8']);
    rmSync(pwdir, { recursive: true, force: true });
    if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr || r.stdout}`);
  }
  if (postgresRunning(bin)) return false;
  const r = asPostgres(
    join(bin, 'pg_ctl'),
    ['-D', pgData(), '-l', join(pgData(), 'server.log'), '-w', '-t', '60', '-o', `-p ${LOCAL.postgresPort} -c listen_addresses=${HOST} -c unix_socket_directories=${pgData()} -c max_connections=300`, 'start'],
    // Its own session: a Ctrl-C meant for the script must not reach the postmaster directly.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true } as SpawnSyncOptions,
  );
  if (r.status !== 0) throw new Error(`PostgreSQL did not start: ${r.stderr || r.stdout} (log: ${join(pgData(), 'server.log')})`);
  return true;
}

function stopPostgres(bin: string): boolean {
  if (!postgresRunning(bin)) return false;
  const r = asPostgres(join(bin, 'pg_ctl'), ['-D', pgData(), '-m', 'fast', '-w', '-t', '60', 'stop']);
  if (r.status !== 0) throw new Error(`PostgreSQL did not stop: ${r.stderr || r.stdout}`);
  return true;
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user: is the Debian package postgresql installed?');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** temporal and temporal_visibility, created and migrated to the server's schema by its own SQL tool (idempotent). */
function setupSchema(bins: Binaries, log: Log): void {
  const env = {
    ...process.env,
    SQL_PLUGIN: CLUSTER_SPEC.sqlPlugin,
    SQL_HOST: HOST,
    SQL_PORT: String(LOCAL.postgresPort),
    SQL_USER: DB_USER,
    // Through the environment: never on a command line that ps shows.
    SQL_PASSWORD: secrets().dbPassword,
  };
  const schemas = [
    { db: CLUSTER_SPEC.databases.main, name: 'postgresql/v12/temporal' },
    { db: CLUSTER_SPEC.databases.visibility, name: 'postgresql/v12/visibility' },
  ];
  for (const { db, name } of schemas) {
    const sql = (...args: string[]) => spawnSync(bins.sqlTool, ['--quiet', '--db', db, ...args], { env, encoding: 'utf8' });
    const created = sql('create-database');
    if (created.status !== 0 && !/already exists/.test(created.stderr + created.stdout)) throw new Error(`create-database ${db}: ${created.stderr || created.stdout}`);
    for (const step of [['setup-schema', '-v', '0.0'], ['update-schema', '--schema-name', name]]) {
      const r = sql(...step);
      if (r.status !== 0) throw new Error(`${step[0]} ${db}: ${r.stderr || r.stdout}`);
    }
    log(`schema ${db}: up to date (${name})`);
  }
}

/** The server's config file (YAML) for this machine, from deploy/temporal.json. */
export function renderServerConfig(dbPassword: string): string {
  const sqlStore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: CLUSTER_SPEC.sqlPlugin,
      databaseName,
      connectAddr: `${HOST}:${LOCAL.postgresPort}`,
      connectProtocol: 'tcp',
      user: DB_USER,
      password: dbPassword,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipOffset: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort: LOCAL.membershipPortBase + membershipOffset, bindOnIP: HOST, ...extra },
  });
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: CLUSTER_SPEC.numHistoryShards,
      datastores: { default: sqlStore(CLUSTER_SPEC.databases.main, 20), visibility: sqlStore(CLUSTER_SPEC.databases.visibility, 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: HOST } },
    services: {
      frontend: rpc(LOCAL.frontendPort, 0, { httpPort: LOCAL.frontendHttpPort }),
      history: rpc(LOCAL.historyPort, 1),
      matching: rpc(LOCAL.matchingPort, 2),
      worker: rpc(LOCAL.workerPort, 6),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${HOST}:${LOCAL.frontendPort}`, httpAddress: `${HOST}:${LOCAL.frontendHttpPort}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: join(ROOT, 'deploy', 'temporal-dynamicconfig.yaml'), pollInterval: '10s' },
  };
  return `# Generated by npm run cluster from deploy/temporal.json; rewritten on every start.\n${stringify(config)}`;
}

function uiConfig(): string {
  return stringify({
    temporalGrpcAddress: `${HOST}:${LOCAL.frontendPort}`,
    host: HOST,
    port: LOCAL.uiPort,
    enableUi: true,
    defaultNamespace: CLUSTER_SPEC.namespace,
    cors: { allowOrigins: [`http://${HOST}:${LOCAL.uiPort}`, `http://localhost:${LOCAL.uiPort}`] },
    disableNewsFetch: true,
    notifyOnNewVersion: false,
  });
}

/** A process this script started, found by its pid file and checked by its command line (a reused pid is not ours). */
function runningPid(name: string, binary: string): number | undefined {
  const file = join(RUN, `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8'));
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // Gone: the pid file is stale.
    rmSync(file, { force: true });
    return undefined;
  }
  // Another program under that pid (a stale file), or ours a moment before its exec completed: not ours now,
  // but the file stays (start writes it anew).
  return cmdline.split('\0')[0] === binary ? pid : undefined;
}

function startDaemon(name: string, binary: string, args: string[]): number {
  const out = openSync(join(RUN, `${name}.log`), 'a');
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', out, out], cwd: RUN });
  closeSync(out);
  child.unref();
  writeFileSync(join(RUN, `${name}.pid`), String(child.pid));
  return child.pid!;
}

async function stopDaemon(name: string, binary: string, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<boolean> {
  const pid = runningPid(name, binary);
  if (pid === undefined) return false;
  process.kill(pid, signal);
  const deadline = Date.now() + timeoutMs;
  while (runningPid(name, binary) === pid && !isZombie(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      await sleep(500);
      break;
    }
    await sleep(200);
  }
  rmSync(join(RUN, `${name}.pid`), { force: true });
  return true;
}

function isZombie(pid: number): boolean {
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls every 500 ms until `probe` has an answer (lib/poll.ts). */
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => pollUntil(probe, what, timeoutMs, 500);

/** Starts the Temporal server process (the config is rewritten first) and waits until its frontend answers. */
export async function startTemporalServer(log: Log): Promise<boolean> {
  const bins = clusterBinaries();
  if (runningPid('temporal', bins.server) !== undefined) return false;
  const configFile = join(RUN, 'temporal.yaml');
  writeFileSync(configFile, renderServerConfig(secrets().dbPassword), { mode: 0o600 });
  const pid = startDaemon('temporal', bins.server, ['--config-file', configFile, '--allow-no-auth', 'start']);
  await waitForFrontend(log, pid);
  return true;
}

/**
 * Waits until the frontend answers, or the process we started is gone. (Not `runningPid`: its command-line check,
 * meant for stale pid files, once judged a server that had just started gone and removed its pid file.)
 */
async function waitForFrontend(log: Log, pid: number): Promise<void> {
  const { temporalAddress } = clusterInfo();
  await until('the Temporal frontend', async () => {
    if (isZombie(pid)) throw new PollAborted(`the server exited; see ${join(RUN, 'temporal.log')}`);
    const connection = await Connection.connect({ address: temporalAddress, connectTimeout: 2_000 });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  }, 120_000);
  log(`Temporal server up at ${temporalAddress}`);
}

/** Stops (SIGTERM, or the given signal) and starts the Temporal server process again; the chaos run uses it. */
export async function restartTemporalServer(log: Log, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await stopDaemon('temporal', clusterBinaries().server, signal);
  await startTemporalServer(log);
}

/** The namespace with its retention and the project's search attributes, ready for workflows (idempotent). */
async function setupNamespace(log: Log): Promise<void> {
  const { temporalAddress, namespace } = clusterInfo();
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const ready = await prepareNamespace(connection, namespace, CLUSTER_SPEC.retentionSeconds);
    const added = ready.searchAttributesAdded;
    log(`namespace ${namespace}: ${ready.namespace}, retention ${CLUSTER_SPEC.retentionDays} d; search attributes ${added.length ? `added ${added.join(', ')}` : 'all present'}`);
  } finally {
    await connection.close();
  }
}

export interface StartResult {
  info: ClusterInfo;
  /** What this call started (empty: everything was already running). */
  started: string[];
}

/** Builds/installs what is missing, then starts PostgreSQL, the Temporal server and the Web UI (idempotent). */
export async function startCluster(log: Log): Promise<StartResult> {
  const bins = ensureClusterBinaries(log);
  const pgBin = ensurePostgresInstalled(log);
  mkdirSync(RUN, { recursive: true });
  const started: string[] = [];
  if (startPostgres(pgBin, log)) started.push('postgresql');
  setupSchema(bins, log);
  if (await startTemporalServer(log)) started.push('temporal');
  await setupNamespace(log);
  if (runningPid('ui', bins.ui) === undefined) {
    const dir = join(RUN, 'ui', 'config');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'base.yaml'), '');
    writeFileSync(join(dir, 'cluster.yaml'), uiConfig());
    startDaemon('ui', bins.ui, ['--root', join(RUN, 'ui'), '--config', 'config', '--env', 'cluster', 'start']);
    started.push('ui');
    await until('the Web UI', async () => ((await fetch(clusterInfo().uiUrl)).ok ? true : undefined), 60_000);
  }
  return { info: clusterInfo(), started };
}

/** Stops the Web UI, the Temporal server and PostgreSQL, whichever run; returns what was stopped. */
export async function stopCluster(): Promise<string[]> {
  const bins = clusterBinaries();
  const stopped: string[] = [];
  if (await stopDaemon('ui', bins.ui)) stopped.push('ui');
  if (await stopDaemon('temporal', bins.server)) stopped.push('temporal');
  const pgBin = postgresBinDir();
  if (pgBin && stopPostgres(pgBin)) stopped.push('postgresql');
  return stopped;
}

export function clusterStatus(): Record<'postgresql' | 'temporal' | 'ui', boolean> {
  const bins = clusterBinaries();
  const pgBin = postgresBinDir();
  return {
    postgresql: pgBin ? postgresRunning(pgBin) : false,
    temporal: runningPid('temporal', bins.server) !== undefined,
    ui: runningPid('ui', bins.ui) !== undefined,
  };
}
