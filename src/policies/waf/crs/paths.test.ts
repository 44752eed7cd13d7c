/**
 * `rules_dir` and `include` are read relative to the config file's folder, as
 * certificate paths are: a gateway started from another working directory
 * loads the same rules.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, startGateway, type TestGateway } from '../../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../../test/helpers/upstream.js';

describe('waf crs: rules_dir and include relative to the config file', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crs-paths-'));
    // a rule set of the user's own (small: the test does not compile the whole CRS)
    mkdirSync(join(dir, 'my-rules'));
    writeFileSync(join(dir, 'my-rules', 'REQUEST-900-CANARY.conf'), `SecRule ARGS:q "@streq canary" "id:10601,phase:1,deny,status:403,log,msg:'canary argument'"\n`);
    mkdirSync(join(dir, 'plugins'));
    writeFileSync(join(dir, 'plugins', 'header-before.conf'), `SecRule REQUEST_HEADERS:X-Canary "@streq tweety" "id:10602,phase:1,deny,status:403,log,msg:'canary header'"\n`);
    assert.notEqual(process.cwd(), dir, 'the working directory is not the config folder');
    upstream = await startUpstream();
    gw = await startGateway(
      `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: r
    service: s
    public: true
    match: { paths: [/] }
    policies:
      - waf: { engine: crs, rules_dir: my-rules, include: ["plugins/*-before.conf"] }
`,
      { dir },
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('loads the rules_dir and the include from beside the config file', async () => {
    assert.equal((await send(gw.url, '/?q=hello')).status, 200);
    assert.equal((await send(gw.url, '/?q=canary')).status, 403, 'the rules_dir rule runs');
    assert.equal((await send(gw.url, '/', { headers: { 'x-canary': 'tweety' } })).status, 403, 'the included rule runs');
  });

  it('refuses a rules_dir missing beside the config file, naming where it looked', async () => {
    const result = await gw.reload(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: r
    service: s
    public: true
    match: { paths: [/] }
    policies:
      - waf: { engine: crs, rules_dir: no-such-rules }
`);
    assert.equal(result.ok, false);
    assert.match(JSON.stringify(result), new RegExp(`${join(dir, 'no-such-rules').replace(/[/\\.]/g, '\\$&')} is not a directory`));
    assert.equal((await send(gw.url, '/?q=canary')).status, 403, 'the running rules stay');
  });
});
