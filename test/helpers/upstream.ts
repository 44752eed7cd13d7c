/** Real upstream HTTP servers on port 0 for the tests. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  bodyBytes: number;
  body: string;
}

export interface TestUpstream {
  server: Server;
  url: string;
  port: number;
  /** Requests this upstream received, in order. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void;

/** Echoes what it received as JSON: method, url, headers, body size. Keeps up to 64 KiB of body text. */
export const echo: UpstreamHandler = (req, res, seen) => {
  const body = JSON.stringify({ method: seen.method, url: seen.url, headers: seen.headers, bodyBytes: seen.bodyBytes, body: seen.body });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream-port': String((req.socket.address() as AddressInfo).port) });
  res.end(body);
};

export async function startUpstream(handler: UpstreamHandler = echo, options: { readBody?: boolean } = {}): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const record: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0, body: '' };
    seen.push(record);
    if (options.readBody === false) {
      handler(req, res, record);
      return;
    }
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
      if (record.body.length < 65536) record.body += chunk.toString();
    });
    req.on('end', () => handler(req, res, record));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
