import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { AtolClient } from '../activities/atol/client';
import { BitrixClient } from '../activities/bitrix/client';
import { EvotorCloudClient } from '../activities/evotor/client';
import { FermaClient } from '../activities/ferma/client';
import { createApi, listen } from '../api/server';
import { parseSigningKeys } from '../api/signature';
import { startAtolSimulator, type AtolSimulator } from '../simulators/atol';
import { startBitrixSimulator, type BitrixSimulator } from '../simulators/bitrix';
import { startEvotorSimulator, type EvotorSimulator } from '../simulators/evotor/simulator';
import { startFermaSimulator, type FermaSimulator } from '../simulators/ferma';
import { createWorkers, registerBitrixCashboxes, runWorkers, type TaskQueue } from '../workers/worker';
import { durationMs, resolveCompanyCredentials, type EnvConfig, type PosConfig } from '../lib/config';
import { createCompanyClients } from './clients';
import type { Logger } from '../lib/logger';
import { installTemporalRuntime } from '../lib/temporal-runtime';
import type { TemporalTarget } from '../lib/temporal-connection';
import type { Tracing } from '../lib/tracing';
import { handoverMetricsInterceptor } from '../api/metrics';
import { cashboxNumberOfStore } from '../domain/bitrix-cashbox';

export interface StackOptions {
  env: EnvConfig;
  config: PosConfig;
  logger: Logger;
  temporalAddress: string;
  namespace: string;
  /** How to connect (TLS, API key: lib/temporal-connection); unset = plain gRPC to temporalAddress. */
  temporal?: TemporalTarget;
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Ports for the API and simulators; 0 = ephemeral. */
  ports?: { api?: number; bitrix?: number; evotor?: number; atol?: number; ferma?: number };
  /** ATOL and Ferma simulators: time from acceptance to the report (default 1 s, as the real services roughly take). */
  fiscalProcessingDelayMs?: number;
  bitrixRateLimit?: { rps: number; burst: number } | null;
  /** Share of Evotor webhook deliveries sent twice even when answered 200 (real Evotor does it). */
  evotorDuplicateRate?: number;
  /** Bitrix activity tasks per second across all workers; undefined = BITRIX_RATE_LIMIT_RPS. */
  bitrixActivitiesPerSecond?: number | null;
  /** OpenTelemetry tracing of the client's hand-overs and the activities (lib/tracing); unset: none. */
  tracing?: Tracing;
  /** Where reconciliation reports are archived (worker) and read (API); unset: not archived. */
  reportsDir?: string;
  /** Task queues the in-process workers poll (default all); the others are left to separate worker processes. */
  workerTaskQueues?: TaskQueue[];
  /**
   * Where the variables POS_CONFIG `companies` name are read (default process.env). For a simulated system a
   * missing one gets a sandbox value, which its simulator is given too.
   */
  companyEnv?: NodeJS.ProcessEnv;
}

export interface Stack {
  apiUrl: string;
  adminApiKey: string;
  /** "keyId:secret" pairs the middleware door accepts. */
  middlewareKeys: string;
  bitrixAppToken: string;
  evotorWebhookToken: string;
  /** BITRIX_CASHBOX_SECRET (sandbox: generated): the stores' cashbox tokens derive from it. */
  bitrixCashboxSecret: string;
  /** Present when the outside system is simulated (its URL was not configured). */
  bitrix?: BitrixSimulator;
  evotor?: EvotorSimulator;
  atol?: AtolSimulator;
  ferma?: FermaSimulator;
  client: Client;
  stop(): Promise<void>;
}

const secret = () => randomBytes(24).toString('base64url');

/** The sandbox catalog: a few products in stock at every configured warehouse. */
export const SANDBOX_PRODUCTS = [
  { productId: 101, name: 'Кофемолка ручная', price: '2490.00', vatRate: 0.22 },
  { productId: 102, name: 'Кофе в зёрнах 1 кг', price: '1590.50', vatRate: 0.22 },
  { productId: 103, name: 'Книга «Кофе»', price: '799.00', vatRate: 0.1 },
];

function seedBitrix(sim: BitrixSimulator, config: PosConfig): void {
  for (const store of config.stores) {
    sim.addStore({ id: Number(store.bitrixStoreId), title: store.name });
    for (const p of SANDBOX_PRODUCTS) sim.setStock({ productId: p.productId, storeId: store.bitrixStoreId, amount: 100 });
  }
  const { awaitingPayment, paid, canceled } = config.bitrix.statuses;
  sim.addStatus({ id: awaitingPayment, name: 'Ожидает оплаты в пункте выдачи' });
  sim.addStatus({ id: paid, name: 'Оплачен, формируется к отправке' });
  if (canceled) sim.addStatus({ id: canceled, name: 'Отменён' });
  const { cancelRequested, refunded, partiallyRefunded } = config.bitrix.statuses;
  if (cancelRequested) sim.addStatus({ id: cancelRequested, name: 'Отмена: вернуть деньги' });
  if (refunded) sim.addStatus({ id: refunded, name: 'Возвращён' });
  if (partiallyRefunded) sim.addStatus({ id: partiallyRefunded, name: 'Частичный возврат' });
  for (const id of config.bitrix.posPaySystemIds) sim.addPaySystem({ id: Number(id), name: 'Оплата в пункте выдачи' });
}

/**
 * What the shop's administrator does once the bridge registered its cashboxes: each store's cashbox prints the
 * checks of the pickup-point pay systems for orders reserved at the store's warehouse (README: cashbox rules).
 */
function seedCashboxRules(sim: BitrixSimulator, config: PosConfig): void {
  for (const cashbox of sim.cashbox.cashboxes.values()) {
    const store = config.stores.find((s) => cashboxNumberOfStore(s.id) === cashbox.numberKkm);
    if (!store || sim.cashbox.rules.some((r) => r.cashboxId === cashbox.id)) continue;
    sim.addCashboxRule({ cashboxId: cashbox.id, paySystemIds: config.bitrix.posPaySystemIds.map(Number), storeIds: [Number(store.bitrixStoreId)] });
  }
}

/**
 * The whole application on one machine: simulators for every outside system without a configured URL,
 * the workers, and the API, wired to each other over real HTTP. `npm start` and the end-to-end tests use it.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const { env, config, logger } = opts;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e) => logger.warn({ err: (e as Error).message }, 'error while stopping'));
  };
  installTemporalRuntime(logger, 'WARN');
  try {
    const bitrixAppToken = env.BITRIX_APP_TOKEN ?? secret();
    const evotorWebhookToken = env.EVOTOR_WEBHOOK_TOKEN?.split(',')[0] ?? secret();
    const adminApiKey = env.ADMIN_API_KEY ?? secret();
    const middlewareKeys = env.MIDDLEWARE_KEYS ?? `sandbox:${secret()}`;
    const bitrixCashboxSecret = env.BITRIX_CASHBOX_SECRET ?? secret() + secret();
    const evotorToken = env.EVOTOR_TOKEN ?? secret();
    const evotorAppId = env.EVOTOR_APP_ID ?? 'sandbox-terminal-app';
    const simulated = { atol: !env.ATOL_API_URL, ferma: !env.FERMA_API_URL, evotor: !env.EVOTOR_API_URL };
    const companyCredentials = resolveCompanyCredentials(config, opts.companyEnv ?? process.env, (system, company, field) =>
      simulated[system] ? ({ loginEnv: `sandbox-${company}`, groupCodeEnv: `sandbox-${company}-group` }[field] ?? secret()) : undefined,
    );
    const companyAccounts = <T>(pick: (c: PosConfig['companies'][number], creds: NonNullable<ReturnType<typeof companyCredentials.get>>) => T | undefined): T[] =>
      config.companies.flatMap((c) => {
        const picked = pick(c, companyCredentials.get(c.id) ?? {});
        return picked === undefined ? [] : [picked];
      });

    let bitrix: BitrixSimulator | undefined;
    if (!env.BITRIX_REST_URL) {
      bitrix = await startBitrixSimulator({
        port: opts.ports?.bitrix ?? 0,
        rateLimit: opts.bitrixRateLimit === undefined ? { rps: env.BITRIX_RATE_LIMIT_RPS, burst: env.BITRIX_RATE_LIMIT_BURST } : opts.bitrixRateLimit,
        applicationToken: bitrixAppToken,
        logger: logger.child({ service: 'bitrix-simulator' }),
      });
      stops.push(() => bitrix!.close());
      seedBitrix(bitrix, config);
    }
    let evotor: EvotorSimulator | undefined;
    if (!env.EVOTOR_API_URL) {
      evotor = await startEvotorSimulator({
        port: opts.ports?.evotor ?? 0,
        token: evotorToken,
        appId: evotorAppId,
        // Companies with their own Evotor account: their token sees only their stores.
        accounts: companyAccounts((c, creds) =>
          creds.evotor ? { name: c.id, token: creds.evotor.token, storeIds: config.stores.filter((s) => s.companyId === c.id && s.evotorStoreId).map((s) => s.evotorStoreId!) } : undefined,
        ),
        // The terminals' catalogs as a catalog sync would leave them: the Evotor product code holds the Bitrix id.
        stores: config.stores
          .filter((s) => s.evotorStoreId)
          .map((s) => ({
            id: s.evotorStoreId!,
            name: s.name,
            products: SANDBOX_PRODUCTS.map((p) => ({ name: p.name, code: String(p.productId), price: p.price })),
          })),
        devices: config.stores.flatMap((s) => s.evotorDeviceIds.map((id) => ({ id, storeId: s.evotorStoreId!, name: `${s.name} terminal` }))),
        logger: logger.child({ service: 'evotor-simulator' }),
      });
      stops.push(() => evotor!.close());
    }

    let atol: AtolSimulator | undefined;
    const atolCredentials = { login: env.ATOL_LOGIN ?? 'sandbox-login', password: env.ATOL_PASSWORD ?? secret(), groupCode: env.ATOL_GROUP_CODE ?? 'sandbox-group' };
    if (!env.ATOL_API_URL) {
      atol = await startAtolSimulator({
        port: opts.ports?.atol ?? 0,
        ...atolCredentials,
        // Each company's own group, whose registers carry its INN.
        accounts: companyAccounts((c, creds) => (creds.atol ? { ...creds.atol, inn: c.company.inn } : undefined)),
        processingDelayMs: opts.fiscalProcessingDelayMs,
        logger: logger.child({ service: 'atol-simulator' }),
      });
      stops.push(() => atol!.close());
    }

    const bitrixClient = new BitrixClient({ restUrl: env.BITRIX_REST_URL ?? bitrix!.url, logger });
    const evotorClient = new EvotorCloudClient({
      apiUrl: env.EVOTOR_API_URL ?? evotor!.url,
      token: evotorToken,
      appId: evotorAppId,
      publisherApiUrl: env.EVOTOR_PUBLISHER_API_URL,
      publisherToken: env.EVOTOR_PUBLISHER_TOKEN,
      logger: logger.child({ system: 'evotor' }),
    });

    let ferma: FermaSimulator | undefined;
    const fermaCredentials = { login: env.FERMA_LOGIN ?? 'sandbox-login', password: env.FERMA_PASSWORD ?? secret() };
    if (!env.FERMA_API_URL) {
      ferma = await startFermaSimulator({
        port: opts.ports?.ferma ?? 0,
        ...fermaCredentials,
        accounts: companyAccounts((c, creds) => (creds.ferma ? { ...creds.ferma, inns: [c.company.inn] } : undefined)),
        processingDelayMs: opts.fiscalProcessingDelayMs,
        confirmationDelayMs: opts.fiscalProcessingDelayMs,
        logger: logger.child({ service: 'ferma-simulator' }),
      });
      stops.push(() => ferma!.close());
    }
    const fermaClient = new FermaClient({ apiUrl: env.FERMA_API_URL ?? ferma!.url, ...fermaCredentials, logger: logger.child({ system: 'ferma' }) });

    const atolClient = new AtolClient({ apiUrl: env.ATOL_API_URL ?? atol!.url, ...atolCredentials, logger: logger.child({ system: 'atol' }) });
    const companies = createCompanyClients(config, companyCredentials, {
      atol: env.ATOL_API_URL ?? atol!.url,
      ferma: env.FERMA_API_URL ?? ferma!.url,
      evotor: env.EVOTOR_API_URL ?? evotor!.url,
      evotorAppId,
      evotorPublisherApiUrl: env.EVOTOR_PUBLISHER_API_URL,
      evotorPublisherToken: env.EVOTOR_PUBLISHER_TOKEN,
    }, logger);

    const connectionOptions = opts.temporal?.connectionOptions ?? { address: opts.temporalAddress };
    const nativeConnection = await NativeConnection.connect(connectionOptions);
    stops.push(() => nativeConnection.close());
    const connection = await Connection.connect(connectionOptions);
    stops.push(() => connection.close());
    const client = new Client({
      connection,
      namespace: opts.namespace,
      interceptors: { workflow: [handoverMetricsInterceptor(), ...(opts.tracing ? [opts.tracing.clientInterceptor] : [])] },
    });

    const publicBaseUrl = env.PUBLIC_BASE_URL ?? (opts.ports?.api ? `http://${env.API_HOST}:${opts.ports.api}` : undefined);
    const workers = await createWorkers({
      connection: nativeConnection,
      client,
      namespace: opts.namespace,
      config,
      bitrix: bitrixClient,
      evotor: evotorClient,
      atol: atolClient,
      ferma: fermaClient,
      companies,
      publicBaseUrl,
      bitrixCashboxSecret,
      webUiUrl: env.TEMPORAL_WEB_UI_URL,
      logger,
      workflowBundle: opts.workflowBundle,
      bitrixActivitiesPerSecond: opts.bitrixActivitiesPerSecond === null ? undefined : (opts.bitrixActivitiesPerSecond ?? env.BITRIX_RATE_LIMIT_RPS),
      taskQueues: opts.workerTaskQueues,
      reportsDir: opts.reportsDir,
      activityInterceptors: opts.tracing?.activityInterceptors,
      reportsKeepMs: durationMs(env.RECONCILIATION_REPORTS_KEEP),
    });
    const running = runWorkers(workers);
    stops.push(async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    });

    const app = createApi({
      client,
      logger: logger.child({ service: 'api' }),
      bitrixApplicationToken: bitrixAppToken,
      evotorWebhookTokens: env.EVOTOR_WEBHOOK_TOKEN ? env.EVOTOR_WEBHOOK_TOKEN.split(',') : [evotorWebhookToken],
      adminApiKey,
      config,
      middlewareKeys: parseSigningKeys(middlewareKeys),
      reportsDir: opts.reportsDir,
      bitrixCashboxSecret,
    });
    const { server, url: apiUrl } = await listen(app, opts.ports?.api ?? env.API_PORT, env.API_HOST);
    stops.push(() => closeServer(server));

    bitrix?.addEventHandler({ event: 'ONSALEORDERSAVED', handler: `${apiUrl}/webhooks/bitrix`, applicationToken: bitrixAppToken });
    // An ephemeral API port is known only now: the cashboxes' PRINT_URL points at it.
    if (!publicBaseUrl && (opts.workerTaskQueues ?? ['bitrix']).includes('bitrix')) {
      await registerBitrixCashboxes(bitrixClient, config, { publicBaseUrl: apiUrl, masterSecret: bitrixCashboxSecret, logger });
    }
    if (bitrix) seedCashboxRules(bitrix, config);
    evotor?.configureWebhook({ url: `${apiUrl}/webhooks/evotor/receipts`, token: evotorWebhookToken, duplicateRate: opts.evotorDuplicateRate ?? 0 });

    return { apiUrl, adminApiKey, middlewareKeys, bitrixAppToken, evotorWebhookToken, bitrixCashboxSecret, bitrix, evotor, atol, ferma, client, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
