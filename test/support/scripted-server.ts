import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request a scripted server received; `path` is below its base path. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** An answer to give: a status with a JSON or text body, or no answer at all (socket destroyed, or left hanging). */
export type ScriptedReply = { status: number; json?: unknown; text?: string; headers?: Record<string, string> } | 'destroy' | 'hang';

/**
 * A fake of an outside system for client contract tests: answers each route with the replies queued for it
 * (the last one repeats; 404 when none) and records what the client sent. `matches` says whether a queued
 * route (the string given to `on`) applies to a request.
 */
export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queues = new Map<string, ScriptedReply[]>();
  private server!: Server;
  url = '';

  constructor(
    private readonly basePath: string,
    private readonly matches: (route: string, req: RecordedRequest) => boolean,
  ) {}

  on(route: string, ...replies: ScriptedReply[]): this {
    this.queues.set(route, replies);
    return this;
  }

  calls(route: string): RecordedRequest[] {
    return this.requests.filter((r) => this.matches(route, r));
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.basePath}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const url = new URL(req.url ?? '/', 'http://fake');
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname.startsWith(this.basePath) ? url.pathname.slice(this.basePath.length) : url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: raw ? JSON.parse(raw) : undefined,
    };
    this.requests.push(recorded);
    const route = [...this.queues.keys()].find((k) => this.matches(k, recorded));
    const queue = route ? this.queues.get(route)! : [];
    const reply: ScriptedReply = (queue.length > 1 ? queue.shift() : queue[0]) ?? { status: 404, text: 'not found' };
    if (reply === 'destroy') return void req.socket.destroy();
    if (reply === 'hang') return;
    res.writeHead(reply.status, { 'content-type': reply.json !== undefined ? 'application/json' : 'text/html', ...reply.headers });
    res.end(reply.json !== undefined ? JSON.stringify(reply.json) : reply.text ?? '');
  }
}
