/** A token bucket of `perSec` requests a second (at least one in the bucket); 0 or less = unlimited. */
export function createRateLimit(perSec: number) {
  const capacity = Math.max(1, perSec);
  let bucket = { tokens: capacity, at: Date.now() };
  return {
    take(): boolean {
      if (perSec <= 0) return true;
      const now = Date.now();
      bucket = { tokens: Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSec), at: now };
      // A little slack: a client spacing requests by exactly 1/rate must not trip over timer jitter.
      if (bucket.tokens < 0.95) return false;
      bucket.tokens = Math.max(0, bucket.tokens - 1);
      return true;
    },
    reset(): void {
      bucket = { tokens: capacity, at: Date.now() };
    },
  };
}
