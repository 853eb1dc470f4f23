/**
 * Replaces every occurrence of known secret strings (the plaintext credentials of a run) with
 * `[REDACTED]`, deep inside any JSON-like value. Used on everything a function run produces
 * before it reaches the log or a logger: error messages, HTTP bodies, log lines.
 */
export type Redactor = <T>(value: T) => T;

export const REDACTED = '[REDACTED]';

/** Collects the secret strings of a credentials object (every string value but `type`). */
export function secretsOf(credentials: Record<string, unknown>): string[] {
  const secrets = Object.entries(credentials)
    .filter(([key, value]) => key !== 'type' && typeof value === 'string' && value.length >= 4)
    .map(([, value]) => value as string);
  if (credentials.type === 'BASIC') {
    // What a Basic `Authorization` header carries, should a function echo it.
    secrets.push(Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64'));
  }
  return secrets;
}

/** The forms a secret takes on the wire: as is, percent-encoded, and form-encoded. */
function encodings(secret: string): string[] {
  return [secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)];
}

export function createRedactor(secrets: readonly string[]): Redactor {
  const list = [...new Set(secrets.filter((s) => s.length > 0).flatMap(encodings))].sort((a, b) => b.length - a.length);
  const redactString = (text: string): string => {
    let out = text;
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };
  const walk = (value: unknown, seen: WeakSet<object>): unknown => {
    if (typeof value === 'string') return redactString(value);
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    if (Array.isArray(value)) return value.map((item) => walk(item, seen));
    if (value instanceof Error) return redactString(`${value.name}: ${value.message}`);
    if (Buffer.isBuffer(value)) return redactString(value.toString('utf8'));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactString(k), walk(v, seen)]));
  };
  return <T>(value: T): T => (list.length === 0 ? value : (walk(value, new WeakSet()) as T));
}
