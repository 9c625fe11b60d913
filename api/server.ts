import express, { type NextFunction, type Request, type Response } from 'express';
import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import type { Logger } from '../lib/logger';
import { adminRouter } from './routes/admin';
import { fiscalCallbacksRouter } from './routes/fiscal-callbacks';
import { bitrixWebhookRouter } from './routes/bitrix-webhook';
import { bitrixCashboxRouter } from './routes/bitrix-cashbox';
import { evotorWebhookRouter } from './routes/evotor-webhook';
import { middlewareRouter } from './routes/middleware';
import { reconciliationRouter } from './routes/reconciliation';
import type { SigningKey } from './signature';
import type { PosConfig } from '../lib/config';
import { sendError } from './errors';
import { httpMetrics, metricsHandler, registerTemporalGauges } from './metrics';
import { reportArchiveRouter } from './report-archive';

export interface ApiDeps {
  client: Client;
  logger: Logger;
  bitrixApplicationToken?: string;
  /** Bitrix events older than this (their `ts`) are refused; default 7 days. */
  bitrixEventMaxAgeMs?: number;
  evotorWebhookTokens: string[];
  adminApiKey?: string;
  config: PosConfig;
  middlewareKeys: SigningKey[];
  /** Set `shuttingDown` when the process is asked to stop: /readyz answers 503 from then on. */
  lifecycle?: ApiLifecycle;
  /** The reconciliation report archive (REPORTS_DIR), served at /api/reconciliation/archive. */
  reportsDir?: string;
  /** BITRIX_CASHBOX_SECRET: the Bitrix REST cashboxes' print and check requests (unset: refused). */
  bitrixCashboxSecret?: string;
}

export interface ApiLifecycle {
  shuttingDown: boolean;
}

/** The HTTP doors: validate, authenticate, hand over to Temporal, answer. No business logic here. */
export function createApi(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(httpMetrics());
  registerTemporalGauges({ client: deps.client, config: deps.config, logger: deps.logger });
  app.get('/metrics', metricsHandler);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    // A stopping API takes no new work: load balancers take it out while its in-flight requests finish.
    if (deps.lifecycle?.shuttingDown) return sendError(res, 503, 'shutting down');
    try {
      await deps.client.workflowService.getSystemInfo({});
      res.json({ status: 'ready', temporal: 'reachable' });
    } catch (e) {
      deps.logger.warn({ err: (e as Error).message }, 'readiness check failed');
      sendError(res, 503, 'Temporal is not reachable');
    }
  });
  app.use(bitrixWebhookRouter({ client: deps.client, applicationToken: deps.bitrixApplicationToken, maxEventAgeMs: deps.bitrixEventMaxAgeMs, logger: deps.logger }));
  app.use(bitrixCashboxRouter({ client: deps.client, config: deps.config, masterSecret: deps.bitrixCashboxSecret, logger: deps.logger }));
  app.use(evotorWebhookRouter({ client: deps.client, webhookTokens: deps.evotorWebhookTokens, config: deps.config, logger: deps.logger }));
  app.use(middlewareRouter({ client: deps.client, config: deps.config, keys: deps.middlewareKeys, logger: deps.logger }));
  app.use(fiscalCallbacksRouter({ client: deps.client, logger: deps.logger }));
  app.use(reportArchiveRouter({ dir: deps.reportsDir, adminApiKey: deps.adminApiKey, logger: deps.logger }));
  app.use(reconciliationRouter({ client: deps.client, adminApiKey: deps.adminApiKey, logger: deps.logger }));
  app.use(adminRouter({ client: deps.client, adminApiKey: deps.adminApiKey, logger: deps.logger }));
  app.use((req, res) => sendError(res, 404, `no such endpoint: ${req.method} ${req.path}`));
  app.use((err: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.parse.failed') return sendError(res, 400, 'body: not valid JSON');
    if (err.type === 'entity.too.large') return sendError(res, 413, `body: larger than this door's limit of ${(err as { limit?: number }).limit ?? '?'} bytes`);
    if (err.status && err.status >= 400 && err.status < 500) return sendError(res, err.status, err.message);
    // Nothing was handed to Temporal: a 5xx makes the sender retry (Evotor does; Bitrix does not, reconciliation will).
    deps.logger.error({ path: req.path, err: err.message }, 'request failed');
    sendError(res, 503, 'temporarily unable to accept the request; retry later');
  });
  return app;
}

/**
 * Stops an API gracefully: /readyz answers 503 at once; after `delayMs` (time for a load balancer to notice)
 * no new connection is accepted, requests in flight get `graceMs` to be answered, then the rest is closed.
 */
export async function closeGracefully(server: Server, lifecycle: ApiLifecycle, opts: { delayMs: number; graceMs: number }): Promise<void> {
  lifecycle.shuttingDown = true;
  if (opts.delayMs > 0) await new Promise((r) => setTimeout(r, opts.delayMs));
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections are closed as soon as their request is answered.
  server.closeIdleConnections();
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  const timer = setTimeout(() => server.closeAllConnections(), opts.graceMs);
  await closed;
  clearInterval(idle);
  clearTimeout(timer);
}

export function listen(app: express.Express, port: number, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => {
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      resolve({ server, url: `http://${host}:${actualPort}` });
    });
    server.once('error', reject);
  });
}
