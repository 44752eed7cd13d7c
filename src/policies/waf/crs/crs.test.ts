/**
 * The CRS engine as a user meets it: rule files refused with file and line,
 * CRS refusing attacks over a real gateway with one waf.rule event per match,
 * exclusions mapped onto CRS's, bodies it cannot read refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RuleSet, SecLangError } from './index.js';
import { CrsTransaction } from './engine.js';
import { send, startGateway, type TestGateway } from '../../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../../test/helpers/upstream.js';
import type { TelemetryEvent } from '../../../telemetry/event.js';

function refused(text: string): string {
  const set = new RuleSet();
  try {
    set.loadText(text, 'custom.conf');
  } catch (e) {
    assert.ok(e instanceof SecLangError, String(e));
    return e.message;
  }
  assert.fail('the rule file was accepted');
}

describe('waf crs: rule files', () => {
  it('refuses an unknown directive, operator, variable, action or transformation with file and line', () => {
    assert.match(refused('SecRuleEngine On\nSecFrobnicate On\n'), /^custom\.conf:2: unknown directive SecFrobnicate/);
    assert.match(refused('\n\nSecRule ARGS "@nope x" "id:1,phase:2,pass"'), /^custom\.conf:3: unknown operator @nope/);
    assert.match(refused('SecRule ARGZ "@rx x" "id:1,phase:2,pass"'), /^custom\.conf:1: unknown variable ARGZ/);
    assert.match(refused('SecRule ARGS "@rx x" \\\n  "id:1,phase:2,frob"'), /^custom\.conf:1: unknown action frob/);
    assert.match(refused('SecRule ARGS "@rx x" "id:1,phase:2,t:rot13"'), /^custom\.conf:1: unknown transformation t:rot13/);
    assert.match(refused('SecRule ARGS "@rx (?<=a)b" "id:1,phase:2,pass"'), /^custom\.conf:1: regex does not compile on RE2/);
    assert.match(refused('SecRule ARGS "@rx x" "id:1,phase:2,exec:/bin/sh"'), /not supported/);
  });

  it('runs chains, captures, setvar macros and skipAfter the way CRS relies on them', () => {
    const set = new RuleSet();
    set.loadText(
      `SecAction "id:1,phase:1,pass,nolog,setvar:tx.limit=3,setvar:tx.score=0"
SecRule ARGS:n "@rx ^(\\d+)$" "id:2,phase:1,pass,log,capture,msg:'n is %{tx.1}',chain"
  SecRule TX:1 "@gt %{tx.limit}" "setvar:tx.score=+5"
SecRule TX:score "@lt 5" "id:3,phase:1,pass,nolog,skipAfter:END"
SecRule ARGS "@rx ." "id:4,phase:1,pass,log,msg:'not skipped'"
SecMarker END`,
      'chain.conf',
    );
    const run = (target: string): CrsTransaction => {
      const tx = new CrsTransaction(set, { method: 'GET', target, protocol: 'HTTP/1.1', headers: [['Host', 'x']], remoteAddr: '10.0.0.1', remotePort: 1, serverPort: 80, uniqueId: 'u' });
      tx.runPhase(1);
      return tx;
    };
    const high = run('/?n=9');
    assert.deepEqual(high.matches.map((m) => [m.id, m.msg, m.variable]), [[2, 'n is 9', 'ARGS:n'], [4, 'not skipped', 'ARGS:n']]);
    assert.equal(high.vars.get('score'), '5');
    assert.deepEqual(run('/?n=2').matches.map((m) => m.id), []);
  });

  it('expands macros as written: any case, several in one text, unclosed ones left as they are, setvar names with macros', () => {
    const set = new RuleSet();
    set.loadText(
      `SecAction "id:1,phase:1,pass,nolog,setvar:tx.Name=alice,setvar:TX.n=2,setvar:tx.n=+%{TX.N},setvar:'tx.user_%{tx.name}=%{tx.n}'"
SecRule REQUEST_HEADERS:Host "@rx ." "id:2,phase:1,pass,log,msg:'%{tx.name}/%{TX.NAME} n=%{tx.n} %{ %{tx.missing}! %{tx.n'"
SecRule TX:user_alice "@eq %{tx.n}" "id:3,phase:1,pass,log,msg:'rule %{rule.id} on %{request_headers.host}',setvar:tx.n=-1"
SecRule TX:n "@eq 3" "id:4,phase:1,pass,log,msg:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR}'"`,
      'macros.conf',
    );
    const tx = new CrsTransaction(set, { method: 'GET', target: '/', protocol: 'HTTP/1.1', headers: [['Host', 'shop.example']], remoteAddr: '10.0.0.1', remotePort: 1, serverPort: 80, uniqueId: 'u' });
    tx.runPhase(1);
    assert.deepEqual(
      tx.matches.map((m) => [m.id, m.msg]),
      [
        [2, 'alice/alice n=4 %{ ! %{tx.n'],
        [3, 'rule 3 on shop.example'],
        [4, 'TX:n=3'],
      ],
    );
    assert.equal(tx.vars.get('USER_ALICE'), '4');
  });
});

describe('waf crs: over a real gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const events: TelemetryEvent[] = [];
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crs-test-'));
    writeFileSync(join(dir, 'custom.conf'), `SecRule REQUEST_HEADERS:X-Canary "@streq tweety" "id:10500,phase:1,deny,status:403,log,msg:'canary header',tag:'custom'"\n`);
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: r
    service: s
    public: true
    match: { paths: [/] }
    policies:
      - waf:
          engine: crs
          include: ["${dir}/custom.conf"]
          exclusions:
            - { rules: [attack-sqli], targets: ["query:sql_ok"] }
            - { rules: [attack-rce], paths: ["/shell"] }
            - { rules: ["930120"], targets: ["body:exports.*"] }
            - { rules: [attack-lfi], targets: [body], paths: ["/manifests"] }
`);
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('refuses an attack with a waf.crs event and reports each matched rule as waf.rule', async () => {
    events.length = 0;
    const r = await send(gw.url, `/search?q=${encodeURIComponent("1' union select password from users--")}&f=${encodeURIComponent('../../etc/passwd')}`);
    assert.equal(r.status, 403);
    await new Promise((res) => setTimeout(res, 20));
    const refusal = events.find((e) => e.type === 'waf.crs');
    assert.ok(refusal, events.map((e) => e.type).join(','));
    assert.equal(refusal.action, 'blocked');
    const rules = events.filter((e) => e.type === 'waf.rule');
    assert.ok(rules.some((e) => e.details?.rule === '930120' && e.details.target === 'ARGS:f'), JSON.stringify(rules.map((e) => e.details)));
    assert.ok(rules.some((e) => String(e.details?.rule).startsWith('942') && e.details?.target === 'ARGS:q'));
    const one = rules[0]!;
    for (const field of ['rule', 'msg', 'tags', 'rule_paranoia', 'target', 'sample', 'score']) assert.ok(one.details?.[field] !== undefined, `waf.rule lacks ${field}`);
    assert.equal(upstream.seen.length, 0);
  });

  it('lets benign requests through and applies exclusions by target and by path', async () => {
    assert.equal((await send(gw.url, '/search?q=blue+running+shoes&page=2')).status, 200);
    assert.equal((await send(gw.url, `/search?sql_ok=${encodeURIComponent("1' union select password from users--")}`)).status, 200);
    assert.equal((await send(gw.url, `/shell?cmd=${encodeURIComponent(';cat /etc/passwd')}`)).status, 403, 'LFI rules still run on /shell');
    assert.equal((await send(gw.url, `/shell?cmd=${encodeURIComponent('; uname -a')}`)).status, 200);
    assert.equal((await send(gw.url, `/other?cmd=${encodeURIComponent('; uname -a')}`)).status, 403);
  });

  it('excludes a JSON body target by its json.* name, in ARGS and ARGS_NAMES', async () => {
    const post = (doc: unknown) => send(gw.url, '/api', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    // CRS's 930120 reads the key "./package.json" (ARGS_NAMES json.exports../package.json) as an OS file access
    assert.equal((await post({ exports: { './package.json': './package.json' } })).status, 200);
    assert.equal((await post({ other: { './package.json': 'x' } })).status, 403, 'the rule still runs elsewhere');
    // targets: [body] takes a JSON body's arguments (ARGS json.*, which an exclusion of ARGS_POST alone would not)
    const manifest = JSON.stringify({ main: '../../../../lib/index.js' });
    const at = (path: string) => send(gw.url, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: manifest });
    assert.equal((await at('/manifests')).status, 200);
    assert.equal((await at('/api')).status, 403);
  });

  it('runs included SecLang', async () => {
    assert.equal((await send(gw.url, '/', { headers: { 'x-canary': 'tweety' } })).status, 403);
  });

  it('inspects gzip bodies decoded and refuses a body it cannot decode', async () => {
    const attack = JSON.stringify({ q: "1' union select password from users--" });
    const gz = await send(gw.url, '/api', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(attack) });
    assert.equal(gz.status, 403);
    const fake = await send(gw.url, '/api', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: '{"a":1}' });
    assert.equal(fake.status, 403, 'a body declared gzip that is not is refused');
    const zstd = await send(gw.url, '/api', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' }, body: '{"a":1}' });
    assert.equal(zstd.status, 403);
    assert.equal((await send(gw.url, '/api', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })).status, 200);
  });

  it('reads XML bodies without expanding entities', async () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
    const r = await send(gw.url, '/xml', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: xxe });
    assert.equal(r.status, 403);
    events.length = 0;
    const xss = '<r><note>&lt;script&gt;alert(1)&lt;/script&gt;</note></r>';
    const x = await send(gw.url, '/xml', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: xss });
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(x.status, 403, JSON.stringify(events.map((e) => [e.type, e.details?.rule, e.details?.target])));
  });
});
