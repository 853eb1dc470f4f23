import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * A provider on loopback that misbehaves on demand, for the HTTP client's tests.
 *
 * @example
 * const fake = await startFakeProvider();
 * fake.script('GET /flaky', { status: 503 }, { json: { ok: true } }); // 503, then 200 forever
 * fake.route('POST /webhooks', (req) => ({ status: 201, json: { id: 'wh-1', url: req.json?.url } }));
 */
export type Step =
  | {
      status?: number;
      headers?: Record<string, string | string[]>;
      json?: unknown;
      body?: string | Buffer;
      /** Send the body gzip-compressed (with `content-encoding: gzip`). */
      gzip?: boolean;
    }
  /** Destroy the socket without answering. */
  | { reset: true }
  /** Wait before sending anything, then answer `then` (default 200 `{ ok: true }`). */
  | { delayMs: number; then?: Step }
  /** Send headers and `firstChunk`, stall `stallMs`, then finish. */
  | { stallBodyMs: number; firstChunk?: string }
  /** A redirect to `location`. */
  | { redirect: string; status?: number }
  /** A JSON-typed body of `hugeBytes` bytes, streamed in chunks (no content-length). */
  | { hugeBytes: number }
  /** `content-type: application/json` with a body that is not JSON. */
  | { invalidJson: true };

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: IncomingMessage['headers'];
  body: string;
  json: any;
  /** The client socket's port: equal ports mean a reused (keep-alive) connection. */
  clientPort: number;
  /** Set when the client went away before the answer was complete. */
  closedEarly: boolean;
}

export interface FakeProvider {
  baseUrl: string;
  origin: string;
  requests: FakeRequest[];
  /** Sockets opened so far. */
  connections(): number;
  /** Queues answers for `'METHOD /path'` (or `'/path'`, any method); the last one repeats. */
  script(route: string, ...steps: Step[]): void;
  route(route: string, handler: (req: FakeRequest) => Step | Promise<Step>): void;
  close(): Promise<void>;
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const requests: FakeRequest[] = [];
  const handlers = new Map<string, (req: FakeRequest) => Step | Promise<Step>>();
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let opened = 0;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const answer = (req: IncomingMessage, res: ServerResponse, step: Step): void => {
    if ('reset' in step) {
      req.socket.destroy();
      return;
    }
    if ('delayMs' in step) {
      later(step.delayMs, () => answer(req, res, step.then ?? { json: { ok: true } }));
      return;
    }
    if ('stallBodyMs' in step) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(step.firstChunk ?? '{"partial":');
      later(step.stallBodyMs, () => res.end('true}'));
      return;
    }
    if ('redirect' in step) {
      res.writeHead(step.status ?? 302, { location: step.redirect });
      res.end();
      return;
    }
    if ('hugeBytes' in step) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < step.hugeBytes && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      res.on('error', () => {});
      pump();
      return;
    }
    if ('invalidJson' in step) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": 1, oops');
      return;
    }
    const headers: Record<string, string | string[]> = { ...(step.headers ?? {}) };
    let body: string | Buffer | undefined = step.body;
    if (step.json !== undefined) {
      body = JSON.stringify(step.json);
      headers['content-type'] ??= 'application/json';
    }
    if (step.gzip && body !== undefined) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    res.writeHead(step.status ?? 200, headers);
    res.end(body);
  };

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const all = url.searchParams.getAll(key);
      query[key] = all.length === 1 ? (all[0] as string) : all;
    }
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      headers: req.headers,
      body,
      json,
      clientPort: req.socket.remotePort ?? 0,
      closedEarly: false,
    };
    res.on('close', () => {
      if (!res.writableFinished) request.closedEarly = true;
    });
    requests.push(request);
    const handler = handlers.get(`${request.method} ${url.pathname}`) ?? handlers.get(url.pathname);
    try {
      answer(req, res, handler ? await handler(request) : { status: 404, json: { error: 'not_found' } });
    } catch (error) {
      answer(req, res, { status: 500, json: { error: String(error) } });
    }
  });
  server.on('connection', (socket) => {
    opened++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    baseUrl: origin,
    origin,
    requests,
    connections: () => opened,
    script(route, ...steps) {
      const queue = [...steps];
      handlers.set(route, () => (queue.length > 1 ? (queue.shift() as Step) : (queue[0] as Step)));
    },
    route(route, handler) {
      handlers.set(route, handler);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
