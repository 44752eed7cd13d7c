/** Starts bench/bare-proxy.ts (the bare Node proxy floor) in its own process. */
import { join } from 'node:path';
import { waitUntilAnswering } from './http-check.js';
import { freePort } from './ports.js';
import type { Started, Supervisor } from './processes.js';

export async function startBareProxy(supervisor: Supervisor, repo: string, upstreamUrl: string): Promise<{ process: Started; url: string }> {
  const port = await freePort();
  const started = supervisor.spawn('bare Node proxy', process.execPath, ['--import', 'tsx', join(repo, 'bench/bare-proxy.ts'), String(port), upstreamUrl], {
    cwd: repo,
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(`${url}/`, started.exited, 'bare Node proxy');
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${started.stderrTail()}`);
  }
  return { process: started, url };
}
