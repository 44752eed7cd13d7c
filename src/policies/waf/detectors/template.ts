/**
 * Server-side template and expression injection: JNDI lookups (log4shell,
 * with its nested-lookup obfuscations undone), template delimiters holding an
 * arithmetic probe or reaching into the runtime ({{7*7}},
 * {{''.__class__.__mro__}}, ${T(java.lang.Runtime)}), OGNL and SpEL
 * payloads, and runtime internals named outright.
 */
import { signalGroup } from '../signals.js';
import { RULES, type Rule } from '../rules.js';

/** Runtime internals no ordinary parameter names: Python, Java, JavaScript, Ruby, PHP. */
const RUNTIME_MARKERS: readonly string[] = [
  '__class__',
  '__mro__',
  '__subclasses__',
  '__globals__',
  '__builtins__',
  '__import__',
  '__getattribute__',
  '__init__.__',
  'java.lang.runtime',
  'java.lang.processbuilder',
  'java.lang.system',
  'java.lang.class',
  'javax.script',
  'getruntime()',
  'getruntime().exec',
  '.getclass().forname',
  'freemarker.template.utility.execute',
  'freemarker.template.utility.objectconstructor',
  '?new()',
  '#_memberaccess',
  '@java.lang',
  'ognl.ognlcontext',
  '#context[',
  'com.opensymphony.xwork2',
  'allowstaticmethodaccess',
  "require('child_process",
  'require("child_process',
  "child_process').",
  'child_process").',
  'child_process.exec',
  'child_process.spawn',
  'process.mainmodule',
  'process.binding(',
  'global.process',
  'constructor.constructor(',
  'this.constructor.constructor',
  "require('child",
  'require("child',
  '_self.env.registerundefinedfiltercallback',
  'registerundefinedfiltercallback',
  "filter('system')",
  'filter("system")',
  "map('system')",
  '{php}',
  '{system(',
  '$smarty.',
  '#set($',
  '$class.inspect',
  'velocity.runtime',
  'runtime.getruntime',
  'io.popen',
  '%x(',
  'system.diagnostics.process',
  't(java.',
  'new java.',
  'new ProcessBuilder'.toLowerCase(),
  'lipsum.__globals__',
  'cycler.__init__',
  'joiner.__init__',
  'namespace.__init__',
  'request.application.__',
  'get_flashed_messages.__',
  'url_for.__globals__',
  'config.__class__',
  'self._templatereference',
  'self.__init__',
  '.mro()',
  '.subclasses()',
  '|attr(',
  '.getclass()',
  '.class.base',
  '.class.forname',
  'os.popen(',
  'os.system(',
  '?new()(',
];

/**
 * Objects a template injection reaches for first (Jinja2/Flask, Twig, Mako,
 * Django, Tornado, Freemarker): naming one inside {{ }}, {% %} or ${ } is
 * reconnaissance, not content.
 */
const TEMPLATE_ROOTS: ReadonlySet<string> = new Set([
  'config',
  'self',
  'request',
  'app',
  'settings',
  'lipsum',
  'cycler',
  'joiner',
  'namespace',
  'url_for',
  'get_flashed_messages',
  '_self',
  'environ',
  'os',
  'subprocess',
  'popen',
  'class',
  'mro',
  'subclasses',
  'globals',
  'builtins',
  'import',
  'getattr',
  'runtime',
  'processbuilder',
  'forname',
  'getclass',
  'dump',
  '_context',
  '_charset',
]);

const RUNTIME_SIGNAL = signalGroup(RUNTIME_MARKERS);

/** Opening delimiters of template languages and expression languages, with their closers. */
const DELIMITERS: ReadonlyArray<readonly [string, string]> = [
  ['{{', '}}'],
  ['${', '}'],
  ['#{', '}'],
  ['*{', '}'],
  ['@{', '}'],
  ['<%=', '%>'],
  ['<%', '%>'],
  ['{%', '%}'],
  ['%{', '}'],
  ['[[', ']]'],
  ['@(', ')'],
];

/**
 * Undoes Log4j's lookup obfuscation: ${lower:j}, ${upper:n}, ${::-d},
 * ${env:X:-i}, ${date:'i'} all resolve to a letter, so "${${lower:j}ndi:"
 * is "${jndi:". Innermost lookups are resolved first, a bounded number of
 * times.
 */
export function resolveLookups(value: string): string {
  let s = value;
  for (let round = 0; round < 64; round++) {
    // the innermost "${": the last one before the first "}" after it
    const close = s.indexOf('}');
    if (close === -1) return s;
    const open = s.lastIndexOf('${', close);
    if (open === -1) return s;
    const body = s.slice(open + 2, close);
    let replacement: string;
    const lower = body.toLowerCase();
    if (lower.startsWith('jndi:')) return s; // reached the lookup itself
    const dash = body.indexOf(':-');
    if (dash !== -1) replacement = body.slice(dash + 2);
    else if (lower.startsWith('lower:') || lower.startsWith('upper:')) replacement = body.slice(6);
    else if (lower.startsWith('date:')) replacement = body.slice(5).replaceAll("'", '');
    else replacement = `\u0000${body}\u0000`; // an unknown lookup: keep it from matching again
    s = s.slice(0, open) + replacement + s.slice(close + 1);
  }
  return s;
}

function hasJndi(value: string): boolean {
  const lower = value.toLowerCase();
  if (lower.includes('${jndi:')) return true;
  if (!lower.includes('${')) return false;
  const resolved = resolveLookups(value).toLowerCase();
  return resolved.includes('${jndi:') || /\$\{\s*j\s*n\s*d\s*i\s*:/.test(resolved);
}

/** Only log4shell: run on every header, as Log4j logged whichever header it was given. */
export function detectJndi(value: string): Rule | undefined {
  return value.includes('${') && hasJndi(value) ? RULES.sstiJndi : undefined;
}

function isArithmeticProbe(s: string, from: number, to: number): boolean {
  // 7*7, 7*'7', 1337*1337, 7 * 7: digits, an operator, digits; nothing else
  let digits = 0;
  let ops = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2f || c === 0x25) ops++;
    else if (c !== 0x20 && c !== 0x27 && c !== 0x22 && c !== 0x28 && c !== 0x29) return false;
  }
  return digits >= 2 && ops >= 1;
}

/** What String.prototype.trim() removes. */
function isTrimmed(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * The start of the last word naming a template root in [from, to), or -1. A body starts after an opener's last
 * character and ends at a closer, none of which is a word character, so the words of every body ending at `to` are
 * the words of this range that start inside the body: one scan answers for all of them.
 */
function lastRootIn(s: string, from: number, to: number): number {
  let last = -1;
  let start = -1;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 0x20;
    const word = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
    if (word) {
      if (start === -1) start = i;
    } else if (start !== -1) {
      if (TEMPLATE_ROOTS.has(s.slice(start, i))) last = start;
      start = -1;
    }
  }
  return last;
}

function lastIndexIn(s: string, c: number, from: number, to: number): number {
  for (let i = to - 1; i >= from; i--) if (s.charCodeAt(i) === c) return i;
  return -1;
}

function hasDelimiterChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x7b || c === 0x25 || c === 0x40 || c === 0x5b) return true; // { % @ [
  }
  return false;
}

export function detectTemplate(value: string, lower: string, paranoia: number, signals: number): Rule | undefined {
  if (value.includes('${') && hasJndi(value)) return RULES.sstiJndi;
  if (signals & RUNTIME_SIGNAL) return RULES.sstiExpression;
  if (!hasDelimiterChar(value)) return undefined;
  let loose: Rule | undefined;
  for (const [open, close] of DELIMITERS) {
    // The closer after each opener, searched for once per closer rather than once per opener: the openers come in
    // order, so the first closer after one is also the first after the next unless the next opener is past it.
    // Searching the rest of the value from every opener made "{%" repeated quadratic (issue 10). Openers that share
    // a closer share the end of their bodies too: what a body holds (a root's name, "(", ":") is read once per
    // closer, over the longest body, so 200 openers before one closer cost one reading of 400 characters, not 200.
    let end = -1;
    let bodyEnd = -1; // the end of every body ending at `end`, trimmed
    let rootAt = -1; // the start of the last root name before `end`, the last "(" and ":"
    let parenAt = -1;
    let colonAt = -1;
    let readFor = -1; // the closer those were read for
    for (let at = lower.indexOf(open); at !== -1; at = lower.indexOf(open, at + open.length)) {
      if (end < at + open.length) {
        end = lower.indexOf(close, at + open.length);
        if (end === -1) break; // no closer after this opener, so none after any later one
      }
      if (end - at > 400) continue;
      let from = at + open.length;
      if (readFor !== end) {
        readFor = end;
        bodyEnd = end;
        while (bodyEnd > from && isTrimmed(lower.charCodeAt(bodyEnd - 1))) bodyEnd--;
        rootAt = lastRootIn(lower, from, end);
        parenAt = lastIndexIn(lower, 0x28, from, end);
        colonAt = lastIndexIn(lower, 0x3a, from, end);
      }
      while (from < bodyEnd && isTrimmed(lower.charCodeAt(from))) from++;
      const to = Math.max(from, bodyEnd);
      const first = from < to ? lower.charCodeAt(from) : -1;
      const hasParen = parenAt >= from && parenAt < to;
      if (isArithmeticProbe(lower, from, to)) return RULES.sstiExpression;
      if ((open === '{{' || open === '{%' || open === '${' || open === '<%=' || open === '#{') && rootAt >= from && rootAt < to) return RULES.sstiExpression;
      // {{'a'.toUpperCase()}}: a method called on a literal
      if (open === '{{' && (first === 0x27 || first === 0x22 || first === 0x5b) && hasParen) return RULES.sstiExpression;
      // OGNL: %{(#...)} and ${#...}; SpEL: T(...)
      if ((open === '%{' || open === '${') && (first === 0x23 || (first === 0x28 && lower.charCodeAt(from + 1) === 0x23 && from + 1 < to))) return RULES.sstiExpression;
      if (paranoia >= 2 && (hasParen || (open === '${' && colonAt >= from && colonAt < to))) loose ??= RULES.sstiLookup;
    }
  }
  return loose;
}
