/**
 * The fields a zod (or compatible) schema rejected, as `path: message; …` — never the values,
 * which may be secrets.
 *
 * @example
 * describeZodIssues(schema.safeParse(input).error); // 'credentials.access_token: Invalid input: expected string'
 */
export function describeZodIssues(error: unknown): string {
  const issues = (error as { issues?: Array<{ path?: PropertyKey[]; message: string }> }).issues;
  if (!Array.isArray(issues)) return String(error);
  return issues.map((i) => `${(i.path ?? []).map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}
