import { request } from 'undici';

/** One scrape of a Prometheus text endpoint. */
export async function scrape(url: string): Promise<string> {
  const res = await request(url);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}`);
  return text;
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[l[1]!] = l[2]!;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

/** Whether any sample of `name` is present. */
export function has(text: string, name: string): boolean {
  return text.split('\n').some((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}
