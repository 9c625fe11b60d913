import { request } from 'undici';
import type { Logger } from '../../lib/logger';
import { buildPhpQuery } from './php-query';
import type { BitrixSimState } from './state';

export interface EventDelivery {
  id: number;
  event: string;
  handlerId: number;
  handler: string;
  /** The form-encoded body exactly as sent. */
  body: string;
  at: string;
  ok: boolean;
  status?: number;
  error?: string;
}

export interface PortalIdentity {
  domain: string;
  clientEndpoint: string;
  memberId: string;
}

/**
 * Outbound events as Bitrix sends them: one form-encoded POST per bound handler, sent shortly after
 * the change, and never retried — a failed delivery is recorded here and otherwise lost.
 */
export class EventSender {
  readonly deliveries: EventDelivery[] = [];
  private readonly pending = new Set<Promise<void>>();
  private seq = 0;

  constructor(
    private readonly state: () => BitrixSimState,
    private readonly portal: () => PortalIdentity,
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  emit(event: string, fields: Record<string, string>): void {
    for (const h of this.state().eventHandlers.values()) {
      if (h.event !== event) continue;
      const portal = this.portal();
      const body = buildPhpQuery({
        event,
        event_handler_id: String(h.id),
        data: { FIELDS: fields },
        ts: String(Math.floor(Date.now() / 1000)),
        auth: {
          domain: portal.domain,
          client_endpoint: portal.clientEndpoint,
          server_endpoint: 'https://oauth.bitrix.info/rest/',
          member_id: portal.memberId,
          application_token: h.applicationToken,
        },
      });
      const delivery: EventDelivery = { id: ++this.seq, event, handlerId: h.id, handler: h.handler, body, at: new Date().toISOString(), ok: false };
      this.deliveries.push(delivery);
      const sending = new Promise<void>((r) => setImmediate(r)).then(() => this.send(delivery));
      this.pending.add(sending);
      void sending.finally(() => this.pending.delete(sending));
    }
  }

  /** Resolves when every delivery started so far has an outcome. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  clear(): void {
    this.deliveries.length = 0;
  }

  private async send(d: EventDelivery): Promise<void> {
    try {
      const res = await request(d.handler, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: d.body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      await res.body.dump();
      d.status = res.statusCode;
      d.ok = res.statusCode >= 200 && res.statusCode < 300;
    } catch (e) {
      d.error = (e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e));
    }
    if (!d.ok) this.log.info({ event: d.event, handlerId: d.handlerId, status: d.status, error: d.error }, 'event delivery failed; not retried');
  }
}
