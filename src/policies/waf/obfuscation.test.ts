/**
 * Classic obfuscations that passed at paranoia 1 (issue 10 item 8), each
 * blocked with the rule that names what it is, in the query and in a JSON
 * body; and the benign look-alikes of each new detection, which must pass.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import waf from './index.js';
import { compilePolicy, decide, requestContext, type FakeRequest } from '../../../test/helpers/policy.js';

const p1 = compilePolicy(waf, {});

const inQuery = (value: string): FakeRequest => ({ path: '/search', query: `q=${encodeURIComponent(value)}` });
const inJson = (value: string): FakeRequest => ({
  method: 'POST',
  path: '/notes',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ text: value }),
});

async function ruleFor(request: FakeRequest): Promise<string | undefined> {
  const result = await decide(p1, requestContext(request));
  return result ? String(result.event?.data?.rule) : undefined;
}

const ATTACKS: ReadonlyArray<readonly [string, string]> = [
  // ${PATH:0:1} is "/": substring expansion builds the characters a filter looks for
  [';${PATH:0:1}bin${PATH:0:1}id', 'rce.shell-evasion'],
  [';cat ${HOME:0:1}etc${HOME:0:1}passwd', 'rce.shell-evasion'],
  // globs the shell expands to /bin/cat and /etc/passwd
  ['; /???/c?t /???/p??s??', 'rce.unix-command'],
  ['| /b?n/w*ami', 'rce.unix-command'],
  ['; /usr/b??/i?', 'rce.unix-command'],
  // ANSI-C quoting spells the command in escapes
  ["; X=$'\\x69\\x64';$X", 'rce.shell-evasion'],
  ["; $'\\151\\144'", 'rce.shell-evasion'],
  // $0 is the shell itself
  ['; $0 -c id', 'rce.unix-command'],
  ['| ${0} -c "id"', 'rce.unix-command'],
  ['; $SHELL -i', 'rce.unix-command'],
  // a drive path is a shell argument, after a lone "&" too
  ['& dir c:\\', 'rce.windows-command'],
  ['& type c:\\data\\secret.txt', 'rce.windows-command'],
  // a global function reached by a string expression
  ["top['al'+'ert'](1)", 'xss.js-sink'],
  ['parent["pro"+"mpt"](1)', 'xss.js-sink'],
  ['self[`con`+`firm`]`1`', 'xss.js-sink'],
  // IIS %uXXXX with look-alike slashes (U+2215 DIVISION SLASH) that best-fit folding reads as "/"
  ['%u002e%u002e%u2215etc%u2215passwd', 'lfi.traversal'],
  ['..\u2215..\u2215..\u2215windows\u2215win.ini', 'lfi.traversal'],
  ['\u2024\u2024/\u2024\u2024/app/config.yml', 'lfi.traversal'],
];

/** Each new detection's nearest ordinary text. */
const BENIGN: readonly string[] = [
  'Shipping: $0; $0 fees for members',
  'Subtotal $10; $0 - discount applied',
  'server.port=${PORT:8080}',
  'spring: ${db.url:jdbc:h2:mem}',
  'Use ${name} and ${count:5} in the template',
  'see /docs/*.md; /api/v?/users for the routes',
  'what? /home/me/notes?',
  'see; /api/items?id=1 for one item',
  "It's $'5 and it's fine",
  'Q&A: dir c and d',
  'R&D dir: shared',
  "window['title'] = 'x'",
  "config['top'] (see below)",
  'top[1](2)',
  'the ratio 1\u22152 or 3\u20444',
  'Chapter 1\u2024 Introduction',
];

describe('waf: classic obfuscations are blocked at paranoia 1', () => {
  for (const [payload, rule] of ATTACKS) {
    it(`${JSON.stringify(payload)} → ${rule}`, async () => {
      assert.equal(await ruleFor(inQuery(payload)), rule, 'in the query');
      assert.equal(await ruleFor(inJson(payload)), rule, 'in a JSON body');
    });
  }

  it('their benign look-alikes pass', async () => {
    const blocked: string[] = [];
    for (const text of BENIGN) {
      const rule = (await ruleFor(inQuery(text))) ?? (await ruleFor(inJson(text)));
      if (rule) blocked.push(`${JSON.stringify(text)}: ${rule}`);
    }
    assert.deepEqual(blocked, []);
  });
});
