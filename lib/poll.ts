/** Thrown by a probe when waiting longer cannot help (e.g. the process waited for has exited): ends the poll at once. */
export class PollAborted extends Error {}

/**
 * Polls until `probe` returns a value that is not undefined (an error counts as "not yet", except
 * `PollAborted`, which ends the poll); past the deadline it fails naming what it waited for and the last error seen.
 */
export async function pollUntil<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      if (e instanceof PollAborted) throw e;
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
