/**
 * Starts the bench's servers and leaves them running until Ctrl-C, printing
 * where each listens and its pid: for measuring by hand (strace -c -f -p,
 * perf record -p, valgrind) what `npm run bench` measures for you.
 *   node --import tsx bench/serve.ts [target ...]   (default: node-bare portcullis-public portcullis-chain)
 * Uses dist/ as it is (run `npm run build` first).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBareProxy, startFastifyProxy } from './lib/bare.js';
import { requireTool } from './lib/tools.js';
import { startUpstream } from './lib/nginx.js';
import { API_KEY, API_KEY_HEADER, CHAIN_HEADERS, CHAIN_PATH, startPortcullis, type RouteKind } from './lib/portcullis.js';
import { freePort } from './lib/ports.js';
import { Supervisor } from './lib/processes.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : ['node-bare', 'portcullis-public', 'portcullis-chain'];
const ROUTES: Record<string, RouteKind> = { 'portcullis-public': 'public', portcullis: 'key-auth', 'portcullis-chain': 'chain' };

const supervisor = new Supervisor();
supervisor.installSignalHandlers();
const dir = mkdtempSync(join(tmpdir(), 'portcullis-serve-'));
supervisor.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
const upstream = await startUpstream(supervisor, requireTool('nginx'), join(dir, 'upstream'));
const headers = Object.entries(CHAIN_HEADERS).map(([n, v]) => `-H '${n}: ${v}'`).join(' ');
process.stdout.write(`upstream ${upstream.url} pid ${upstream.process.pid}\nrequest: ${CHAIN_PATH} ${headers}\n`);
for (const name of names) {
  if (name === 'node-bare' || name === 'fastify') {
    const s = await (name === 'node-bare' ? startBareProxy : startFastifyProxy)(supervisor, REPO, upstream.url);
    process.stdout.write(`${name} ${s.url} pid ${s.process.pid}\n`);
    continue;
  }
  const route = ROUTES[name];
  if (!route) throw new Error(`unknown target ${name}`);
  const adminPort = name === 'portcullis-chain' ? await freePort() : undefined;
  const gw = await startPortcullis(supervisor, { repo: REPO, dir: join(dir, name), name, upstreamPort: upstream.port, accessLog: 'file', route, adminPort });
  process.stdout.write(`${name} ${gw.url} pid ${gw.process.pid}${route === 'public' ? '' : ` key: -H '${API_KEY_HEADER}: ${API_KEY}'`}${gw.adminUrl ? ` admin ${gw.adminUrl}` : ''}\n`);
}
process.stdout.write('ready (Ctrl-C stops everything)\n');
