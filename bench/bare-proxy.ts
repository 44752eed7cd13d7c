/**
 * The floor PERFORMANCE.md judges Portcullis against, measured beside it:
 * node:http + undici Pool.dispatch() writing straight into the response, no
 * features at all (no routing, auth, headers policy or log).
 * Started by bench/run.ts: node --import tsx bench/bare-proxy.ts PORT UPSTREAM_URL
 * With BARE_PROXY_WORKERS=N (bench/workers.ts) it forks N node:cluster
 * workers sharing the port, the floor's own scaling across cores.
 */
import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);

const [portText, upstream] = process.argv.slice(2);
if (!portText || !upstream) {
  process.stderr.write('usage: bare-proxy.ts PORT UPSTREAM_URL\n');
  process.exit(2);
}

class Forward implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}
  onConnect(): void {}
  onHeaders(status: number, raw: Buffer[], _resume: () => void, statusText: string): boolean {
    const headers: OutgoingHttpHeaders = {};
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toString('latin1').toLowerCase();
      if (!HOP_BY_HOP.has(name)) headers[name] = raw[i + 1]!.toString('latin1');
    }
    this.res.writeHead(status, statusText, headers);
    return true;
  }
  onData(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }
  onComplete(): void {
    this.res.end();
  }
  onError(): void {
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502).end();
  }
}

function serve(): void {
  const pool = new Pool(upstream!, { connections: 256 });
  createServer((req: IncomingMessage, res: ServerResponse) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    pool.dispatch({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers, body: null }, new Forward(res));
  }).listen(Number(portText), '127.0.0.1');
}

const workers = Number(process.env.BARE_PROXY_WORKERS ?? 1);
if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  serve();
}
