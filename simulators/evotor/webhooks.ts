import { request } from 'undici';
import type { Logger } from '../../lib/logger';

/**
 * Delivers receipt webhooks the way Evotor does: POST JSON with `Authorization: Bearer <token>`,
 * at least once — an answer that is not 2xx, or not there within `timeoutMs`, is sent again after
 * `retryDelayMs` (up to `maxAttempts`), and a `duplicateRate` share of acknowledged events is sent
 * a second time anyway.
 */

export interface WebhookSettings {
  url?: string;
  /** The token we gave Evotor; sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** 0..1: share of acknowledged events that are delivered once more. */
  duplicateRate: number;
  /** Evotor waits 10 s for our 200. */
  timeoutMs: number;
  retryDelayMs: number;
  /** Attempts per event before giving up (duplicates not counted). */
  maxAttempts: number;
  /** Deliveries in flight at once. */
  concurrency: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = {
  duplicateRate: 0,
  timeoutMs: 10_000,
  retryDelayMs: 1_000,
  maxAttempts: 5,
  concurrency: 4,
};

export interface DeliveryAttempt {
  at: string;
  /** A resend of an event that was already acknowledged. */
  duplicate: boolean;
  status?: number;
  /** "timeout" or the transport error. */
  error?: string;
  durationMs: number;
}

export interface Delivery {
  eventId: string;
  receiptId: string;
  receiptType: string;
  deviceId: string;
  storeId: string;
  /** pending → delivered | failed; undeliverable when no webhook is configured. */
  state: 'pending' | 'delivered' | 'failed' | 'undeliverable';
  /** How many times the receiver answered 2xx (more than 1 = the receiver saw duplicates). */
  acknowledged: number;
  attempts: DeliveryAttempt[];
}

interface Job {
  delivery: Delivery;
  body: string;
  duplicate: boolean;
}

export class WebhookDispatcher {
  private settings: WebhookSettings;
  private deliveries: Delivery[] = [];
  private readonly queue: Job[] = [];
  private active = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private waiters: (() => void)[] = [];
  /** Bumped by reset(): work started before it must not touch the new state. */
  private generation = 0;

  constructor(
    settings: Partial<WebhookSettings>,
    private readonly deps: { now: () => number; random: () => number; log: Logger },
  ) {
    this.settings = { ...DEFAULT_WEBHOOK_SETTINGS, ...stripUndefined(settings) };
  }

  configure(patch: Partial<WebhookSettings>): void {
    this.settings = { ...this.settings, ...stripUndefined(patch) };
    // `url` present but undefined (the admin API's `url: null`) removes the webhook: nothing is delivered.
    if ('url' in patch && patch.url === undefined) this.settings.url = undefined;
  }

  get config(): Readonly<WebhookSettings> {
    return this.settings;
  }

  get records(): readonly Delivery[] {
    return this.deliveries;
  }

  /** Sends one receipt event, serialized once so that every resend is byte-identical. */
  send(event: { id: string; data: Record<string, unknown>; [key: string]: unknown }): Delivery {
    const delivery: Delivery = {
      eventId: event.id,
      receiptId: String(event.data.id),
      receiptType: String(event.data.type),
      deviceId: String(event.data.deviceId),
      storeId: String(event.data.storeId),
      state: this.settings.url ? 'pending' : 'undeliverable',
      acknowledged: 0,
      attempts: [],
    };
    this.deliveries.push(delivery);
    if (delivery.state === 'pending') {
      this.queue.push({ delivery, body: JSON.stringify(event), duplicate: false });
      this.pump();
    }
    return delivery;
  }

  /** Resolves once nothing is queued, in flight or waiting for a retry. */
  flush(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Forgets every delivery, abandons pending work (in-flight requests are aborted), takes new settings. */
  reset(settings: Partial<WebhookSettings>): void {
    this.settings = { ...DEFAULT_WEBHOOK_SETTINGS, ...stripUndefined(settings) };
    this.generation++;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.inFlight) c.abort();
    this.queue.length = 0;
    this.deliveries = [];
    this.settle();
  }

  private idle(): boolean {
    return this.queue.length === 0 && this.active === 0 && this.timers.size === 0;
  }

  private settle(): void {
    if (!this.idle()) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private pump(): void {
    while (this.active < Math.max(1, this.settings.concurrency) && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const generation = this.generation;
      this.active++;
      void this.attempt(job, generation).finally(() => {
        this.active--;
        this.pump();
        this.settle();
      });
    }
  }

  private async attempt(job: Job, generation: number): Promise<void> {
    const { url, token, timeoutMs } = this.settings;
    if (!url) {
      if (!job.duplicate) job.delivery.state = 'undeliverable';
      return;
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    this.inFlight.add(controller);
    const started = this.deps.now();
    let status: number | undefined;
    let error: string | undefined;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await request(url, { method: 'POST', headers, body: job.body, signal: controller.signal });
      await res.body.dump();
      status = res.statusCode;
    } catch (e) {
      error = timedOut ? 'timeout' : (e as Error).message || String(e);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    if (generation !== this.generation) return;

    const d = job.delivery;
    d.attempts.push({ at: new Date(started).toISOString(), duplicate: job.duplicate, status, error, durationMs: this.deps.now() - started });
    const ok = status !== undefined && status >= 200 && status < 300;
    this.deps.log.debug({ eventId: d.eventId, receiptId: d.receiptId, status, error, duplicate: job.duplicate }, 'evotor webhook attempt');
    if (ok) {
      d.state = 'delivered';
      d.acknowledged++;
      if (!job.duplicate && this.deps.random() < this.settings.duplicateRate) {
        this.queue.push({ ...job, duplicate: true });
      }
      return;
    }
    if (job.duplicate) return;
    const tries = d.attempts.filter((a) => !a.duplicate).length;
    if (tries >= this.settings.maxAttempts) {
      d.state = 'failed';
      this.deps.log.warn({ eventId: d.eventId, receiptId: d.receiptId, tries }, 'evotor webhook given up');
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.queue.push(job);
      this.pump();
      this.settle();
    }, this.settings.retryDelayMs);
    this.timers.add(t);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
