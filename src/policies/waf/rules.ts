/**
 * Every rule the WAF has: a stable id (what exclusions and events name), its
 * category, the paranoia level it starts at, and the anomaly score it adds.
 * Scores follow the OWASP Core Rule Set's severities: critical 5, error 4,
 * warning 3, notice 2. The default threshold is 5, so one critical match
 * blocks and lesser ones must add up.
 */

export type Category = 'sqli' | 'xss' | 'lfi' | 'rfi' | 'rce' | 'ssti' | 'ssrf' | 'ldap' | 'proto' | 'protocol';

export const CATEGORIES: readonly Category[] = ['sqli', 'xss', 'lfi', 'rfi', 'rce', 'ssti', 'ssrf', 'ldap', 'proto', 'protocol'];

export const CATEGORY_NAMES: Readonly<Record<Category, string>> = {
  sqli: 'SQL injection',
  xss: 'cross-site scripting',
  lfi: 'path traversal / local file inclusion',
  rfi: 'remote file inclusion',
  rce: 'OS command injection',
  ssti: 'template or expression injection',
  ssrf: 'server-side request forgery',
  ldap: 'LDAP filter injection',
  proto: 'prototype pollution / object injection',
  protocol: 'malformed request body',
};

export interface Rule {
  readonly id: string;
  readonly category: Category;
  readonly paranoia: 1 | 2;
  readonly score: number;
  readonly description: string;
}

const CRITICAL = 5;
const WARNING = 3;

function rule(id: string, paranoia: 1 | 2, score: number, description: string): Rule {
  const category = id.slice(0, id.indexOf('.')) as Category;
  return { id, category, paranoia, score, description };
}

export const RULES = {
  sqliTokens: rule('sqli.tokens', 1, CRITICAL, 'SQL injection: the value reads as SQL that breaks out of its context'),
  sqliTokensStrict: rule('sqli.tokens-strict', 2, CRITICAL, 'SQL fragment (weaker evidence: boolean tail, full statement, # comment)'),

  xssScriptTag: rule('xss.script-tag', 1, CRITICAL, 'a tag that runs script or loads content (script, iframe, object, svg, ...)'),
  xssEventHandler: rule('xss.event-handler', 1, CRITICAL, 'an HTML event handler attribute (onerror=, onload=, ...)'),
  xssUri: rule('xss.uri', 1, CRITICAL, 'a javascript:, vbscript: or data:text/html URI'),
  xssJsSink: rule('xss.js-sink', 1, CRITICAL, 'JavaScript that reads cookies or runs code (alert(, eval(, document.cookie, ...)'),
  xssCss: rule('xss.css', 1, CRITICAL, 'CSS that runs script (expression(, -moz-binding, behavior:)'),
  xssHtmlTag: rule('xss.html-tag', 2, WARNING, 'an HTML tag'),
  xssHandlerLoose: rule('xss.event-handler-loose', 2, CRITICAL, 'an on...= attribute outside a tag'),
  xssJsCallLoose: rule('xss.js-call-loose', 2, CRITICAL, 'a JavaScript call such as "alert (" with a space'),

  lfiTraversal: rule('lfi.traversal', 1, CRITICAL, 'path traversal (../ or ..\\)'),
  lfiTraversalOne: rule('lfi.traversal-single', 2, CRITICAL, 'a single ../ inside a path'),
  lfiOsFile: rule('lfi.os-file', 1, CRITICAL, 'a sensitive operating system or application file'),
  lfiWrapper: rule('lfi.wrapper', 1, CRITICAL, 'a stream wrapper (php://, phar://, zip://, expect://, ...)'),
  lfiNullByte: rule('lfi.null-byte', 1, CRITICAL, 'a NUL byte, used to cut off file extensions'),

  rfiIpUrl: rule('rfi.ip-url', 1, CRITICAL, 'a URL parameter that points at an IP address'),
  rfiQuestionMark: rule('rfi.trailing-question-mark', 1, CRITICAL, 'a URL ending in "?", used to cut off a suffix'),
  rfiOffDomain: rule('rfi.off-domain', 2, WARNING, 'a URL parameter that points at another host (scores 3: blocks only with other evidence)'),

  rceCommand: rule('rce.unix-command', 1, CRITICAL, 'a shell command after a command separator (; | & ` $( newline)'),
  rceWindows: rule('rce.windows-command', 1, CRITICAL, 'a Windows command after a command separator'),
  rceEvasion: rule('rce.shell-evasion', 1, CRITICAL, 'shell evasion syntax (${IFS}, /dev/tcp/, brace expansion)'),
  rcePowershell: rule('rce.powershell', 1, CRITICAL, 'PowerShell download-and-run syntax'),
  rceCodeCall: rule('rce.code-call', 1, CRITICAL, 'a call that runs a command from code (system(\'id\'), os.popen(, Runtime.exec(, shell_exec()'),
  rceShellshock: rule('rce.shellshock', 1, CRITICAL, 'a Shellshock function definition (() { :; };)'),
  rceCommandLoose: rule('rce.command-loose', 2, CRITICAL, 'a shell command at the start of a value or after a separator without arguments'),

  sstiJndi: rule('ssti.jndi', 1, CRITICAL, 'a JNDI lookup (log4shell: ${jndi:...}, also obfuscated)'),
  sstiExpression: rule('ssti.expression', 1, CRITICAL, 'a template or expression-language payload ({{7*7}}, __class__, T(java.lang.Runtime), OGNL)'),
  sstiLookup: rule('ssti.lookup', 2, WARNING, 'a ${...} lookup or template expression with calls'),

  ssrfMetadata: rule('ssrf.metadata', 1, CRITICAL, 'a URL that points at a cloud metadata service'),
  ssrfLoopback: rule('ssrf.loopback', 1, CRITICAL, 'a URL that points at the loopback or unspecified address'),
  ssrfScheme: rule('ssrf.scheme', 1, CRITICAL, 'a URL with a scheme used for SSRF (gopher:, dict:, file:, ldap:, ...)'),
  ssrfPrivate: rule('ssrf.private', 2, CRITICAL, 'a URL that points at a private or link-local network'),
  ssrfOast: rule('ssrf.oast-domain', 1, CRITICAL, 'a host of an out-of-band testing service (burpcollaborator.net, oastify.com, interact.sh, ...)'),
  ssrfBareHost: rule('ssrf.bare-host', 2, CRITICAL, 'a parameter that is just a loopback or private host name or address'),

  ldapFilter: rule('ldap.filter-injection', 1, CRITICAL, 'LDAP filter syntax that closes the filter or matches every entry (*)(uid=*, (|(cn=*), )(&))'),

  protoKey: rule('proto.proto-key', 1, CRITICAL, 'a __proto__ key (prototype pollution)'),
  protoConstructor: rule('proto.constructor-prototype', 1, CRITICAL, 'a constructor.prototype key path (prototype pollution)'),
  protoClassLoader: rule('proto.class-loader', 1, CRITICAL, 'a class.classLoader parameter (Spring4Shell-style binding)'),

  protocolBody: rule('protocol.body-parse', 1, CRITICAL, 'a body that does not parse as its content type says'),
  protocolComplexity: rule('protocol.body-complexity', 1, CRITICAL, 'a body nested deeper or holding more values than the WAF inspects'),
  protocolBodyType: rule('protocol.body-type', 1, CRITICAL, 'a body of a type the WAF does not read, refused by body.unknown_types: refuse'),
} as const satisfies Record<string, Rule>;

export const ALL_RULES: readonly Rule[] = Object.values(RULES);

export const RULES_BY_ID: ReadonlyMap<string, Rule> = new Map(ALL_RULES.map((r) => [r.id, r]));
