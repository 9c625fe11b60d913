import { SimulatorError } from './errors';

/**
 * Injected faults of the Evotor simulator's cloud and push calls (not of /_admin). Like the other
 * simulators of the project: latency, 5xx errors, timeouts (the request hangs, nothing is applied) and
 * apply-then-lose (the call is applied, then the connection is cut before the answer goes out).
 */
export interface Faults {
  /** Added to every affected call. */
  latencyMs: number;
  /** 0..1: share of affected calls that fail with errorStatus, not applied. */
  errorRate: number;
  errorStatus: number;
  /** The next N affected calls fail with errorStatus (deterministic). */
  failNext: number;
  /** 0..1: share of affected calls that hang without being applied. */
  timeoutRate: number;
  /** The next N affected calls hang without being applied. */
  timeoutNext: number;
  /**
   * How long a hanging call hangs before it is answered 504 (still not applied). 0 = it never answers:
   * it hangs until the client gives up (or the simulator closes).
   */
  hangMs: number;
  /** 0..1: share of affected calls that are applied and then lose their answer (the socket is destroyed). */
  applyThenLoseRate: number;
  /** The next N affected calls are applied and then lose their answer. */
  applyThenLoseNext: number;
  /**
   * Limit the faults (latency included) to calls whose path starts with this pattern; `*` stands for one
   * path segment or part of one: '/apps/' (the push API), '/apps/*\/push-notifications', '/stores'.
   */
  path?: string;
  /** Limit the faults to one HTTP method ('POST' with path '/apps/' = push creation only). */
  method?: string;
}

/** What setFaults and POST /_admin/faults take: any subset; null clears the scope (path, method). */
export type FaultsPatch = Partial<Omit<Faults, 'path' | 'method'>> & { path?: string | null; method?: string | null };

export type FaultKind = 'error' | 'timeout' | 'applyThenLose';

/** How many times each fault struck since start or reset. */
export interface FaultCounts {
  error: number;
  timeout: number;
  applyThenLose: number;
}

export function noFaults(): Faults {
  return {
    latencyMs: 0,
    errorRate: 0,
    errorStatus: 503,
    failNext: 0,
    timeoutRate: 0,
    timeoutNext: 0,
    hangMs: 0,
    applyThenLoseRate: 0,
    applyThenLoseNext: 0,
  };
}

export function noFaultCounts(): FaultCounts {
  return { error: 0, timeout: 0, applyThenLose: 0 };
}

const NUMBERS = ['latencyMs', 'errorStatus', 'failNext', 'timeoutNext', 'hangMs', 'applyThenLoseNext'] as const;
const RATES = ['errorRate', 'timeoutRate', 'applyThenLoseRate'] as const;

/** The faults after `patch` (validated: a bad value is a 400 SimulatorError and changes nothing). */
export function patchFaults(current: Faults, patch: unknown): Faults {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw new SimulatorError(400, 'faults: a JSON object');
  const b = patch as Record<string, unknown>;
  const out: Faults = { ...current };
  for (const k of [...NUMBERS, ...RATES]) {
    if (b[k] === undefined) continue;
    const n = typeof b[k] === 'string' && b[k] !== '' ? Number(b[k]) : b[k];
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || ((RATES as readonly string[]).includes(k) && n > 1)) {
      throw new SimulatorError(400, `${k}: not a valid number`);
    }
    if (k === 'errorStatus' && (!Number.isInteger(n) || n < 400 || n > 599)) throw new SimulatorError(400, 'errorStatus: an HTTP error status');
    out[k] = n;
  }
  if ('path' in b) {
    if (b.path === null || b.path === undefined || b.path === '') delete out.path;
    else if (typeof b.path !== 'string' || !b.path.startsWith('/')) throw new SimulatorError(400, "path: a path pattern starting with '/'");
    else out.path = b.path;
  }
  if ('method' in b) {
    if (b.method === null || b.method === undefined || b.method === '') delete out.method;
    else if (typeof b.method !== 'string' || !/^[A-Za-z]+$/.test(b.method)) throw new SimulatorError(400, 'method: an HTTP method');
    else out.method = b.method.toUpperCase();
  }
  return out;
}

/** Whether a call is in the faults' scope (path prefix pattern and method). */
export function inScope(f: Faults, method: string, path: string): boolean {
  if (f.method && f.method !== method.toUpperCase()) return false;
  return !f.path || pathPattern(f.path).test(path);
}

/**
 * Which fault strikes this call, counters (…Next) first, then rates; timeout before error before
 * apply-then-lose, as in the Bitrix simulator. Decrements the counter it uses.
 */
export function pickFault(f: Faults, random: () => number): FaultKind | undefined {
  const hit = (next: 'timeoutNext' | 'failNext' | 'applyThenLoseNext', rate: number): boolean => {
    if (f[next] > 0) {
      f[next]--;
      return true;
    }
    return rate > 0 && random() < rate;
  };
  if (hit('timeoutNext', f.timeoutRate)) return 'timeout';
  if (hit('failNext', f.errorRate)) return 'error';
  if (hit('applyThenLoseNext', f.applyThenLoseRate)) return 'applyThenLose';
  return undefined;
}

const patterns = new Map<string, RegExp>();

function pathPattern(p: string): RegExp {
  let re = patterns.get(p);
  if (!re) {
    re = new RegExp('^' + p.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'));
    patterns.set(p, re);
  }
  return re;
}
