/**
 * PHP's view of a query string, as Bitrix gets it from `$_REQUEST`: `a[b][0]=x` nests, `a[]=x` appends,
 * and an array whose keys are exactly 0..n-1 comes out as a list (what json_encode would print).
 * Kept apart from the client's encoder on purpose: the simulator must not share wire code with the client.
 */
export type PhpValue = string | PhpValue[] | { [key: string]: PhpValue };

type Node = Map<string, Node | string>;

export function parsePhpQuery(query: string): Record<string, PhpValue> {
  const root: Node = new Map();
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const path = splitKey(rawKey);
    if (!path) continue;
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const last = i === path.length - 1;
      const key = path[i] === '' ? String(nextIndex(node)) : path[i]!;
      if (last) {
        node.set(key, value);
      } else {
        let child = node.get(key);
        if (!(child instanceof Map)) {
          child = new Map();
          node.set(key, child);
        }
        node = child;
      }
    }
  }
  return toPlain(root) as Record<string, PhpValue>;
}

/** Renders nested values as PHP would send them in a form: bracket keys, every value a string. */
export function buildPhpQuery(params: Record<string, unknown>): string {
  const parts: string[] = [];
  const add = (key: string, value: unknown): void => {
    if (value === null || value === undefined) return;
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value as object)) add(`${key}[${encodeURIComponent(k)}]`, v);
    } else {
      parts.push(`${key}=${encodeURIComponent(String(value))}`);
    }
  };
  for (const [k, v] of Object.entries(params)) add(encodeURIComponent(k), v);
  return parts.join('&');
}

function decode(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** "a[b][]" → ["a", "b", ""]; a name without a closing bracket is taken literally, as PHP does. */
function splitKey(key: string): string[] | null {
  const open = key.indexOf('[');
  if (open <= 0) return key ? [key] : null;
  const path = [key.slice(0, open)];
  const rest = key.slice(open);
  const re = /\[([^\]]*)\]/g;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest)) && m.index === consumed) {
    path.push(m[1]!);
    consumed = re.lastIndex;
  }
  if (path.length === 1) return [key];
  return path;
}

function nextIndex(node: Node): number {
  let max = -1;
  for (const k of node.keys()) if (/^\d+$/.test(k)) max = Math.max(max, Number(k));
  return max + 1;
}

function toPlain(node: Node): PhpValue {
  const keys = [...node.keys()];
  const values = [...node.values()].map((v) => (v instanceof Map ? toPlain(v) : v));
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return values;
  const out: { [key: string]: PhpValue } = {};
  keys.forEach((k, i) => (out[k] = values[i]!));
  return out;
}
