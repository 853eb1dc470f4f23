import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Salesforce on loopback, enough for the seed's functions: `GET /services/oauth2/userinfo`
 * answers the organization of the bearer token, `POST /webhooks` and `DELETE /webhooks/:id`
 * manage webhooks. Used by the demo and the tests.
 */
export interface FakeSalesforce {
  baseUrl: string;
  /** Live webhooks by id, with the organization that created them. */
  webhooks: Map<string, { organizationId: string | null; url: string }>;
  /** Every request seen: method, path, and the bearer token's organization. */
  requests: Array<{ method: string; path: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

/** `tokens` maps each access token to its organization id (`null`: userinfo without one). */
export async function startFakeSalesforce(tokens: Record<string, string | null>): Promise<FakeSalesforce> {
  const webhooks = new Map<string, { organizationId: string | null; url: string }>();
  const requests: FakeSalesforce['requests'] = [];
  let next = 1;

  const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, authorization: req.headers.authorization });
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const token = req.headers.authorization?.replace(/^Bearer /, '');
    if (token === undefined || !(token in tokens)) return send(401, [{ errorCode: 'INVALID_SESSION_ID' }]);
    const organizationId = tokens[token] ?? null;

    if (req.method === 'GET' && url.pathname === '/services/oauth2/userinfo') {
      return send(
        200,
        organizationId ? { organization_id: organizationId, user_id: `user-${token}` } : { user_id: `user-${token}` },
      );
    }
    if (req.method === 'POST' && url.pathname === '/webhooks') {
      const body = await readJson(req);
      const id = `wh-${next++}`;
      webhooks.set(id, { organizationId, url: String(body.url) });
      return send(201, { id, url: body.url, events: body.events });
    }
    const match = /^\/webhooks\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'DELETE' && match) {
      if (!webhooks.delete(match[1] as string)) return send(404, { error: 'not_found' });
      return send(204);
    }
    send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    webhooks,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
