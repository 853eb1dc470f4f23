/**
 * Values on their way into the log must be JSON that PostgreSQL's jsonb accepts, and the same
 * JSON on the live path and on replay. Two tools:
 *
 * - {@link toJsonSafe} turns anything (what a function logged or threw) into such JSON, never
 *   throwing: BigInt → string, cycles → `"[Circular]"`, NUL characters → U+FFFD, Errors →
 *   `"Name: message"`, functions and `undefined` dropped.
 * - {@link jsonProblem} says why a value (metadata someone wants stored) is not such JSON, so the
 *   caller can refuse it with a clear error instead of storing something else.
 *
 * @example
 * toJsonSafe({ n: 10n, s: 'a\u0000b' }); // { n: '10', s: 'a\uFFFDb' }
 * jsonProblem({ a: undefined });          // null (undefined keys are simply not stored)
 */
export function toJsonSafe<T = unknown>(value: unknown): T {
  const seen = new WeakSet<object>();
  const walk = (v: unknown): unknown => {
    switch (typeof v) {
      case 'string':
        return v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v;
      case 'number':
        return Number.isFinite(v) ? v : String(v);
      case 'bigint':
        return v.toString();
      case 'boolean':
        return v;
      case 'undefined':
      case 'function':
      case 'symbol':
        return undefined;
    }
    if (v === null) return null;
    const o = v as object;
    if (seen.has(o)) return '[Circular]';
    if (o instanceof Date) return Number.isNaN(o.getTime()) ? null : o.toISOString();
    if (o instanceof Error) return walk(`${o.name}: ${o.message}`);
    if (Buffer.isBuffer(o)) return walk(o.toString('utf8'));
    seen.add(o);
    try {
      if (Array.isArray(o)) return o.map((item) => walk(item) ?? null);
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(o)) {
        const safe = walk(inner);
        if (safe !== undefined) out[walk(key) as string] = safe;
      }
      return out;
    } finally {
      seen.delete(o);
    }
  };
  return walk(value) as T;
}

/** Why `value` cannot be stored as JSON as it is, or `null` when it can. */
export function jsonProblem(value: unknown, path = '(root)'): string | null {
  const seen = new WeakSet<object>();
  const check = (v: unknown, at: string): string | null => {
    switch (typeof v) {
      case 'string':
        return v.includes('\u0000') ? `${at} contains a NUL character` : null;
      case 'number':
        return Number.isFinite(v) ? null : `${at} is ${v}, which JSON cannot hold`;
      case 'boolean':
      case 'undefined':
        return null;
      case 'bigint':
        return `${at} is a BigInt; store it as a string`;
      case 'function':
      case 'symbol':
        return `${at} is a ${typeof v}`;
    }
    if (v === null) return null;
    const o = v as object;
    if (seen.has(o)) return `${at} refers back to itself`;
    const proto = Object.getPrototypeOf(o);
    if (!Array.isArray(o) && proto !== Object.prototype && proto !== null) {
      return `${at} is a ${o.constructor?.name ?? 'class instance'}, not plain JSON`;
    }
    seen.add(o);
    const entries = Array.isArray(o) ? o.map((x, i) => [String(i), x] as const) : Object.entries(o);
    for (const [key, inner] of entries) {
      if (key.includes('\u0000')) return `a key in ${at} contains a NUL character`;
      const problem = check(inner, at === '(root)' ? key : `${at}.${key}`);
      if (problem) return problem;
    }
    seen.delete(o);
    return null;
  };
  return check(value, path);
}
