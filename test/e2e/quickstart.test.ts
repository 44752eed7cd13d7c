/**
 * The README's promise: `npm start` runs the quick start config with its demo
 * upstream, and the curl lines printed in the README answer as the README
 * says. The test reads both from the README and package.json, so they cannot
 * drift apart unnoticed. Ports are swapped for free ones.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { send, writeConfig } from '../helpers/gateway.js';
import { ROOT, startCli, type RunningCli } from '../helpers/cli.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** The curl lines of the README's quick start, with the status the README promises for each. */
function readmeCurls(): Array<{ url: string; headers: Record<string, string> }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Tests'));
  return [...section.matchAll(/^curl -i (.+)$/gm)].map((m) => {
    const args = m[1]!;
    const headers: Record<string, string> = {};
    for (const h of args.matchAll(/-H '([^:]+): ([^']+)'/g)) headers[h[1]!.toLowerCase()] = h[2]!;
    return { url: /(http:\/\/\S+)/.exec(args)![1]!, headers };
  });
}

describe('README quick start', () => {
  let cli: RunningCli | undefined;
  after(() => {
    cli?.child.kill('SIGTERM');
  });

  it('serves the README curl lines as promised: public 200, protected 401 then 200 with the key', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const start = pkg.scripts.start!.split(' ');
    assert.deepEqual(start.slice(0, 2), ['node', 'dist/cli.js'], 'npm start runs the built CLI');
    const args = start.slice(2);
    const configArg = args[args.indexOf('-c') + 1]!;
    const demoArg = args[args.indexOf('--demo-upstream') + 1]!;
    assert.equal(configArg, 'examples/quickstart.yaml');

    const gatewayPort = await freePort();
    const demoPort = await freePort();
    const demoDefault = demoArg.split(':')[1]!;
    const yaml = readFileSync(join(ROOT, configArg), 'utf8').replaceAll(':8080', `:${gatewayPort}`).replaceAll(`:${demoDefault}`, `:${demoPort}`);
    const file = writeConfig(yaml);
    const swapped = args.map((a) => (a === configArg ? file : a === demoArg ? `127.0.0.1:${demoPort}` : a));
    cli = startCli(swapped);
    await cli.waitFor(`portcullis listening on http://127.0.0.1:${gatewayPort}`);

    const curls = readmeCurls();
    assert.equal(curls.length, 3);
    const statuses: number[] = [];
    for (const curl of curls) {
      const url = new URL(curl.url.replace(':8080', `:${gatewayPort}`));
      const res = await send(url.origin, url.pathname + url.search, { headers: curl.headers });
      statuses.push(res.status);
      if (res.status === 200 && curl.headers['x-api-key']) {
        const body = res.json();
        assert.equal(body.headers['x-consumer-name'], 'alice');
        assert.equal(body.headers['x-api-key'], undefined);
      }
    }
    assert.deepEqual(statuses, [200, 401, 200]);

    // The demo upstream shows every header it receives: a key sent to it directly is there,
    // so its absence behind the gateway means the gateway removed it.
    const direct = await send(`http://127.0.0.1:${demoPort}`, '/api/orders', { headers: { 'x-api-key': 'demo-key-please-change' } });
    assert.equal(direct.json().headers['x-api-key'], 'demo-key-please-change');
  });
});
