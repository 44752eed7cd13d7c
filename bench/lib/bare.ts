/** Starts a Node proxy of the bench (bench/bare-proxy.ts, the floor; bench/fastify-proxy.ts, the peer) in its own process. */
import { join } from 'node:path';
import { waitUntilAnswering } from './http-check.js';
import { freePort } from './ports.js';
import type { Started, Supervisor } from './processes.js';

async function startNodeProxy(
  supervisor: Supervisor,
  repo: string,
  script: string,
  name: string,
  upstreamUrl: string,
  nodeArgs: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<{ process: Started; url: string }> {
  const port = await freePort();
  const started = supervisor.spawn(name, process.execPath, [...nodeArgs, '--import', 'tsx', join(repo, script), String(port), upstreamUrl], {
    cwd: repo,
    env: { ...process.env, NODE_ENV: 'production', ...extraEnv },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(`${url}/`, started.exited, name);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${started.stderrTail()}`);
  }
  return { process: started, url };
}

/**
 * workers > 1: node:cluster workers sharing the port (bench/workers.ts: the floor's own gain from a second core).
 * `nodeArgs`: node's own flags (--max-semi-space-size ...), given the Node proxies when Portcullis gets them, so the ratio stays fair.
 */
export function startBareProxy(supervisor: Supervisor, repo: string, upstreamUrl: string, nodeArgs: readonly string[] = [], workers = 1): Promise<{ process: Started; url: string }> {
  const name = workers > 1 ? `bare Node proxy, ${workers} workers` : 'bare Node proxy';
  return startNodeProxy(supervisor, repo, 'bench/bare-proxy.ts', name, upstreamUrl, nodeArgs, { BARE_PROXY_WORKERS: String(workers) });
}

export function startFastifyProxy(supervisor: Supervisor, repo: string, upstreamUrl: string, nodeArgs: readonly string[] = []): Promise<{ process: Started; url: string }> {
  return startNodeProxy(supervisor, repo, 'bench/fastify-proxy.ts', 'fastify + reply-from', upstreamUrl, nodeArgs);
}
