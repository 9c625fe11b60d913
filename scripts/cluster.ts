import { CLUSTER_SPEC } from '../lib/cluster-spec';
import { clusterInfo, clusterStatus, ensureClusterBinaries, ensurePostgresInstalled, startCluster, stopCluster, type ClusterInfo } from '../lib/temporal-cluster';

// npm run cluster                 a Temporal cluster (server on PostgreSQL + Web UI) in the foreground; Ctrl-C stops it
// npm run cluster -- start        the same, left running in the background (CI, bench, test:cluster)
// npm run cluster -- stop         stops what start left running
// npm run cluster -- status       what runs, and where
// npm run cluster -- build        only builds/installs what is missing (CI does it ahead of the tests)

const say = (line: string) => process.stdout.write(`${line}\n`);

function printAddresses(info: ClusterInfo): void {
  say('');
  say(`  Temporal frontend  ${info.temporalAddress}   (server ${info.serverVersion}, ${info.numHistoryShards} history shards, PostgreSQL)`);
  say(`  Web UI             ${info.uiUrl}`);
  say(`  PostgreSQL         ${info.postgres}   (data: ${info.postgresData})`);
  say(`  namespace          ${info.namespace}   (retention ${info.retentionDays} d; search attributes ${CLUSTER_SPEC.searchAttributes.map((a) => a.name).join(', ')})`);
  say('');
  say(`  workers and API:   TEMPORAL_ADDRESS=${info.temporalAddress} node … workers/main.ts | api/main.ts`);
  say(`  temporal CLI:      temporal workflow list --address ${info.temporalAddress}`);
  say('');
}

async function main(): Promise<void> {
  const command = process.argv[2] ?? 'run';
  switch (command) {
    case 'run': {
      const { info, started } = await startCluster(say).catch(async (e: unknown) => {
        await stopCluster().catch(() => undefined); // nothing half-started is left behind
        throw e;
      });
      printAddresses(info);
      if (started.length === 0) {
        say('already running (started by another `npm run cluster`); `npm run cluster -- stop` stops it');
        return;
      }
      say('running; Ctrl-C stops it');
      // A signal listener alone does not keep Node running.
      const keepAlive = setInterval(() => undefined, 60_000);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      clearInterval(keepAlive);
      say('stopping…');
      say(`stopped: ${(await stopCluster()).join(', ') || 'nothing was running'}`);
      return;
    }
    case 'start': {
      const { info, started } = await startCluster(say);
      printAddresses(info);
      say(started.length ? `started ${started.join(', ')}; \`npm run cluster -- stop\` stops it` : 'already running');
      return;
    }
    case 'build': {
      const bins = ensureClusterBinaries(say);
      say(`Temporal server ${bins.server}\nSQL tool ${bins.sqlTool}\nWeb UI ${bins.ui}\nPostgreSQL ${ensurePostgresInstalled(say)}`);
      return;
    }
    case 'stop':
      say(`stopped: ${(await stopCluster()).join(', ') || 'nothing was running'}`);
      return;
    case 'status': {
      const status = clusterStatus();
      say(JSON.stringify({ ...status, ...clusterInfo() }));
      process.exitCode = Object.values(status).every(Boolean) ? 0 : 3;
      return;
    }
    default:
      throw new Error(`unknown command ${command}: run (default), start, stop, status, build`);
  }
}

main().catch((e) => {
  process.stderr.write(`cluster: ${(e as Error).message}\n`);
  process.exit(1);
});
