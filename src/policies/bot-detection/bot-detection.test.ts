import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';

describe('bot-detection through the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: site
    service: echo
    public: true
    policies:
      - bot-detection: { deny: ["^BadCrawler/"], allow: ["^nuclei .*internal-scan-team$"], block_empty: true }
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const as = (agent: string) => ({ headers: { 'user-agent': agent } });

  it('refuses the scanners it knows, whatever the case', async () => {
    for (const agent of ['sqlmap/1.7.2#stable (https://sqlmap.org)', 'Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)', 'Nuclei - Open-source project (github.com/projectdiscovery/nuclei)', 'masscan/1.3 (https://github.com/robertdavidgraham/masscan)', 'WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)']) {
      const res = await send(gw.url, '/', as(agent));
      assert.equal(res.status, 403, agent);
      assert.equal(res.json().error.code, 'client_forbidden');
    }
  });

  it('refuses operator patterns and empty user agents, lets allow patterns and browsers through', async () => {
    assert.equal((await send(gw.url, '/', as('BadCrawler/2.0'))).status, 403);
    assert.equal((await send(gw.url, '/', as('nuclei v3 internal-scan-team'))).status, 200);
    assert.equal((await send(gw.url, '/', as('Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0'))).status, 200);
    assert.equal((await send(gw.url, '/', as('curl/8.5.0'))).status, 200);
    assert.equal((await send(gw.url, '/', { headers: { 'user-agent': '' } })).status, 403);
  });

  it('refuses a pattern RE2 cannot compile at load, naming it', async () => {
    await assert.rejects(
      startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: echo, public: true, policies: [{ bot-detection: { deny: ["(a+)\\\\1"] } }] }]
`),
      /routes\[0\]\.policies\[0\]\.bot-detection\.deny\[0\]: invalid regular expression/,
    );
  });
});
