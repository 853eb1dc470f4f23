import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * A WebSocket relay on loopback between lifeline (which sends inspection events through
 * `@statelyai/inspect`'s WebSocket inspector) and the Stately inspector UI in your browser (the page
 * at `pageUrl` embeds it and forwards the events). Like `@statelyai/inspect/server`, but bound to
 * 127.0.0.1 only, so machine data never leaves the machine except to your own browser.
 *
 * @example
 * const relay = await startInspectorRelay({ port: 8080 });
 * const inspector = createWebSocketInspector({ url: relay.url });
 */
export interface InspectorRelay {
  /** Where inspectors and receivers connect: `ws://127.0.0.1:<port>`. */
  url: string;
  /** The page that shows the Stately inspector UI fed by this relay. */
  pageUrl: string;
  close(): Promise<void>;
}

export const DEFAULT_INSPECTOR_UI = 'https://stately.ai/inspect';

function bridgePage(wsUrl: string, uiUrl: string): string {
  return `<!DOCTYPE html>
<html><head><title>lifeline — Stately inspector</title>
<style>*{margin:0;padding:0}html,body{height:100%}iframe{width:100%;height:100%;border:none}</style></head>
<body><iframe id="inspector" src="${uiUrl}"></iframe>
<script>
  const iframe = document.getElementById('inspector');
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.data && e.data.type === '@statelyai.connected') {
      connected = true;
      for (const event of buffer.splice(0)) iframe.contentWindow.postMessage(event, '*');
    }
  });
  const ws = new WebSocket(${JSON.stringify(wsUrl)});
  ws.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (connected) iframe.contentWindow.postMessage(data, '*'); else buffer.push(data);
  };
</script></body></html>`;
}

export async function startInspectorRelay(options: { port?: number; uiUrl?: string } = {}): Promise<InspectorRelay> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const recent: string[] = [];
  wss.on('connection', (socket) => {
    for (const message of recent) socket.send(message);
    socket.on('message', (data) => {
      const message = data.toString();
      recent.push(message);
      if (recent.length > 1000) recent.shift();
      for (const client of wss.clients)
        if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = http.address() as AddressInfo;
  const url = `ws://127.0.0.1:${port}`;
  const page = bridgePage(url, options.uiUrl ?? DEFAULT_INSPECTOR_UI);
  http.on('request', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  return {
    url,
    pageUrl: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        http.close(() => resolve());
      }),
  };
}
