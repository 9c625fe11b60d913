import { Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError } from './config';

/**
 * Where and how to reach Temporal, read once from the environment by the worker, the API and the scripts:
 * a local server or cluster (`TEMPORAL_ADDRESS`), or Temporal Cloud / a TLS-terminated cluster with mTLS
 * certificates (`TEMPORAL_TLS_CLIENT_CERT_PATH` + `TEMPORAL_TLS_CLIENT_KEY_PATH`, or the `_DATA` variants)
 * or an API key (`TEMPORAL_API_KEY`, which turns TLS on by itself). The variable names are the Temporal
 * SDKs' and CLI's own (`@temporalio/envconfig`), so the same `.env` works with `temporal` on the command
 * line; `TEMPORAL_CONFIG_FILE` + `TEMPORAL_PROFILE` read a TOML profile instead (the variables override it).
 */
export interface TemporalTarget {
  address: string;
  namespace: string;
  /** Options for NativeConnection.connect (worker) and Connection.connect (client): the same shape. */
  connectionOptions: NativeConnectionOptions & { address: string };
  /** What is safe to log: whether TLS / client certificates / an API key are used, never the secrets. */
  describe: { address: string; namespace: string; tls: boolean; clientCertificate: boolean; usesApiKey: boolean };
}

export function temporalTarget(env: NodeJS.ProcessEnv = process.env, defaults: { address?: string; namespace?: string } = {}): TemporalTarget {
  // Empty variables count as unset, as everywhere else in the configuration.
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
  let loaded;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars: vars, disableFile: !vars.TEMPORAL_CONFIG_FILE });
  } catch (e) {
    throw new ConfigError(`Temporal connection (TEMPORAL_TLS_*, TEMPORAL_API_KEY, TEMPORAL_CONFIG_FILE): ${(e as Error).message}`);
  }
  const address = loaded.connectionOptions.address ?? defaults.address ?? 'localhost:7233';
  const namespace = loaded.namespace ?? defaults.namespace ?? 'default';
  const { tls, apiKey } = loaded.connectionOptions;
  const certs = typeof tls === 'object' && tls !== null ? tls : undefined;
  if (certs && Boolean(vars.TEMPORAL_TLS_CLIENT_CERT_PATH ?? vars.TEMPORAL_TLS_CLIENT_CERT_DATA) !== Boolean(vars.TEMPORAL_TLS_CLIENT_KEY_PATH ?? vars.TEMPORAL_TLS_CLIENT_KEY_DATA))
    throw new ConfigError('TEMPORAL_TLS_CLIENT_CERT_* and TEMPORAL_TLS_CLIENT_KEY_* must be set together (mTLS needs both)');
  return {
    address,
    namespace,
    connectionOptions: { ...loaded.connectionOptions, address },
    describe: { address, namespace, tls: Boolean(tls), clientCertificate: Boolean(certs?.clientCertPair), usesApiKey: Boolean(apiKey) },
  };
}

/** A client connection (API, scripts, the worker's own client). */
export function connectClient(target: TemporalTarget): Promise<Connection> {
  return Connection.connect(target.connectionOptions);
}

/** A worker's native connection. */
export function connectNative(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect(target.connectionOptions);
}
