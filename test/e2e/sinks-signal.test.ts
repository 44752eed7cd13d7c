/**
 * SIGUSR1 as logrotate sends it: `portcullis start` in a child process (the
 * signal goes to that process only), its access records in a file sink; the
 * file is renamed, SIGUSR1 sent, and the next records land in a new file at
 * the same path, none lost.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { send, writeConfig } from '../helpers/gateway.js';
import { echo, startUpstream } from '../helpers/upstream.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until(check: () => boolean, what: () => string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('file sinks and SIGUSR1', () => {
  it('reopens the file sink on SIGUSR1 after the file was renamed, losing no record', async () => {
    const upstream = await startUpstream(echo);
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-sigusr1-'));
    const log = join(dir, 'access.log');
    const port = await freePort();
    const file = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
telemetry:
  access_log:
    sinks:
      - { kind: file, path: ${log}, batch: { max_records: 1, interval: 10ms } }
`);
    const gateway = startCli(['start', '-c', file]);
    try {
      await gateway.waitFor(`portcullis listening on http://127.0.0.1:${port} (main)`, 60_000);
      const base = `http://127.0.0.1:${port}`;
      const ids = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { request_id: string }).request_id) : []);
      const before = (await send(base, '/before')).headers['x-request-id'] as string;
      await until(() => ids(log).includes(before), () => readFileSync(log, 'utf8'));
      renameSync(log, `${log}.1`);
      gateway.child.kill('SIGUSR1');
      const afterId = (await send(base, '/after')).headers['x-request-id'] as string;
      await until(() => ids(log).includes(afterId), () => `${existsSync(log) ? readFileSync(log, 'utf8') : 'no new file'}\n${gateway.output()}`);
      assert.deepEqual(ids(`${log}.1`), [before]);
      assert.deepEqual(ids(log), [afterId]);
      assert.doesNotMatch(gateway.output(), /"type":"access"/, 'no access line on stdout: the file sink replaced it');
    } finally {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
      await upstream.close();
    }
  });
});
