/**
 * What the engine remembers across requests (memo.ts) must not change what
 * the rules decide: a value found clean for one rule is still judged by every
 * other rule, a request's TX state is not remembered, and the memory is
 * bounded.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CrsTransaction } from './engine.js';
import { RuleSet } from './ruleset.js';
import { ValueMemo } from './memo.js';
import { prefilterFor } from './prefilter.js';

function ruleSet(): RuleSet {
  const set = new RuleSet();
  set.loadText(
    [
      'SecRule ARGS "@rx (?i)<script[^>]*>" "id:1,phase:1,pass,t:none,t:urlDecodeUni,t:htmlEntityDecode,log"',
      'SecRule ARGS "@detectSQLi" "id:2,phase:1,pass,t:none,t:urlDecodeUni,log"',
      'SecRule ARGS "@rx ^[a-z ]+$" "id:3,phase:1,pass,t:none,t:lowercase,log,setvar:tx.words=+1"',
      'SecRule ARGS "!@rx ^[a-z ]+$" "id:4,phase:1,pass,t:none,log"',
      // a TX comparison the single-TX path reads: its answer depends on the request, never remembered
      'SecRule TX:WORDS "@ge 2" "id:5,phase:1,pass,log"',
      'SecRule &TX:WORDS "@eq 0" "id:6,phase:1,pass,log"',
      'SecRule REQUEST_HEADERS|REQUEST_COOKIES|REQUEST_URI "@rx (?i)<script" "id:7,phase:1,pass,t:none,t:lowercase,log"',
    ].join('\n'),
    'memo.conf',
  );
  return set;
}

function run(set: RuleSet, query: string): number[] {
  const tx = new CrsTransaction(set, {
    method: 'GET', target: `/?${query}`, protocol: 'HTTP/1.1', headers: [['Host', 'x']], remoteAddr: '10.0.0.1', remotePort: 1, serverPort: 80, uniqueId: 'u',
  });
  tx.runPhase(1);
  return tx.matches.map((m) => m.id).sort((a, b) => a - b);
}

describe('waf crs: values remembered across requests', () => {
  it('decides every request as a fresh rule set would, whatever came before', () => {
    const warm = ruleSet();
    const queries = [
      'q=blue shoes', 'q=blue shoes&r=red', "q=1' or 1=1--", 'q=%3Cscript%3E', 'q=blue shoes', "q=1' or 1=1--&r=blue shoes",
      'q=%3Cscript%3E&r=blue shoes&s=green', 'q=Blue Shoes', 'q=blue shoes', '', 'q=%3Cscript%3E',
    ];
    // the same requests twice over on one rule set (the memory warm) and each on a rule set of its own (nothing remembered)
    for (const q of [...queries, ...queries]) assert.deepEqual(run(warm, q), run(ruleSet(), q), q);
  });

  it('a value clean for one rule is still matched by another', () => {
    const set = ruleSet();
    assert.deepEqual(run(set, 'q=blue shoes'), [3]);
    // "<script>" is clean for rule 3's regex, remembered; rule 1 still sees it, rule 4 (negated) too
    assert.deepEqual(run(set, 'q=%3Cscript%3E'), [1, 4, 6]);
    assert.deepEqual(run(set, 'q=%3Cscript%3E'), [1, 4, 6]);
    assert.deepEqual(run(set, 'a=one&b=two'), [3, 5]);
  });

  it('keeps no secret: cookies, credential headers and password-like arguments are not remembered', () => {
    const set = ruleSet();
    const tx = new CrsTransaction(set, {
      method: 'GET', target: '/?password=hunter2hunter2&q=blue%20shoes', protocol: 'HTTP/1.1', remoteAddr: '10.0.0.1', remotePort: 1, serverPort: 80, uniqueId: 'u',
      headers: [['Host', 'x'], ['Cookie', 'sid=c00kie-value-1'], ['Authorization', 'Bearer abc.def.ghi']],
    });
    tx.runPhase(1);
    const memo = prefilterFor(set);
    assert.notEqual(memo.valueMemo.get('blue shoes'), undefined, 'a plain value is remembered');
    for (const secret of ['hunter2hunter2', 'c00kie-value-1', 'sid=c00kie-value-1', 'Bearer abc.def.ghi', '/?password=hunter2hunter2&q=blue%20shoes']) {
      assert.equal(memo.valueMemo.get(secret), undefined, secret);
      assert.equal(memo.chainMemo.get(secret), undefined, secret);
      assert.equal(memo.rawMemo.get(secret), undefined, secret);
    }
  });

  it('keeps at most two generations of its bound', () => {
    const memo = new ValueMemo<string>(1000, 100);
    for (let i = 0; i < 1000; i++) memo.set(`value-${i}`, 'x', 1);
    assert.equal(memo.get('value-999'), 'x');
    assert.equal(memo.get('value-0'), undefined);
    memo.set('y'.repeat(101), 'long', 4);
    assert.equal(memo.get('y'.repeat(101)), undefined);
  });
});

describe('red team: the memory stays bounded when remembered values are used again', () => {
  it('an answer that grew in an older generation is counted in full when it is used again', () => {
    // As the engine uses chainMemo: an entry is set small and grows as its transformed forms fill in. Attack: fill
    // entries' forms in one generation, then ask for them again each generation (each is moved to the current one)
    // while fresh values push the generations over. The moved entries were counted by their key alone.
    const max = 1000;
    const memo = new ValueMemo<Map<string, string>>(max, 100, (m) => {
      let n = 0;
      for (const v of m.values()) n += v.length + 16;
      return n;
    });
    const held = (): number => {
      const inner = memo as unknown as { current: Map<string, Map<string, string>>; previous: Map<string, Map<string, string>> };
      let n = 0;
      for (const gen of [inner.current, inner.previous]) for (const [k, m] of gen) {
        n += k.length + 32;
        for (const v of m.values()) n += v.length + 16;
      }
      return n;
    };
    // the attacker sends again every value still remembered (each moved to the current generation), then one new
    // value whose forms fill in (counted as they grow)
    let known: string[] = [];
    let most = 0;
    for (let round = 0; round < 400; round++) {
      known = known.filter((key) => memo.get(key) !== undefined);
      const key = `value-${round}`;
      const forms = new Map<string, string>();
      memo.set(key, forms, 0);
      for (let f = 0; f < 4; f++) {
        forms.set(`t${f}`, 'x'.repeat(80));
        memo.grow(96);
      }
      known.push(key);
      most = Math.max(most, held());
    }
    // two generations of the bound, and the last entry set over it
    assert.ok(most <= 2 * (max + 32 + 4 * 96 + 20), `held ${most} characters for a bound of ${max}`);
  });
});
