import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { request } from 'undici';

export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
}

export async function postJson<T = Record<string, unknown>>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer<T>> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

export async function postForm<T = Record<string, unknown>>(url: string, form: string, headers: Record<string, string> = {}): Promise<HttpAnswer<T>> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form,
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

export async function getJson<T = Record<string, unknown>>(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer<T>> {
  const res = await request(url, { method: 'GET', headers });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

export interface RecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/**
 * A relay between a simulator and our API that records what passed through, so a test can deliver the
 * very same webhook again, byte for byte, as a redelivering sender would.
 */
export async function startRecordingRelay(target: string): Promise<{ url: string; requests: RecordedRequest[]; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = { ...req.headers };
    delete headers.host;
    delete headers['content-length'];
    const answer = await request(`${target}${req.url}`, { method: req.method as 'POST', headers: headers as Record<string, string>, body });
    const text = await answer.body.text();
    requests.push({ path: req.url ?? '', headers: req.headers, body, status: answer.statusCode });
    res.writeHead(answer.statusCode, { 'content-type': 'application/json' });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
