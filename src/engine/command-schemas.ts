import * as z from 'zod';

/**
 * The commands an app sends, validated with zod before anything is written. A command that does
 * not parse is refused with `invalid_command`.
 */
const jsonObject = z.record(z.string(), z.unknown());

export const credentialsSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('OAUTH2'),
    access_token: z.string().min(1),
    refresh_token: z.string().min(1).optional(),
    expires_at: z.union([z.string(), z.number()]).optional(),
  }),
  z.object({ type: z.literal('API_KEY'), apiKey: z.string().min(1) }),
  z.object({ type: z.literal('BASIC'), username: z.string(), password: z.string() }),
]);

export type Credentials = z.infer<typeof credentialsSchema>;

export const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('CONNECT'),
    integration: z.string().min(1),
    credentials: credentialsSchema,
    connectionConfig: jsonObject.optional(),
    metadata: jsonObject.optional(),
  }),
  z.strictObject({
    type: z.literal('RECONNECT'),
    credentials: credentialsSchema,
    connectionConfig: jsonObject.optional(),
  }),
  z.strictObject({ type: z.literal('REFRESH_FAILED'), message: z.string().optional() }),
  z.strictObject({ type: z.literal('DELETE') }),
]);

/** A command as the app sends it to `engine.send`. */
export type Command = z.infer<typeof commandSchema>;

export const connectionIdSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\s]+$/, 'must not contain white space');

export const metadataSchema = jsonObject;
