/** Small helpers the HTTP clients of the outside systems share. */

/** Whether an undici / fetch error is a timeout (connect, headers, body, or an AbortSignal.timeout). */
export function isTimeout(e: unknown): boolean {
  const err = e as { name?: string; code?: string } | undefined;
  return err?.name === 'TimeoutError' || err?.code === 'UND_ERR_HEADERS_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT' || err?.code === 'UND_ERR_CONNECT_TIMEOUT';
}

/** A transport failure in words safe to log and show (the error code, never the URL or body). */
export function transportMessage(e: unknown): string {
  const err = e as { code?: string; name?: string } | undefined;
  return `connection failed (${err?.code ?? err?.name ?? 'unknown'})`;
}

/** `Retry-After` in seconds → milliseconds; undefined when absent or not a number of seconds. */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const seconds = Number(v);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** At most `max` characters of an outside system's text, marked when cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
