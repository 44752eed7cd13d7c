/**
 * `waf.exclusions` written as CRS exclusions, the way a CRS user writes them
 * by hand: configure-time SecRuleRemoveBy* / SecRuleUpdateTargetBy* after the
 * rules, and, for exclusions limited to paths, phase-1 rules with
 * ctl:ruleRemove* before them (CRS's REQUEST-900 pattern).
 *
 * rules: CRS rule ids ("942100", "942100-942199") or tags ("attack-sqli",
 * "paranoia-level/2"); the native categories name their CRS tag (sqli ->
 * attack-sqli). targets: CRS variables ("ARGS:q", "REQUEST_HEADERS:Referer",
 * "REQUEST_COOKIES:/^prefs_/") or the native ones ("query:q", "body:user.bio",
 * "header:referer", "cookie:prefs", "path").
 */
import { ConfigError } from '../../config/errors.js';
import type { ExclusionConfig } from './exclusions.js';

const CATEGORY_TAGS: Readonly<Record<string, string>> = {
  sqli: 'attack-sqli',
  xss: 'attack-xss',
  lfi: 'attack-lfi',
  rfi: 'attack-rfi',
  rce: 'attack-rce',
  ssrf: 'attack-ssrf',
  protocol: 'attack-protocol',
  proto: 'attack-injection-generic',
  ssti: 'attack-injection-generic',
  ldap: 'attack-injection-generic',
};

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function crsTarget(text: string, at: (string | number)[]): string[] {
  if (/^[A-Z_]+(:|$)/.test(text)) {
    if (/["\s,]/.test(text)) throw new ConfigError(`target ${JSON.stringify(text)} may not hold quotes, commas or spaces`, at);
    return [text];
  }
  const colon = text.indexOf(':');
  const where = (colon === -1 ? text : text.slice(0, colon)).trim().toLowerCase();
  let name = colon === -1 ? undefined : text.slice(colon + 1).trim();
  if (name === '' || name === '*') name = undefined;
  if (name !== undefined && /["\s,|]/.test(name)) throw new ConfigError(`target ${JSON.stringify(text)} may not hold quotes, commas, bars or spaces`, at);
  const key = (n: string): string => (n.endsWith('*') ? `/^${escapeRegex(n.slice(0, -1))}/` : n);
  switch (where) {
    case 'path':
      return ['REQUEST_FILENAME', 'REQUEST_BASENAME', 'REQUEST_URI', 'REQUEST_URI_RAW', 'REQUEST_LINE'];
    case 'query':
      return name === undefined ? ['ARGS_GET', 'ARGS_GET_NAMES', 'QUERY_STRING'] : [`ARGS:${key(name)}`, `ARGS_NAMES:${key(name)}`];
    case 'body':
      // a JSON body's arguments are named json.a.b (as Coraza and ModSecurity name them), in ARGS and in ARGS_NAMES
      // The rules read ARGS, where a form body's arguments sit beside the query's (an exclusion of ARGS_POST
      // does not take them out of a rule's ARGS): the whole body is its JSON arguments, the raw body and XML.
      return name === undefined
        ? ['ARGS_POST', 'ARGS_POST_NAMES', 'ARGS:/^json\\./', 'ARGS_NAMES:/^json\\./', 'REQUEST_BODY', 'XML']
        : [`ARGS:${key(name)}`, `ARGS:${key(`json.${name}`)}`, `ARGS_NAMES:${key(name)}`, `ARGS_NAMES:${key(`json.${name}`)}`];
    case 'header':
      return name === undefined ? ['REQUEST_HEADERS', 'REQUEST_HEADERS_NAMES'] : [`REQUEST_HEADERS:${key(name)}`];
    case 'cookie':
      return name === undefined ? ['REQUEST_COOKIES', 'REQUEST_COOKIES_NAMES'] : [`REQUEST_COOKIES:${key(name)}`, `REQUEST_COOKIES_NAMES:${key(name)}`];
    default:
      throw new ConfigError(`target ${JSON.stringify(text)}: a CRS variable (ARGS:q) or path, query:, header:, cookie:, body:`, at);
  }
}

interface Selector {
  readonly kind: 'id' | 'tag';
  readonly value: string;
}

function selectors(rules: readonly string[] | undefined, at: (string | number)[]): Selector[] {
  if (!rules) return [{ kind: 'tag', value: 'OWASP_CRS' }];
  const out: Selector[] = [];
  rules.forEach((r, i) => {
    if (/^\d+(-\d+)?$/.test(r)) out.push({ kind: 'id', value: r });
    else if (CATEGORY_TAGS[r]) out.push({ kind: 'tag', value: CATEGORY_TAGS[r] });
    else if (/^[a-z]+\.[a-z0-9.-]+$/.test(r)) return; // a native rule id: the native engine's business
    else if (/^[A-Za-z0-9_./-]+$/.test(r)) out.push({ kind: 'tag', value: r });
    else throw new ConfigError(`rule ${JSON.stringify(r)}: a CRS rule id, an id range or a tag`, [...at, 'rules', i]);
  });
  return out;
}

function pathCondition(spec: string): string {
  if (spec.startsWith('= ')) return `"@streq ${spec.slice(2).trim()}"`;
  if (spec.startsWith('~ ')) return `"@rx ${spec.slice(2).trim().replace(/"/g, '\\"')}"`;
  return `"@beginsWith ${spec.trim()}"`;
}

export interface CrsExclusionText {
  readonly before: string;
  readonly after: string;
}

export function crsExclusions(list: readonly ExclusionConfig[]): CrsExclusionText {
  const before: string[] = [];
  const after: string[] = [];
  let id = 10_000;
  list.forEach((x, i) => {
    const at = ['exclusions', i];
    const sel = selectors(x.rules, at);
    if (sel.length === 0) return;
    const targets = x.targets?.flatMap((t, j) => crsTarget(t, [...at, 'targets', j]));
    if (!x.paths) {
      for (const s of sel) {
        if (!targets) after.push(s.kind === 'id' ? `SecRuleRemoveById ${s.value}` : `SecRuleRemoveByTag "^${escapeRegex(s.value)}$"`);
        else after.push(s.kind === 'id' ? `SecRuleUpdateTargetById ${s.value} "!${targets.join('|!')}"` : `SecRuleUpdateTargetByTag "^${escapeRegex(s.value)}$" "!${targets.join('|!')}"`);
      }
      return;
    }
    const ctls: string[] = [];
    for (const s of sel) {
      if (!targets) ctls.push(s.kind === 'id' ? `ctl:ruleRemoveById=${s.value}` : `ctl:ruleRemoveByTag=${s.value}`);
      else for (const t of targets) ctls.push(s.kind === 'id' ? `ctl:ruleRemoveTargetById=${s.value};${t}` : `ctl:ruleRemoveTargetByTag=${s.value};${t}`);
    }
    for (const p of x.paths) {
      before.push(`SecRule REQUEST_FILENAME ${pathCondition(p)} "id:${++id},phase:1,pass,nolog,t:none,${ctls.map((c) => `'${c}'`.replace(/^'|'$/g, '')).join(',')}"`);
    }
  });
  return { before: before.join('\n'), after: after.join('\n') };
}
