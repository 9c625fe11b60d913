import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { Client, Connection } from '@temporalio/client';
import { ConfigError } from '../lib/config';
import { connectClient, connectNative, temporalTarget } from '../lib/temporal-connection';
import { startProcess } from './support/processes';
import { TEST_POS_CONFIG } from './support/stack';

// Temporal Cloud and TLS-terminated clusters: the worker, the API and the scripts connect through one function
// (lib/temporal-connection.ts) that reads mTLS certificates or an API key from the environment. The dev server
// has no TLS, so the test puts a TLS terminator in front of it (its own CA, client certificates required) that
// forwards the raw bytes to the dev server's gRPC port.
describe('connecting to Temporal over TLS', () => {
  let dir: string;
  let proxy: TlsServer;
  let address: string;
  const handshakes: { authorized: boolean }[] = [];

  function openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pos-tls-'));
    // Our CA, a server certificate for localhost, a client certificate; and a CA nobody trusts with its own client.
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const ca of ['ca', 'rogue-ca']) {
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=${ca}`]);
    }
    const issue = (name: string, ca: string, ext: string) => {
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', ext]);
    };
    issue('server', 'ca', 'server.ext');
    issue('client', 'ca', 'client.ext');
    issue('rogue-client', 'rogue-ca', 'client.ext');

    const [devHost, devPort] = process.env.TEST_TEMPORAL_ADDRESS!.split(':');
    proxy = createTlsServer(
      {
        key: readFileSync(join(dir, 'server.key')),
        cert: readFileSync(join(dir, 'server.pem')),
        ca: readFileSync(join(dir, 'ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
      },
      (socket: TLSSocket) => {
        handshakes.push({ authorized: socket.authorized });
        const upstream = netConnect(Number(devPort), devHost);
        socket.pipe(upstream).pipe(socket);
        const close = () => {
          socket.destroy();
          upstream.destroy();
        };
        socket.on('error', close);
        upstream.on('error', close);
      },
    );
    proxy.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const port = (proxy.address() as { port: number }).port;
    address = `127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => proxy?.close(() => r()));
  });

  const tlsEnv = (client = 'client', ca = 'ca') => ({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, `${ca}.pem`),
    TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, `${client}.pem`),
    TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, `${client}.key`),
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  });

  it('connects (client and worker connection) with the CA and a client certificate from the environment', async () => {
    const target = temporalTarget(tlsEnv());
    expect(target.describe).toEqual({ address, namespace: 'default', tls: true, clientCertificate: true, usesApiKey: false });
    const connection = await connectClient(target);
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
      const client = new Client({ connection, namespace: target.namespace });
      expect(await client.workflowService.describeNamespace({ namespace: 'default' })).toBeTruthy();
    } finally {
      await connection.close();
    }
    const native = await connectNative(target);
    await native.close();
    expect(handshakes.some((h) => h.authorized)).toBe(true);
  });

  it('is refused without a client certificate, with one from another CA, and in plain text', async () => {
    const attempt = async (env: Record<string, string>) => {
      const target = temporalTarget(env);
      const connection = await Connection.connect({ ...target.connectionOptions, connectTimeout: '3s' });
      try {
        await connection.workflowService.getSystemInfo({});
      } finally {
        await connection.close();
      }
    };
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...noClientCert } = tlsEnv();
    await expect(attempt(noClientCert)).rejects.toThrow();
    await expect(attempt(tlsEnv('rogue-client'))).rejects.toThrow();
    await expect(attempt({ TEMPORAL_ADDRESS: address })).rejects.toThrow();
    // The server is not who our CA says: a client trusting only the rogue CA refuses it.
    await expect(attempt({ ...tlsEnv(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'rogue-ca.pem') })).rejects.toThrow();
  }, 60_000);

  it('an API key turns TLS on and is never part of what is logged; a certificate without its key is a configuration error', () => {
    const target = temporalTarget({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'secret-api-key-value' });
    expect(target.connectionOptions.apiKey).toBe('secret-api-key-value');
    expect(target.connectionOptions.tls).toBe(true);
    expect(target.describe).toEqual({ address: 'ns.acct.tmprl.cloud:7233', namespace: 'ns.acct', tls: true, clientCertificate: false, usesApiKey: true });
    expect(JSON.stringify(target.describe)).not.toContain('secret-api-key-value');
    expect(() => temporalTarget({ TEMPORAL_ADDRESS: address, TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.pem') })).toThrow(ConfigError);
    // Without any of it: plain gRPC to the address, as before.
    expect(temporalTarget({ TEMPORAL_ADDRESS: 'temporal:7233' }).connectionOptions.tls).toBeUndefined();
  });

  it('the production worker process connects through the TLS terminator with the same variables', async () => {
    const configPath = join(dir, 'pos.yaml');
    writeFileSync(configPath, TEST_POS_CONFIG);
    const worker = startProcess('workers/main.ts', {
      ...tlsEnv(),
      TEMPORAL_NAMESPACE: 'default',
      // A queue without start-up side effects on the namespace (no schedules, no deduction workflows).
      WORKER_TASK_QUEUES: 'evotor',
      BITRIX_REST_URL: 'http://127.0.0.1:9/rest/1/x/',
      EVOTOR_API_URL: 'http://127.0.0.1:9',
      EVOTOR_TOKEN: 'unused',
      POS_CONFIG: configPath,
      LOG_LEVEL: 'info',
    });
    try {
      const running = await worker.waitForLog((l) => l.msg === 'workers running', 90_000);
      expect(running).toMatchObject({ tls: true, clientCertificate: true, usesApiKey: false });
      expect(worker.output()).not.toContain('BEGIN');
      worker.kill('SIGTERM');
      expect((await worker.exited).code).toBe(0);
    } finally {
      worker.kill('SIGKILL');
    }
  }, 120_000);
});
