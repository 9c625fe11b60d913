import { randomUUID } from 'node:crypto';
import { rublesToKopecks, kopecksToRubles } from '../../domain/money';
import { createLogger, type Logger } from '../../lib/logger';
import {
  PAYMENT_SOURCES,
  createTerminal,
  evotorDate,
  openSessionDocument,
  ringReceipt,
  type PaymentSource,
  type SaleLine,
  type Terminal,
  type TerminalDocument,
  type TerminalSpec,
} from './terminal';
import { TerminalOrderPayloadSchema, orderExtras, orderSaleLines } from './terminal-app';
import { StoreCatalog, type ProductInput } from './catalog';
import { WebhookDispatcher, type Delivery } from './webhooks';
import { SimulatorError } from './errors';
import { inScope, noFaultCounts, noFaults, pickFault, type FaultCounts, type FaultKind, type Faults } from './faults';

export { SimulatorError } from './errors';
export type { FaultCounts, FaultKind, Faults, FaultsPatch } from './faults';
export type { ProductInput } from './catalog';

/**
 * The Evotor cloud and its terminals, in memory: stores, devices, cloud documents, push notifications
 * and what the cashiers ring. The HTTP face (cloud REST, publisher API, /_admin) is in simulator.ts.
 */

export interface EvotorSimulatorOptions {
  /** 0 = an ephemeral port. */
  port?: number;
  host?: string;
  /** The cloud API bearer token our client must present. */
  token: string;
  /** Token for the push (publisher) API, when it differs from `token`. */
  publisherToken?: string;
  appId?: string;
  /** The Evotor account ("01-000000000000001") the documents and events belong to. */
  userId?: string;
  webhook?: { url: string; token: string; duplicateRate?: number; timeoutMs?: number; retryDelayMs?: number; maxAttempts?: number };
  /** `products`: the store's catalog at start (and after reset); see ProductInput. */
  stores?: { id: string; name?: string; address?: string; products?: ProductInput[] }[];
  devices?: TerminalSpec[];
  /** Documents (and products) per page of GET /stores/:id/documents (/products); small values make tests page. */
  pageSize?: number;
  /** Requests per window (all cloud and push calls of the token together); false = unlimited. */
  rateLimit?: { limit: number; windowMs: number } | false;
  /** The receipt webhook's top-level `type` (the real value is not confirmed by public docs). */
  webhookEventType?: string;
  now?: () => number;
  random?: () => number;
  logger?: Logger;
}

export interface ReceiptResult {
  id: string;
  type: string;
  number: number;
  deviceId: string;
  storeId: string;
  closeDate: string;
  /** Rubles, "1234.50". */
  totalAmount: string;
  /** Rung offline: not in the cloud yet, no webhook yet. */
  queued: boolean;
  document: Record<string, unknown>;
}

export interface SellInput {
  items: SaleLine[];
  paymentSource?: PaymentSource;
  extras?: Record<string, unknown>;
  /** Rubles actually paid, less than the items add up to. */
  amountOverride?: string | number;
  /** When the sale happened (ms or ISO); default now. */
  at?: number | string;
  /** The terminal's fiscal drive did not print the receipt: the cloud document carries no fiscal data. */
  unprinted?: boolean;
}

export interface PayPushInput {
  pushId?: string;
  paymentSource?: PaymentSource;
  /** Replaces the extras our app would write ({ bitrixOrderId, accountNumber }). */
  extras?: Record<string, unknown>;
  amountOverride?: string | number;
  at?: number | string;
}

export interface PaybackInput {
  baseDocumentId: string;
  /** Lines refunded; default all lines of the sale. */
  items?: SaleLine[];
  extras?: Record<string, unknown>;
  at?: number | string;
}

export interface SimulatorState {
  appId: string;
  userId: string;
  stores: { id: string; name: string; address: string }[];
  devices: {
    id: string;
    name: string;
    storeId: string;
    online: boolean;
    sessionNumber: number;
    fnSerialNumber: string;
    queued: number;
  }[];
  /** Cloud-visible documents, in upload order. */
  documents: Record<string, unknown>[];
  /** Each store's catalog, by store id, products as GET /stores/:id/products shows them. */
  products: Record<string, Record<string, unknown>[]>;
  /** Receipts waiting on offline terminals. */
  queued: { deviceId: string; id: string; type: string; closeDate: string }[];
  pushes: PushView[];
  deliveries: Delivery[];
  webhook: { url?: string; tokenSet: boolean; duplicateRate: number; timeoutMs: number; retryDelayMs: number; maxAttempts: number };
  faults: Faults;
  /** How many times each injected fault struck since start or reset. */
  faultCounts: FaultCounts;
}

interface CloudDocument {
  id: string;
  storeId: string;
  closeMs: number;
  json: Record<string, unknown>;
}

type PushStatus = 'ACCEPTED' | 'DELIVERED' | 'EXPIRED' | 'REJECTED';

interface Push {
  id: string;
  appId: string;
  createdMs: number;
  modifiedMs: number;
  activeTillMs: number;
  payload: unknown;
  details: { deviceId: string; status: PushStatus; sentMs?: number; rejectedMs?: number }[];
}

export interface PushView {
  id: string;
  status: string;
  modified_at: string;
  details: { device_id: string; status: PushStatus; active_till: string; created_at: string; sent_at?: string; rejected_at?: string }[];
  payload: unknown;
}

const DEFAULT_STORE = { id: '20190528-92E7-4012-80D2-C5CDAF90F275', name: 'Пункт выдачи №1', address: 'Москва' };
const DEFAULT_DEVICE: TerminalSpec = { id: '20190528-8698-409A-8002-A0C67CCF7B3F', storeId: DEFAULT_STORE.id, name: 'Касса №1' };
const DEFAULT_APP_ID = '5d5c1f0e-7b1a-4c52-9c3e-6f0b2c1a9e01';

export class EvotorCloud {
  readonly appId: string;
  readonly userId: string;
  readonly dispatcher: WebhookDispatcher;
  readonly rateLimit: FixedWindow | undefined;
  faults: Faults = noFaults();
  faultCounts: FaultCounts = noFaultCounts();
  private stores: { id: string; name: string; address: string }[] = [];
  private terminals = new Map<string, Terminal>();
  private catalogs = new Map<string, StoreCatalog>();
  private documents: CloudDocument[] = [];
  private pushes: Push[] = [];
  /** Every sale rung (uploaded or still queued), for refunds. */
  private readonly sales = new Map<string, NonNullable<TerminalDocument['sale']> & { doc: TerminalDocument }>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: EvotorSimulatorOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger ?? createLogger('evotor-simulator');
    this.appId = opts.appId ?? DEFAULT_APP_ID;
    this.userId = opts.userId ?? '01-000000000000001';
    this.dispatcher = new WebhookDispatcher(opts.webhook ?? {}, { now: this.now, random: this.random, log: this.log });
    this.rateLimit = opts.rateLimit === false ? undefined : new FixedWindow(opts.rateLimit ?? { limit: 1000, windowMs: 1000 }, this.now);
    this.populate();
  }

  get pageSize(): number {
    return Math.max(1, this.opts.pageSize ?? 50);
  }

  /** Back to the state right after start: options' webhook, no faults, fresh terminals and sessions, the options' catalogs. */
  reset(): void {
    this.dispatcher.reset(this.opts.webhook ?? {});
    this.rateLimit?.reset();
    this.faults = noFaults();
    this.faultCounts = noFaultCounts();
    this.documents = [];
    this.pushes = [];
    this.sales.clear();
    this.populate();
  }

  private populate(): void {
    const storeSpecs: { id: string; name?: string; address?: string; products?: ProductInput[] }[] = this.opts.stores ?? [DEFAULT_STORE];
    this.stores = storeSpecs.map((s) => ({ id: s.id, name: s.name ?? s.id, address: s.address ?? '' }));
    this.catalogs = new Map();
    for (const s of storeSpecs) {
      const catalog = new StoreCatalog(s.id, this.userId, this.now);
      if (s.products?.length) {
        try {
          catalog.upsert(s.products);
        } catch (e) {
          throw new Error(`store ${s.id}: ${(e as Error).message}`);
        }
      }
      this.catalogs.set(s.id, catalog);
    }
    const specs = this.opts.devices ?? (this.opts.stores ? [] : [DEFAULT_DEVICE]);
    this.terminals = new Map();
    for (const spec of specs) {
      if (!this.stores.some((s) => s.id === spec.storeId)) throw new Error(`device ${spec.id}: unknown store ${spec.storeId}`);
      const t = createTerminal(spec);
      this.terminals.set(t.id, t);
      this.emit(t, openSessionDocument(t, this.context(this.now())));
    }
  }

  /** Whether the faults (latency included) apply to this call at all. */
  faultsApplyTo(method: string, path: string): boolean {
    return inScope(this.faults, method, path);
  }

  /** The fault that strikes this call, if any (counted; a …Next counter is used up). */
  injectedFault(method: string, path: string): FaultKind | undefined {
    if (!inScope(this.faults, method, path)) return undefined;
    const kind = pickFault(this.faults, this.random);
    if (kind) this.faultCounts[kind]++;
    return kind;
  }

  listStores(): Record<string, unknown>[] {
    return this.stores.map((s) => ({ id: s.id, name: s.name, address: s.address }));
  }

  listDevices(): Record<string, unknown>[] {
    return [...this.terminals.values()].map((t) => ({
      id: t.id,
      name: t.name,
      store_id: t.storeId,
      timezone_offset: t.timezoneOffsetMs,
      imei: t.imei,
      firmware: t.firmware,
    }));
  }

  hasStore(storeId: string): boolean {
    return this.stores.some((s) => s.id === storeId);
  }

  /** close_date in [since, until), ordered by close_date then id; the cursor remembers where it stopped. */
  documentsPage(storeId: string, q: { since?: number; until?: number; types?: string[]; cursor?: string }) {
    let query: DocumentsCursor;
    if (q.cursor !== undefined) {
      query = decodeCursor(q.cursor);
      if (query.store !== storeId) throw new SimulatorError(400, 'cursor belongs to another store');
    } else {
      query = { store: storeId, since: q.since ?? 0, until: q.until, types: q.types?.length ? q.types : undefined };
    }
    const matching = this.documents
      .filter((d) => d.storeId === storeId)
      .filter((d) => d.closeMs >= query.since && (query.until === undefined || d.closeMs < query.until))
      .filter((d) => !query.types || query.types.includes(String(d.json.type)))
      .filter((d) => !query.after || compareKey([d.closeMs, d.id], query.after) > 0)
      .sort((a, b) => compareKey([a.closeMs, a.id], [b.closeMs, b.id]));
    const items = matching.slice(0, this.pageSize);
    const last = items[items.length - 1];
    const more = matching.length > items.length && last;
    return {
      items: items.map((d) => d.json),
      paging: more ? { next_cursor: encodeCursor({ ...query, after: [last.closeMs, last.id] }) } : {},
    };
  }

  getDocument(storeId: string, id: string): Record<string, unknown> | undefined {
    return this.documents.find((d) => d.storeId === storeId && d.id === id)?.json;
  }

  /** Adds products to a store's catalog (a known id replaces that product); answers them as the cloud shows them. */
  addProducts(storeId: string, products: unknown): Record<string, unknown>[] {
    const catalog = this.catalog(storeId);
    return catalog.upsert(products).map((p) => catalog.json(p));
  }

  /** GET /stores/:id/products: ordered by id, pageSize a page, cursor paging as for documents. */
  productsPage(storeId: string, cursor?: string) {
    return this.catalog(storeId).page(cursor, this.pageSize);
  }

  getProduct(storeId: string, id: string): Record<string, unknown> | undefined {
    const catalog = this.catalogs.get(storeId);
    const p = catalog?.get(id);
    return catalog && p ? catalog.json(p) : undefined;
  }

  private catalog(storeId: string): StoreCatalog {
    const c = this.catalogs.get(storeId);
    if (!c) throw new SimulatorError(404, `store ${storeId} not found`, 'NOT_FOUND');
    return c;
  }

  createPush(appId: string, body: unknown): PushView {
    if (appId !== this.appId) throw new SimulatorError(404, `application ${appId} not found`, 'NOT_FOUND');
    const b = (body ?? {}) as { devices?: unknown; payload?: unknown; active_till?: unknown; active_until?: unknown };
    if (!Array.isArray(b.devices) || b.devices.length < 1 || b.devices.length > 100 || !b.devices.every((d) => typeof d === 'string')) {
      throw new SimulatorError(400, 'devices: 1 to 100 device ids');
    }
    if (b.payload === undefined || b.payload === null) throw new SimulatorError(400, 'payload: must not be null');
    const now = this.now();
    // docs/external-apis.md says active_till; the publisher SDK's request model serializes active_until.
    const till = b.active_till ?? b.active_until;
    const activeTillMs = till === undefined ? now + 2 * 24 * 60 * 60 * 1000 : parseInstant(till, 'active_till');
    if (activeTillMs <= now) throw new SimulatorError(400, 'active_till: must be in the future');
    const push: Push = {
      id: randomUUID(),
      appId,
      createdMs: now,
      modifiedMs: now,
      activeTillMs,
      payload: b.payload,
      details: [...new Set(b.devices as string[])].map((deviceId) =>
        this.terminals.has(deviceId) ? { deviceId, status: 'ACCEPTED' } : { deviceId, status: 'REJECTED', rejectedMs: now },
      ),
    };
    this.pushes.push(push);
    const view = this.pushView(push);
    this.deliverPushes();
    return view;
  }

  getPush(appId: string, id: string): PushView | undefined {
    if (appId !== this.appId) return undefined;
    const push = this.pushes.find((p) => p.id === id);
    if (!push) return undefined;
    this.deliverPushes();
    return this.pushView(push);
  }

  /** ACCEPTED → DELIVERED for online terminals, → EXPIRED once active_till has passed. */
  private deliverPushes(): void {
    const now = this.now();
    for (const push of this.pushes) {
      for (const d of push.details) {
        if (d.status !== 'ACCEPTED') continue;
        if (now >= push.activeTillMs) {
          d.status = 'EXPIRED';
          push.modifiedMs = now;
        } else if (this.terminals.get(d.deviceId)?.online) {
          d.status = 'DELIVERED';
          d.sentMs = now;
          push.modifiedMs = now;
        }
      }
    }
  }

  private pushView(p: Push): PushView {
    return {
      id: p.id,
      status: p.details.every((d) => d.status !== 'ACCEPTED') ? 'COMPLETED' : 'ACCEPTED',
      modified_at: evotorDate(p.modifiedMs),
      details: p.details.map((d) => ({
        device_id: d.deviceId,
        status: d.status,
        active_till: evotorDate(p.activeTillMs),
        created_at: evotorDate(p.createdMs),
        ...(d.sentMs !== undefined ? { sent_at: evotorDate(d.sentMs) } : {}),
        ...(d.rejectedMs !== undefined ? { rejected_at: evotorDate(d.rejectedMs) } : {}),
      })),
      payload: p.payload,
    };
  }

  payPush(deviceId: string, input: PayPushInput = {}): ReceiptResult {
    const t = this.terminal(deviceId);
    this.deliverPushes();
    const delivered = this.pushes.filter((p) => p.details.some((d) => d.deviceId === deviceId && d.status === 'DELIVERED'));
    const push = input.pushId ? delivered.find((p) => p.id === input.pushId) : delivered[delivered.length - 1];
    if (!push) {
      throw new SimulatorError(409, input.pushId ? `push ${input.pushId} was not delivered to ${deviceId}` : `no push delivered to ${deviceId}`, 'CONFLICT');
    }
    const parsed = TerminalOrderPayloadSchema.safeParse(push.payload);
    if (!parsed.success) throw new SimulatorError(422, `push ${push.id}: not an order payload: ${parsed.error.issues[0]?.message ?? ''}`, 'UNPROCESSABLE');
    if (parsed.data.currency !== 'RUB') throw new SimulatorError(422, `push ${push.id}: the terminal rings RUB only`, 'UNPROCESSABLE');
    return this.ring(t, {
      type: 'SELL',
      lines: orderSaleLines(parsed.data),
      paymentSource: paymentSource(input.paymentSource),
      extras: input.extras ?? orderExtras(parsed.data),
      amountOverride: optionalKopecks(input.amountOverride),
      at: input.at,
    });
  }

  sell(deviceId: string, input: SellInput): ReceiptResult {
    const t = this.terminal(deviceId);
    if (!Array.isArray(input?.items) || input.items.length === 0) throw new SimulatorError(400, 'items: at least one line');
    return this.ring(t, {
      type: 'SELL',
      lines: input.items,
      paymentSource: paymentSource(input.paymentSource),
      extras: input.extras ?? {},
      amountOverride: optionalKopecks(input.amountOverride),
      at: input.at,
      ...(input.unprinted ? { unprinted: true } : {}),
    });
  }

  payback(deviceId: string, input: PaybackInput): ReceiptResult {
    const t = this.terminal(deviceId);
    const base = this.sales.get(String(input?.baseDocumentId));
    if (!base || base.doc.type !== 'SELL' || base.doc.deviceId !== deviceId) {
      throw new SimulatorError(404, `no sale ${input?.baseDocumentId} on ${deviceId}`, 'NOT_FOUND');
    }
    return this.ring(t, {
      type: 'PAYBACK',
      lines: input.items?.length ? input.items : base.lines,
      paymentSource: base.paymentSource,
      extras: input.extras ?? base.extras,
      base: { id: base.doc.id, number: base.number },
      at: input.at,
    });
  }

  setOffline(deviceId: string): void {
    this.terminal(deviceId).online = false;
  }

  setOnline(deviceId: string): { uploaded: number } {
    const t = this.terminal(deviceId);
    t.online = true;
    const burst = t.queue.splice(0);
    for (const doc of burst) this.upload(doc);
    this.deliverPushes();
    if (burst.length) this.log.info({ deviceId, uploaded: burst.length }, 'terminal back online, queued documents uploaded');
    return { uploaded: burst.length };
  }

  private ring(
    t: Terminal,
    input: Parameters<typeof ringReceipt>[1] & { at?: number | string },
  ): ReceiptResult {
    const closeMs = input.at === undefined ? this.now() : parseInstant(input.at, 'at');
    const catalog = this.catalog(t.storeId);
    let doc: TerminalDocument;
    let created: ReturnType<StoreCatalog['resolve']>['created'];
    try {
      // The terminal sells catalog products: each line with a productId becomes the product of that code.
      const resolved = catalog.resolve(input.lines);
      created = resolved.created;
      doc = ringReceipt(t, { ...input, lines: resolved.lines }, this.context(closeMs));
    } catch (e) {
      if (e instanceof RangeError) throw new SimulatorError(400, e.message);
      throw e;
    }
    // Products the cashier had to create go into the catalog only once the receipt was rung.
    catalog.add(created);
    if (doc.sale) this.sales.set(doc.id, { ...doc.sale, doc });
    const queued = this.emit(t, doc);
    return {
      id: doc.id,
      type: doc.type,
      number: doc.document.number as number,
      deviceId: t.id,
      storeId: t.storeId,
      closeDate: String(doc.document.close_date),
      totalAmount: kopecksToRubles(doc.sale?.total ?? 0),
      queued,
      document: structuredClone(doc.document),
    };
  }

  /** Online: straight to the cloud (and the webhook). Offline: into the terminal's queue. */
  private emit(t: Terminal, doc: TerminalDocument): boolean {
    if (!t.online) {
      t.queue.push(doc);
      return true;
    }
    this.upload(doc);
    return false;
  }

  private upload(doc: TerminalDocument): void {
    const now = this.now();
    doc.document.created_at = evotorDate(now);
    this.documents.push({ id: doc.id, storeId: doc.storeId, closeMs: doc.closeMs, json: doc.document });
    if (doc.webhook) {
      this.dispatcher.send({
        id: randomUUID(),
        timestamp: now,
        userId: this.userId,
        type: this.opts.webhookEventType ?? 'ReceiptCreated',
        version: 2,
        data: doc.webhook,
      });
    }
  }

  private context(closeMs: number) {
    return { userId: this.userId, appId: this.appId, closeMs };
  }

  private terminal(deviceId: string): Terminal {
    const t = this.terminals.get(deviceId);
    if (!t) throw new SimulatorError(404, `no device ${deviceId}`, 'NOT_FOUND');
    return t;
  }

  snapshot(): SimulatorState {
    this.deliverPushes();
    const w = this.dispatcher.config;
    return structuredClone({
      appId: this.appId,
      userId: this.userId,
      stores: this.stores,
      devices: [...this.terminals.values()].map((t) => ({
        id: t.id,
        name: t.name,
        storeId: t.storeId,
        online: t.online,
        sessionNumber: t.session.number,
        fnSerialNumber: t.fiscal.fnSerialNumber,
        queued: t.queue.length,
      })),
      documents: this.documents.map((d) => d.json),
      products: Object.fromEntries([...this.catalogs].map(([id, c]) => [id, c.all()])),
      queued: [...this.terminals.values()].flatMap((t) =>
        t.queue.map((d) => ({ deviceId: t.id, id: d.id, type: d.type, closeDate: evotorDate(d.closeMs) })),
      ),
      pushes: this.pushes.map((p) => this.pushView(p)),
      deliveries: [...this.dispatcher.records],
      webhook: {
        url: w.url,
        tokenSet: !!w.token,
        duplicateRate: w.duplicateRate,
        timeoutMs: w.timeoutMs,
        retryDelayMs: w.retryDelayMs,
        maxAttempts: w.maxAttempts,
      },
      faults: this.faults,
      faultCounts: this.faultCounts,
    });
  }
}

/** Fixed-window limiter; X-RateLimit-Reset is sent as epoch seconds (the real unit is not documented). */
export class FixedWindow {
  private start = 0;
  private used = 0;

  constructor(
    private readonly cfg: { limit: number; windowMs: number },
    private readonly now: () => number,
  ) {}

  reset(): void {
    this.start = 0;
    this.used = 0;
  }

  private roll(): void {
    const now = this.now();
    if (now >= this.start + this.cfg.windowMs) {
      this.start = now;
      this.used = 0;
    }
  }

  /** Counts one request; false when the window is used up. */
  take(): boolean {
    this.roll();
    if (this.used >= this.cfg.limit) return false;
    this.used++;
    return true;
  }

  headers(): { limit: number; remaining: number; resetAtMs: number } {
    this.roll();
    return { limit: this.cfg.limit, remaining: Math.max(0, this.cfg.limit - this.used), resetAtMs: this.start + this.cfg.windowMs };
  }
}

interface DocumentsCursor {
  store: string;
  since: number;
  until?: number;
  types?: string[];
  after?: [number, string];
}

function encodeCursor(c: DocumentsCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(s: string): DocumentsCursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as DocumentsCursor;
    if (typeof c.store !== 'string' || typeof c.since !== 'number') throw new Error('shape');
    return c;
  } catch {
    throw new SimulatorError(400, 'cursor: not a cursor this API issued');
  }
}

function compareKey(a: [number, string], b: [number, string]): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

function parseInstant(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (!Number.isNaN(ms)) return ms;
  }
  throw new SimulatorError(400, `${field}: not a date`);
}

function paymentSource(v: unknown): PaymentSource {
  if (v === undefined) return 'PAY_CARD';
  if (typeof v === 'string' && (PAYMENT_SOURCES as readonly string[]).includes(v)) return v as PaymentSource;
  throw new SimulatorError(400, `paymentSource: one of ${PAYMENT_SOURCES.join(', ')}`);
}

function optionalKopecks(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  try {
    return rublesToKopecks(v, 'amountOverride');
  } catch (e) {
    throw new SimulatorError(400, (e as Error).message);
  }
}
