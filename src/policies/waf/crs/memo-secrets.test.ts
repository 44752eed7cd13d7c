/**
 * Red team (s6): the engine's memory across requests (memo.ts) must keep no credential. A credential-named
 * argument's value is a secret, but the request also carries it still percent-encoded (QUERY_STRING,
 * REQUEST_URI, a urlencoded REQUEST_BODY): `password=hunter2%21` decodes to the secret "hunter2!", and the
 * raw text holding "hunter2%21" does not contain that, so it was remembered, and so were its decoded forms.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CrsTransaction } from './engine.js';
import { RuleSet } from './ruleset.js';
import { prefilterFor } from './prefilter.js';
import { processBody } from './request-body.js';

function ruleSet(): RuleSet {
  const set = new RuleSet();
  set.loadText(
    [
      'SecRule REQUEST_URI|QUERY_STRING|ARGS "@rx (?i)<script" "id:1,phase:1,pass,t:none,t:urlDecodeUni,t:lowercase,log"',
      'SecRule REQUEST_BODY|ARGS "@rx (?i)<script" "id:2,phase:2,pass,t:none,t:urlDecodeUni,t:lowercase,log"',
    ].join('\n'),
    'memo-secrets.conf',
  );
  return set;
}

/** Every key and every remembered transformed form, as text. */
function remembered(set: RuleSet): string {
  const p = prefilterFor(set);
  const parts: string[] = [];
  for (const memo of [p.valueMemo, p.chainMemo, p.rawMemo] as const) {
    const inner = memo as unknown as { current: Map<string, unknown>; previous: Map<string, unknown> };
    for (const gen of [inner.current, inner.previous]) {
      for (const [k, v] of gen) {
        parts.push(k);
        if (v instanceof Map) for (const form of v.values()) parts.push(String(form));
      }
    }
  }
  return parts.join('\n');
}

describe('red team: no percent-encoded credential in the CRS memory', () => {
  it('a password in the query string, percent-encoded', () => {
    const set = ruleSet();
    const tx = new CrsTransaction(set, {
      method: 'GET', target: '/login?user=bob&password=Hunter2%21Hunter2', protocol: 'HTTP/1.1', headers: [['Host', 'x']], remoteAddr: '10.0.0.1', remotePort: 1, serverPort: 80, uniqueId: 'u',
    });
    tx.runPhase(1);
    const text = remembered(set);
    assert.ok(text.includes('bob'), 'plain values are remembered');
    assert.ok(!/hunter2/i.test(text), text);
  });

  it('cookies and credential headers stay out of the memory of raw values (per chain hits, links that did not match)', () => {
    const set = new RuleSet();
    set.loadText(
      [
        // prefiltered, through a chain that changes values holding "%" or "+": asks each raw value for its hits by chain
        'SecRule REQUEST_HEADERS|REQUEST_COOKIES "@rx (?i)<script" "id:1,phase:1,pass,t:none,t:urlDecodeUni,t:lowercase,log"',
        // no literals, pure: a raw value it did not match is remembered as such
        'SecRule REQUEST_HEADERS|REQUEST_COOKIES "@detectXSS" "id:2,phase:1,pass,t:none,t:urlDecodeUni,log"',
      ].join('\n'),
      'memo-raw.conf',
    );
    const headers: [string, string][] = [
      ['Host', 'x'],
      ['User-Agent', 'Plain%2BAgent 1.0'],
      ['Cookie', 'sid=Sekr3tCookie%2Bvalue; theme=dark'],
      ['Authorization', 'Bearer T0kenValue%2Babc'],
    ];
    for (let i = 0; i < 2; i++) {
      const tx = new CrsTransaction(set, { method: 'GET', target: '/', protocol: 'HTTP/1.1', headers, remoteAddr: '10.0.0.1', remotePort: 1, serverPort: 80, uniqueId: 'u' });
      tx.runPhase(1);
      assert.deepEqual(tx.matches, []);
    }
    const inner = prefilterFor(set).rawMemo as unknown as { current: Map<string, unknown> };
    assert.ok(inner.current.has('Plain%2BAgent 1.0'), 'plain raw values are remembered');
    const text = remembered(set);
    assert.ok(!/sekr3t|t0ken/i.test(text), text);
  });

  it('a password in a urlencoded body, percent-encoded', () => {
    const set = ruleSet();
    const tx = new CrsTransaction(set, {
      method: 'POST', target: '/login', protocol: 'HTTP/1.1', headers: [['Host', 'x'], ['Content-Type', 'application/x-www-form-urlencoded']], remoteAddr: '10.0.0.1', remotePort: 1, serverPort: 80, uniqueId: 'u',
    });
    tx.runPhase(1);
    processBody(tx, Buffer.from('user=bob&passwd=s3cr%3Dt%2Bvalue'), 'application/x-www-form-urlencoded', { maxArgs: 100, maxDepth: 10 });
    tx.runPhase(2);
    const text = remembered(set);
    assert.ok(!/s3cr/i.test(text), text);
  });
});
