import { FISCAL_MODES_BY_KIND, TERMINAL_KINDS } from '../domain/terminal-kinds';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** Thrown when configuration is wrong; the message names the variable or field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const optionalUrl = z.string().url().optional();
const positiveInt = (def: number) => z.coerce.number().int().positive().default(def);

const EnvDuration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as "500ms", "30s", "15m" or "1d"');

const EnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_CLI_PATH: z.string().optional(),
  TEMPORAL_TEST_SERVER_PATH: z.string().optional(),
  TEMPORAL_DEV_PORT: positiveInt(7233),
  TEMPORAL_UI_PORT: positiveInt(8233),
  DATA_DIR: z.string().default('.data'),
  /** Task queues this worker process serves, comma-separated (default: all). */
  WORKER_TASK_QUEUES: z.string().regex(/^[a-z-]+(,[a-z-]+)*$/, 'comma-separated task queue names').optional(),
  /** Running activities get this long to finish when the worker is asked to stop; then they are cancelled. */
  WORKER_SHUTDOWN_GRACE: EnvDuration.default('30s'),
  /** After the grace time, how long cancelled activities get to hand back before the worker gives up and exits. */
  WORKER_SHUTDOWN_FORCE: EnvDuration.default('10s'),
  /** host:port where the worker serves Prometheus metrics (its own and the Temporal SDK's); unset = off. */
  WORKER_METRICS_ADDRESS: z.string().regex(/^[^\s:]+:\d+$/, 'host:port, e.g. 0.0.0.0:9464').optional(),
  /** A prebuilt workflow bundle (npm run build writes dist/workflow-bundle.js, found by itself). */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  /** After SIGTERM the API answers /readyz 503 for this long before it stops accepting connections. */
  API_SHUTDOWN_DELAY: EnvDuration.default('0s'),
  /** Then in-flight requests get this long to finish before their connections are closed. */
  API_SHUTDOWN_GRACE: EnvDuration.default('10s'),
  /** `otlp`: OpenTelemetry spans of hand-overs and activities, sent to OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT. */
  TRACING: z.enum(['off', 'otlp']).default('off'),
  /** Where finished reconciliation reports are archived (JSON + CSV per run); default DATA_DIR/reports. */
  REPORTS_DIR: z.string().min(1).optional(),
  /** How long archived reconciliation reports are kept, whatever Temporal's retention. */
  RECONCILIATION_REPORTS_KEEP: EnvDuration.default('400d'),
  BITRIX_REST_URL: optionalUrl,
  BITRIX_APP_TOKEN: z.string().min(1).optional(),
  /** Bitrix events whose `ts` is older than this are refused (a replayed or long-delayed event). */
  BITRIX_EVENT_MAX_AGE: z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 7d or 12h').default('7d'),
  /**
   * Master secret of the Bitrix REST cashboxes (stores with bitrixCashbox.enabled): each store's cashbox gets its
   * own token derived from it (lib/bitrix-cashbox-secret.ts), which Bitrix sends back with every print request.
   */
  BITRIX_CASHBOX_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  BITRIX_RATE_LIMIT_RPS: z.coerce.number().positive().default(2),
  BITRIX_RATE_LIMIT_BURST: positiveInt(50),
  EVOTOR_API_URL: optionalUrl,
  EVOTOR_TOKEN: z.string().min(1).optional(),
  EVOTOR_APP_ID: z.string().min(1).optional(),
  EVOTOR_PUBLISHER_API_URL: optionalUrl,
  EVOTOR_PUBLISHER_TOKEN: z.string().min(1).optional(),
  EVOTOR_WEBHOOK_TOKEN: z.string().min(1).optional(),
  ATOL_API_URL: optionalUrl,
  ATOL_LOGIN: z.string().min(1).optional(),
  ATOL_PASSWORD: z.string().min(1).optional(),
  ATOL_GROUP_CODE: z.string().min(1).optional(),
  FERMA_API_URL: optionalUrl,
  FERMA_LOGIN: z.string().min(1).optional(),
  FERMA_PASSWORD: z.string().min(1).optional(),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Where outside systems reach our API (ATOL callbacks); unset = no callbacks, the report is polled. */
  PUBLIC_BASE_URL: optionalUrl,
  /** The Temporal Web UI as support opens it (links in Bitrix notifications), e.g. https://temporal.example.ru. */
  TEMPORAL_WEB_UI_URL: optionalUrl,
  ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Middleware door signing keys: "keyId:secret" pairs, comma-separated (same id twice = rotation). */
  MIDDLEWARE_KEYS: z
    .string()
    .regex(/^[^:,\s]+:[^,]{16,}(,[^:,\s]+:[^,]{16,})*$/, 'expected "keyId:secret[,keyId:secret...]" with secrets of at least 16 characters')
    .optional(),
  POS_CONFIG: z.string().min(1).default('config/pos.example.yaml'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type EnvConfig = z.infer<typeof EnvSchema>;

const StatusCode = z.string().min(1).max(2);
const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as "15m", "2h" or "1d"');

const BitrixUserId = z.coerce.string().regex(/^[1-9]\d{0,17}$/, 'a Bitrix user id (digits)');

/** A store's Bitrix notifications about its problems (NEEDS_ATTENTION); the section present means on. */
const StoreNotificationsSchema = z.object({
  enabled: z.boolean().default(true),
  /** Who is notified; unset: the order's responsible manager, else `bitrix.notifications.userId`. */
  userId: BitrixUserId.optional(),
});

const CompanyBlockSchema = z.object({
  inn: z.string().regex(/^\d{10}(\d{2})?$/, '10 or 12 digits'),
  email: z.string().email(),
  sno: z.enum(['osn', 'usn_income', 'usn_income_outcome', 'esn', 'patent']),
  paymentAddress: z.string().min(1),
});

/** The NAME of an environment variable that holds a secret (the secret itself never goes into the file). */
const EnvName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'the name of an environment variable (A-Z, 0-9, "_"), not its value');

/** A legal entity with its own fiscal and terminal accounts; its stores name it by `companyId`. */
const CompanySchema = z
  .object({
    id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only'),
    /** Printed on its receipts: INN, e-mail, taxation system, settlement place. */
    company: CompanyBlockSchema,
    /** Its ATOL Online group: the environment variables holding login, password and group code. */
    atol: z.object({ loginEnv: EnvName, passwordEnv: EnvName, groupCodeEnv: EnvName }).strict().optional(),
    /** Its OFD.ru Ferma account: the environment variables holding login and password. */
    ferma: z.object({ loginEnv: EnvName, passwordEnv: EnvName }).strict().optional(),
    /** Its Evotor account: the environment variable holding the cloud token (absent: EVOTOR_TOKEN's account). */
    evotor: z.object({ tokenEnv: EnvName }).strict().optional(),
  })
  .strict();

export type CompanyConfig = z.infer<typeof CompanySchema>;

const StoreSchema = z.object({
  /** Our id for the pickup point; shown in search attributes and logs. */
  id: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only'),
  name: z.string().min(1),
  /** The Bitrix warehouse (catalog.store id) that serves this pickup point. */
  bitrixStoreId: z.string().min(1),
  /** The kind of terminal (activities/terminals): `evotor`, or `middleware` for terminals without an HTTP API. */
  terminalKind: z.enum(TERMINAL_KINDS).default('evotor'),
  /** middleware kind: the MIDDLEWARE_KEYS key id this store's middleware signs with (unset = any key). */
  middlewareKeyId: z.string().min(1).optional(),
  evotorStoreId: z.string().min(1).optional(),
  /** Terminals that get order pushes. */
  evotorDeviceIds: z.array(z.string().min(1)).default([]),
  fiscalMode: z.enum(['terminal', 'atol', 'ferma', '1c']).default('terminal'),
  /** IANA time zone used to render local times (ATOL timestamps). */
  timeZone: z.string().min(1).default('Europe/Moscow'),
  /**
   * A Bitrix REST cashbox for this store (sale.cashbox.*): registered at worker start, it answers Bitrix's print
   * requests with the fiscal data the sale already has, so the order's "Checks" tab shows the receipt.
   */
  bitrixCashbox: z
    .object({
      enabled: z.boolean().default(false),
      /** Where Bitrix sends the cashbox's print errors (sale.cashbox.add EMAIL); default company.email. */
      email: z.string().email().optional(),
    })
    .optional(),
  notifications: StoreNotificationsSchema.optional(),
  /** The company (companies[].id) whose accounts and receipt data this store uses; unset = the default company. */
  companyId: z.string().min(1).optional(),
  /** The default company's receipt data (stores without companyId); a store with companyId gets its company's. */
  company: CompanyBlockSchema.optional(),
});

export const PosConfigSchema = z
  .object({
    bitrix: z.object({
      /** Orders with a payment in one of these pay systems are paid at a pickup point. */
      posPaySystemIds: z.array(z.coerce.string().min(1)).min(1),
      statuses: z.object({
        awaitingPayment: StatusCode,
        paid: StatusCode,
        canceled: StatusCode.optional(),
        /** A status a manager sets to cancel a paid order: the bridge asks the terminal for the refund. */
        cancelRequested: StatusCode.optional(),
        /** Set when the whole sale is refunded but the order cannot be cancelled (its stock went back by store documents). */
        refunded: StatusCode.optional(),
        /** Set after a partial refund. */
        partiallyRefunded: StatusCode.optional(),
      }),
      /** Bitrix user id recorded as responsible on store documents. */
      responsibleId: z.coerce.string().min(1).default('1'),
      crm: z.object({ paidDealStageId: z.string().min(1) }).optional(),
      /**
       * Bitrix notifications (im.notify.system.add, scope `im`) when a workflow stops in NEEDS_ATTENTION and when
       * it leaves it. Here: the default for every store (a store's own `notifications` wins).
       */
      notifications: z
        .object({
          enabled: z.boolean().default(true),
          /** Notified when the store names nobody and there is no order with a responsible manager (walk-ins). */
          userId: BitrixUserId.optional(),
          /** Link to an order, `{orderId}` replaced; default `<portal>/shop/orders/details/{orderId}/`. */
          orderUrl: z.string().url().includes('{orderId}', { message: 'must contain {orderId}' }).optional(),
          /** Also a comment in the timeline of the CRM deals linked to the order (Bitrix24, scope `crm`). */
          dealTimeline: z.boolean().default(false),
        })
        .optional(),
    }),
    payment: z
      .object({
        /** How long an order waits for its payment at the terminal before it is cancelled (e.g. "72h", "3d"). */
        deadline: z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as "72h" or "3d"').default('3d'),
        /** How long fiscal data may lag behind the receipt before a person is asked to look. */
        fiscalDeadline: z.string().regex(/^\d+(ms|s|m|h|d)$/).default('30m'),
      })
      .default({ deadline: '3d', fiscalDeadline: '30m' }),
    /** Refunds at the terminal (PAYBACK) and cancellations of paid orders. */
    refunds: z
      .object({
        /** A cancelled paid order waits this long for its refund at the terminal before a person is asked. */
        paybackDeadline: z.string().regex(/^\d+(ms|s|m|h|d)$/).default('3d'),
        /** A refund waits this long for the sale it refunds to reach us and be processed. */
        saleDeadline: z.string().regex(/^\d+(ms|s|m|h|d)$/).default('1h'),
        /** Cancel the order in Bitrix once its whole sale is refunded (when Bitrix allows it). */
        cancelOrder: z.boolean().default(true),
        /**
         * How long after its day a middleware walk-in sale can still be refunded whatever the namespace's
         * retention: its sale is kept that long in a sales book (an Evotor sale is read back from its cloud document).
         */
        walkInReturnPeriod: z.string().regex(/^\d+(ms|s|m|h|d)$/).default('30d'),
      })
      .default({ paybackDeadline: '3d', saleDeadline: '1h', cancelOrder: true, walkInReturnPeriod: '30d' }),
    /** How terminal products map to Bitrix products (as a catalog sync sets them up). */
    products: z
      .object({
        /** The Evotor product field that holds the Bitrix product id. */
        evotorKey: z.enum(['code', 'article_number']).default('code'),
        /** How long the Evotor catalog of a store is cached by a worker. */
        cacheTtl: z.string().regex(/^\d+(ms|s|m|h|d)$/).default('10m'),
      })
      .default({ evotorKey: 'code', cacheTtl: '10m' }),
    /**
     * Legal entities with their own ATOL/Ferma/Evotor accounts (several companies in one deployment). Stores
     * without companyId belong to the default company: the global environment's accounts and their own `company`.
     */
    companies: z.array(CompanySchema).default([]),
    stores: z.array(StoreSchema).min(1),
    /**
     * Scheduled reconciliation (Temporal Schedules, created at worker start). Absent: no schedules are
     * created (runs can still be started through the API).
     */
    reconciliation: z
      .object({
        /** Frequent runs over a recent, overlapping window. */
        frequent: z
          .object({ every: Duration.default('15m'), window: Duration.default('2h') })
          .default({ every: '15m', window: '2h' }),
        /** The nightly run over the previous day (local to timeZone). */
        nightly: z
          .object({ at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day "HH:MM"').default('02:00'), timeZone: z.string().min(1).default('Europe/Moscow') })
          .default({ at: '02:00', timeZone: 'Europe/Moscow' }),
        /** Documents and payments younger than this are left to the webhooks. */
        settle: Duration.default('5m'),
        /** Items listed per run report (all are counted). */
        maxItems: z.number().int().positive().max(2000).default(1000),
        /** Stage limits beyond which a running workflow is reported as stuck, by stage (e.g. NEEDS_ATTENTION: 12h). */
        stageLimits: z.record(z.string().regex(/^[A-Z_]+$/, 'a stage name such as NEEDS_ATTENTION'), Duration).default({}),
      })
      .optional(),
  })
  .superRefine((cfg, ctx) => {
    const companies = new Map<string, CompanyConfig>();
    cfg.companies.forEach((c, i) => {
      if (companies.has(c.id)) ctx.addIssue({ code: 'custom', path: ['companies', i, 'id'], message: `duplicate company id "${c.id}"` });
      companies.set(c.id, c);
    });
    const ids = new Set<string>();
    cfg.stores.forEach((s, i) => {
      const company = s.companyId === undefined ? undefined : companies.get(s.companyId);
      if (s.companyId !== undefined) {
        if (!company) {
          ctx.addIssue({ code: 'custom', path: ['stores', i, 'companyId'], message: `unknown company "${s.companyId}" (not in companies)` });
        } else {
          if (s.company) ctx.addIssue({ code: 'custom', path: ['stores', i, 'company'], message: `not allowed with companyId: the receipt data is company "${company.id}"'s` });
          if ((s.fiscalMode === 'atol' || s.fiscalMode === 'ferma') && !company[s.fiscalMode])
            ctx.addIssue({ code: 'custom', path: ['companies', cfg.companies.indexOf(company), s.fiscalMode], message: `required: store "${s.id}" of company "${company.id}" fiscalizes through ${s.fiscalMode === 'atol' ? 'ATOL Online' : 'Ferma'}` });
        }
      }
      if (ids.has(s.id)) ctx.addIssue({ code: 'custom', path: ['stores', i, 'id'], message: `duplicate store id "${s.id}"` });
      ids.add(s.id);
      if (!FISCAL_MODES_BY_KIND[s.terminalKind].includes(s.fiscalMode))
        ctx.addIssue({
          code: 'custom',
          path: ['stores', i, 'fiscalMode'],
          message: `"${s.fiscalMode}" is not possible with terminalKind "${s.terminalKind}" (one of ${FISCAL_MODES_BY_KIND[s.terminalKind].join(', ')})`,
        });
      if (s.terminalKind === 'evotor' && !s.evotorStoreId)
        ctx.addIssue({ code: 'custom', path: ['stores', i, 'evotorStoreId'], message: 'required for terminalKind "evotor"' });
      if (s.bitrixCashbox?.enabled && !s.bitrixCashbox.email && !s.company?.email && s.companyId === undefined)
        ctx.addIssue({ code: 'custom', path: ['stores', i, 'bitrixCashbox', 'email'], message: 'required for a Bitrix cashbox (or company.email)' });
      if ((s.fiscalMode === 'atol' || s.fiscalMode === 'ferma') && !s.company && s.companyId === undefined)
        ctx.addIssue({ code: 'custom', path: ['stores', i, 'company'], message: `required for fiscalMode "${s.fiscalMode}"` });
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: s.timeZone });
      } catch {
        ctx.addIssue({ code: 'custom', path: ['stores', i, 'timeZone'], message: `unknown time zone "${s.timeZone}"` });
      }
    });
    const nightlyZone = cfg.reconciliation?.nightly.timeZone;
    if (nightlyZone) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: nightlyZone });
      } catch {
        ctx.addIssue({ code: 'custom', path: ['reconciliation', 'nightly', 'timeZone'], message: `unknown time zone "${nightlyZone}"` });
      }
    }
  })
  // A store of a company carries its company's receipt data, so receipt code reads store.company either way.
  .transform((cfg) => ({
    ...cfg,
    stores: cfg.stores.map((s) => (s.companyId === undefined ? s : { ...s, company: cfg.companies.find((c) => c.id === s.companyId)?.company })),
  }));

export type PosConfig = z.infer<typeof PosConfigSchema>;
export type StoreConfig = PosConfig['stores'][number];

function formatIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((i) => `${prefix}${i.path.length ? i.path.join('.') : ''}: ${i.message}`)
    .join('; ');
}

export function loadEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) throw new ConfigError(`invalid environment: ${formatIssues(parsed.error, '')}`);
  return parsed.data;
}

export function parsePosConfig(text: string, format: 'yaml' | 'json', source = 'POS_CONFIG'): PosConfig {
  let raw: unknown;
  try {
    raw = format === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${source}: not valid ${format.toUpperCase()}: ${(e as Error).message}`);
  }
  const parsed = PosConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${source}: ${formatIssues(parsed.error, '')}`);
  return parsed.data;
}

export function loadPosConfig(path: string): PosConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`POS_CONFIG: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parsePosConfig(text, extname(path) === '.json' ? 'json' : 'yaml', `POS_CONFIG (${path})`);
}

/** A company's secrets, read from the environment variables its POS_CONFIG entry names. */
export interface CompanyCredentials {
  atol?: { login: string; password: string; groupCode: string };
  ferma?: { login: string; password: string };
  evotor?: { token: string };
}

type CredentialSystem = keyof CompanyCredentials;

/**
 * Reads every company's secrets from the environment. A variable that is unset or empty stops the start with
 * a message naming the variable and the company (never a value). `placeholder` may stand in for systems that
 * are simulated (sandbox: npm start), where any value works as long as the simulator is told the same.
 */
export function resolveCompanyCredentials(
  config: PosConfig,
  env: NodeJS.ProcessEnv = process.env,
  placeholder?: (system: CredentialSystem, company: string, field: string) => string | undefined,
): Map<string, CompanyCredentials> {
  const out = new Map<string, CompanyCredentials>();
  for (const c of config.companies) {
    const read = (system: CredentialSystem, field: string, variable: string): string => {
      const value = env[variable];
      if (value !== undefined && value !== '') return value;
      const stand = placeholder?.(system, c.id, field);
      if (stand !== undefined) return stand;
      throw new ConfigError(`environment variable ${variable} is not set (companies.${c.id}.${system}.${field} of company "${c.id}" names it)`);
    };
    const creds: CompanyCredentials = {};
    if (c.atol) creds.atol = { login: read('atol', 'loginEnv', c.atol.loginEnv), password: read('atol', 'passwordEnv', c.atol.passwordEnv), groupCode: read('atol', 'groupCodeEnv', c.atol.groupCodeEnv) };
    if (c.ferma) creds.ferma = { login: read('ferma', 'loginEnv', c.ferma.loginEnv), password: read('ferma', 'passwordEnv', c.ferma.passwordEnv) };
    if (c.evotor) creds.evotor = { token: read('evotor', 'tokenEnv', c.evotor.tokenEnv) };
    out.set(c.id, creds);
  }
  return out;
}

/** "72h" → milliseconds. */
export function durationMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new ConfigError(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** The reconciliation report archive's folder: REPORTS_DIR, or DATA_DIR/reports. */
export function reportsDirOf(env: EnvConfig): string {
  return env.REPORTS_DIR ?? `${env.DATA_DIR.replace(/\/$/, '')}/reports`;
}

/** Outside systems not configured by URL are replaced by the built-in simulators (sandbox only). */
export function missingOutsideSystems(env: EnvConfig): string[] {
  const missing: string[] = [];
  if (!env.BITRIX_REST_URL) missing.push('bitrix');
  if (!env.EVOTOR_API_URL) missing.push('evotor');
  if (!env.ATOL_API_URL) missing.push('atol');
  if (!env.FERMA_API_URL) missing.push('ferma');
  return missing;
}
