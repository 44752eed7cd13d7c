/**
 * testssl.sh (the Debian package) against an https listener with default
 * settings: no finding of severity MEDIUM or higher, other than trust in the
 * test CA. A real scan, narrowed to the checks that judge a server's TLS
 * (protocols, ciphers, preferences, forward secrecy, known
 * vulnerabilities, server defaults, HTTP headers) so it runs in about half
 * a minute; its JSON output is what is judged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { makePki } from '../helpers/tls.js';

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

/** Findings that only say the scanner does not trust our test CA. */
const UNTRUSTED_TEST_CA = new Set(['cert_chain_of_trust']);

const SERIOUS = new Set(['MEDIUM', 'HIGH', 'CRITICAL', 'FATAL']);

function runTestssl(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('testssl', args, { env: { ...process.env, TERM: 'dumb' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => reject(new Error(`cannot run testssl (Debian package testssl.sh, see .ci/install): ${err.message}`)));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('testssl.sh scan of an https listener with default settings', () => {
  let gw: TestGateway;
  let findings: Finding[];
  let output: string;

  before(async () => {
    const pki = await makePki('Portcullis Test CA');
    // A year's validity and a CRL distribution point, as a production certificate has.
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'], ttlMs: 365 * 86_400_000, crlUrl: 'http://pki.example/crl.pem', usage: 'server' });
    gw = await startGateway(
      `
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls: { certificates: [{ cert: server.crt, key: server.key }] }
`,
      { dir: pki.dir },
    );
    const json = join(mkdtempSync(join(tmpdir(), 'portcullis-testssl-')), 'scan.json');
    const result = await runTestssl([
      '--quiet', '--color', '0', '--warnings', 'off', '--nodns', 'none', '--ip', '127.0.0.1',
      '--openssl-timeout', '10', '--connect-timeout', '10',
      '--jsonfile', json,
      '-p', '-s', '-P', '-f', '-S', '-U', '-h',
      `https://localhost:${gw.port}/`,
    ]);
    output = result.output;
    findings = JSON.parse(readFileSync(json, 'utf8')) as Finding[];
  });
  after(async () => {
    await gw?.close();
  });

  it('completed a real scan', () => {
    const byId = new Map(findings.map((f) => [f.id, f]));
    assert.ok(findings.length > 50, `only ${findings.length} findings:\n${output}`);
    assert.ok(!findings.some((f) => f.id === 'scanProblem'), output);
    assert.match(byId.get('TLS1_2')?.finding ?? '', /^offered/);
    assert.match(byId.get('TLS1_3')?.finding ?? '', /^offered/);
    for (const old of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.match(byId.get(old)?.finding ?? '', /not offered/, old);
    // testssl 3.0's "average" class is where CBC ciphers fall; "strong" holds the AEAD ones.
    for (const weak of ['cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE']) {
      assert.equal(byId.get(weak)?.finding, 'not offered', weak);
    }
    assert.equal(byId.get('cipher_order')?.finding, 'server', 'the server chooses the cipher');
  });

  it('reports nothing of severity MEDIUM or higher but the untrusted test CA', () => {
    const serious = findings.filter((f) => SERIOUS.has(f.severity) && !UNTRUSTED_TEST_CA.has(f.id));
    assert.deepEqual(
      serious.map((f) => `${f.severity} ${f.id}: ${f.finding}`),
      [],
    );
  });
});
