import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { registry } from './metrics';
import type { Logger } from './logger';

/**
 * A worker process's `/metrics`: its own prom-client registry (outside-system calls, rate-limit waits, process
 * figures) followed by the Temporal SDK's metrics, which the SDK's core serves on a loopback port of its own
 * (`coreAddress`) and which are read through at every scrape — one scrape target per worker process.
 */
export async function startWorkerMetricsServer(opts: { address: string; coreAddress?: string; logger: Logger }): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const [host, portText] = splitHostPort(opts.address);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    void (async () => {
      const own = await registry.metrics();
      let core = '';
      if (opts.coreAddress) {
        try {
          const answer = await request(`http://${opts.coreAddress}/metrics`, { signal: AbortSignal.timeout(3_000) });
          core = await answer.body.text();
        } catch (e) {
          opts.logger.warn({ err: (e as Error).message }, 'Temporal SDK metrics could not be read');
        }
      }
      res.writeHead(200, { 'content-type': registry.contentType }).end(`${own}\n${core}`);
    })().catch((e: unknown) => {
      opts.logger.error({ err: (e as Error).message }, 'metrics scrape failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : Number(portText);
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function splitHostPort(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), address.slice(i + 1)];
}
