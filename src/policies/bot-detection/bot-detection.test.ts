/**
 * bot-detection's decisions, in-process (test/helpers/policy.ts): the
 * User-Agent is all it reads, and how a refusal is written on the wire is
 * the gateway's, tested end to end elsewhere.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import botDetection from './index.js';
import { compilePolicy, decide, requestContext } from '../../../test/helpers/policy.js';
import { startGateway } from '../../../test/helpers/gateway.js';

describe('bot-detection', () => {
  const policy = compilePolicy(botDetection, { deny: ['^BadCrawler/'], allow: ['^nuclei .*internal-scan-team$'], block_empty: true });
  /** The status the gateway would answer with: the refusal's, or 200 when the request goes on. */
  const as = async (agent: string) => {
    const result = await decide(policy, requestContext({ headers: { 'user-agent': agent } }));
    return result ? { status: result.status, code: result.code } : { status: 200, code: undefined };
  };

  it('refuses the scanners it knows, whatever the case', async () => {
    for (const agent of ['sqlmap/1.7.2#stable (https://sqlmap.org)', 'Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)', 'Nuclei - Open-source project (github.com/projectdiscovery/nuclei)', 'masscan/1.3 (https://github.com/robertdavidgraham/masscan)', 'WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)']) {
      const res = await as(agent);
      assert.equal(res.status, 403, agent);
      assert.equal(res.code, 'client_forbidden');
    }
  });

  it('refuses operator patterns and empty user agents, lets allow patterns and browsers through', async () => {
    assert.equal((await as('BadCrawler/2.0')).status, 403);
    assert.equal((await as('nuclei v3 internal-scan-team')).status, 200);
    assert.equal((await as('Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0')).status, 200);
    assert.equal((await as('curl/8.5.0')).status, 200);
    assert.equal((await as('')).status, 403);
  });

  it('refuses a pattern RE2 cannot compile at load, naming it', async () => {
    // Through the gateway's config load, for the path in the message; it fails before any listener opens.
    await assert.rejects(
      startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: echo, public: true, policies: [{ bot-detection: { deny: ["(a+)\\\\1"] } }] }]
`),
      /routes\[0\]\.policies\[0\]\.bot-detection\.deny\[0\]: invalid regular expression/,
    );
  });
});
