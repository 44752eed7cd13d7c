/**
 * The variables a rule may name, and how a target (ARGS:foo, REQUEST_HEADERS:/^x-/,
 * &TX:x, XML:/*) becomes the values it inspects, less the rule's exclusions.
 */
import type RE2 from 're2';
import type { Collection, Entry } from './collection.js';
import type { Target, TargetExclusion } from './model.js';
import type { RawFacts } from './prefilter.js';
import type { Transaction } from './transaction.js';

/** Variables that hold the request as sent: the same values for every rule of a phase (cacheable per request until the body is read). */
export const REQUEST_VARIABLES: ReadonlySet<string> = new Set([
  'ARGS', 'ARGS_GET', 'ARGS_POST', 'ARGS_NAMES', 'ARGS_GET_NAMES', 'ARGS_POST_NAMES', 'REQUEST_HEADERS', 'REQUEST_HEADERS_NAMES',
  'REQUEST_COOKIES', 'REQUEST_COOKIES_NAMES', 'FILES', 'FILES_NAMES', 'MULTIPART_PART_HEADERS', 'XML',
]);

/** Collections: key/value lists. */
export const COLLECTIONS = new Set([
  'ARGS', 'ARGS_GET', 'ARGS_POST', 'ARGS_NAMES', 'ARGS_GET_NAMES', 'ARGS_POST_NAMES', 'REQUEST_HEADERS', 'REQUEST_HEADERS_NAMES',
  'REQUEST_COOKIES', 'REQUEST_COOKIES_NAMES', 'FILES', 'FILES_NAMES', 'FILES_SIZES', 'FILES_TMPNAMES', 'FILES_TMP_CONTENT',
  'MULTIPART_PART_HEADERS', 'TX', 'ENV', 'IP', 'SESSION', 'USER', 'GLOBAL', 'RESOURCE', 'GEO', 'RULE', 'MATCHED_VARS',
  'MATCHED_VARS_NAMES', 'RESPONSE_HEADERS', 'RESPONSE_HEADERS_NAMES', 'XML', 'PERF_RULES',
]);

/** Single values. */
export const SCALARS = new Set([
  'ARGS_COMBINED_SIZE', 'AUTH_TYPE', 'DURATION', 'FILES_COMBINED_SIZE', 'FULL_REQUEST', 'FULL_REQUEST_LENGTH', 'HIGHEST_SEVERITY',
  'INBOUND_DATA_ERROR', 'MATCHED_VAR', 'MATCHED_VAR_NAME', 'MODSEC_BUILD', 'MULTIPART_BOUNDARY_QUOTED', 'MULTIPART_BOUNDARY_WHITESPACE',
  'MULTIPART_CRLF_LF_LINES', 'MULTIPART_DATA_AFTER', 'MULTIPART_DATA_BEFORE', 'MULTIPART_FILE_LIMIT_EXCEEDED', 'MULTIPART_FILENAME',
  'MULTIPART_HEADER_FOLDING', 'MULTIPART_INVALID_HEADER_FOLDING', 'MULTIPART_INVALID_PART', 'MULTIPART_INVALID_QUOTING',
  'MULTIPART_LF_LINE', 'MULTIPART_MISSING_SEMICOLON', 'MULTIPART_NAME', 'MULTIPART_STRICT_ERROR', 'MULTIPART_UNMATCHED_BOUNDARY',
  'OUTBOUND_DATA_ERROR', 'PATH_INFO', 'QUERY_STRING', 'REMOTE_ADDR', 'REMOTE_HOST', 'REMOTE_PORT', 'REMOTE_USER', 'REQBODY_ERROR',
  'REQBODY_ERROR_MSG', 'REQBODY_PROCESSOR', 'REQBODY_PROCESSOR_ERROR', 'REQUEST_BASENAME', 'REQUEST_BODY', 'REQUEST_BODY_LENGTH',
  'REQUEST_FILENAME', 'REQUEST_LINE', 'REQUEST_METHOD', 'REQUEST_PROTOCOL', 'REQUEST_URI', 'REQUEST_URI_RAW', 'RESPONSE_BODY',
  'RESPONSE_CONTENT_LENGTH', 'RESPONSE_CONTENT_TYPE', 'RESPONSE_PROTOCOL', 'RESPONSE_STATUS', 'SERVER_ADDR', 'SERVER_NAME',
  'SERVER_PORT', 'STATUS_LINE', 'TIME', 'TIME_DAY', 'TIME_EPOCH', 'TIME_HOUR', 'TIME_MIN', 'TIME_MON', 'TIME_SEC', 'TIME_WDAY',
  'TIME_YEAR', 'UNIQUE_ID', 'URLENCODED_ERROR', 'USERID', 'WEBAPPID', 'WEBSERVER_ERROR_LOG', 'SESSIONID', 'STREAM_INPUT_BODY',
  'STREAM_OUTPUT_BODY', 'MSC_PCRE_LIMITS_EXCEEDED', 'REQBODY_PROCESSOR_ERROR_MSG', 'RESPONSE_ARGS',
]);

export const VARIABLE_NAMES: ReadonlySet<string> = new Set([...COLLECTIONS, ...SCALARS]);

export interface Value {
  /** As logged: ARGS:foo, REQUEST_HEADERS:User-Agent, REQUEST_FILENAME. */
  readonly name: string;
  readonly value: string;
  /** The collection's key (for exclusions). */
  readonly key: string | undefined;
  /**
   * The engine's facts of the value (its RawFacts), kept on the value for the rest of the request: null on the values
   * of request variables, which the engine keeps per request and every rule reading them asks again; absent on others.
   */
  facts?: RawFacts | null;
}

export function excluded(collection: string, key: string | undefined, exclusions: readonly TargetExclusion[]): boolean {
  for (const x of exclusions) {
    if (x.name !== collection) continue;
    if (x.key === undefined && x.keyRegex === undefined) return true;
    if (key === undefined) continue;
    if (x.keyRegex ? x.keyRegex.test(key) : x.key === key.toLowerCase()) return true;
  }
  return false;
}

/** Per key regex, the keys it was asked about: TX:/^header_name_/ reads the same hundred TX names on every request. */
const keyAnswers = new WeakMap<RE2, Map<string, boolean>>();
const MAX_KEY_ANSWERS = 4096;

function keyMatches(re: RE2, key: string): boolean {
  let answers = keyAnswers.get(re);
  if (!answers) keyAnswers.set(re, (answers = new Map<string, boolean>()));
  let yes = answers.get(key);
  if (yes === undefined) {
    yes = re.test(key);
    if (answers.size < MAX_KEY_ANSWERS && key.length <= 256) answers.set(key, yes);
  }
  return yes;
}

function fromEntries(name: string, entries: Iterable<Entry>, target: Target, exclusions: readonly TargetExclusion[], names: boolean, out: Value[]): void {
  // the *_NAMES collections are excluded by the key of their own name, as CRS writes !ARGS_NAMES:foo
  for (const e of entries) {
    if (target.key !== undefined && e.key.toLowerCase() !== target.key) continue;
    if (target.keyRegex && !keyMatches(target.keyRegex, e.key)) continue;
    if (excluded(name, e.key, exclusions)) continue;
    out.push({ name: `${name}:${e.key}`, value: names ? e.key : e.value, key: e.key, facts: null });
  }
}

function keyed(c: Collection, target: Target): Iterable<Entry> {
  return target.key !== undefined ? c.get(target.key) : c.entries;
}

/** The values a target names, exclusions applied. */
export function resolve(tx: Transaction, target: Target, exclusions: readonly TargetExclusion[]): Value[] {
  const out: Value[] = [];
  const name = target.name;
  switch (name) {
    case 'ARGS':
      fromEntries(name, keyed(tx.argsGet, target), target, exclusions, false, out);
      fromEntries(name, keyed(tx.argsPost, target), target, exclusions, false, out);
      break;
    case 'ARGS_GET':
      fromEntries(name, keyed(tx.argsGet, target), target, exclusions, false, out);
      break;
    case 'ARGS_POST':
      fromEntries(name, keyed(tx.argsPost, target), target, exclusions, false, out);
      break;
    case 'ARGS_NAMES':
      fromEntries(name, keyed(tx.argsGet, target), target, exclusions, true, out);
      fromEntries(name, keyed(tx.argsPost, target), target, exclusions, true, out);
      break;
    case 'ARGS_GET_NAMES':
      fromEntries(name, keyed(tx.argsGet, target), target, exclusions, true, out);
      break;
    case 'ARGS_POST_NAMES':
      fromEntries(name, keyed(tx.argsPost, target), target, exclusions, true, out);
      break;
    case 'REQUEST_HEADERS':
      fromEntries(name, keyed(tx.headers, target), target, exclusions, false, out);
      break;
    case 'REQUEST_HEADERS_NAMES':
      fromEntries(name, keyed(tx.headers, target), target, exclusions, true, out);
      break;
    case 'REQUEST_COOKIES':
      fromEntries(name, keyed(tx.cookies, target), target, exclusions, false, out);
      break;
    case 'REQUEST_COOKIES_NAMES':
      fromEntries(name, keyed(tx.cookies, target), target, exclusions, true, out);
      break;
    case 'FILES':
      fromEntries(name, keyed(tx.files, target), target, exclusions, false, out);
      break;
    case 'FILES_NAMES':
      fromEntries(name, keyed(tx.files, target), target, exclusions, true, out);
      break;
    case 'FILES_SIZES':
      fromEntries(name, keyed(tx.fileSizes, target), target, exclusions, false, out);
      break;
    case 'MULTIPART_PART_HEADERS':
      fromEntries(name, keyed(tx.partHeaders, target), target, exclusions, false, out);
      break;
    case 'RESPONSE_HEADERS':
      fromEntries(name, keyed(tx.responseHeaders, target), target, exclusions, false, out);
      break;
    case 'RESPONSE_HEADERS_NAMES':
      fromEntries(name, keyed(tx.responseHeaders, target), target, exclusions, true, out);
      break;
    case 'ENV':
    case 'IP':
    case 'SESSION':
    case 'USER':
    case 'GLOBAL':
    case 'RESOURCE':
    case 'GEO':
    case 'PERF_RULES':
      fromEntries(name, keyed(tx.other(name), target), target, exclusions, false, out);
      break;
    case 'TX': {
      if (target.key !== undefined && !target.keyRegex) {
        const e = tx.vars.entry(target.key);
        if (e && !excluded(name, e.key, exclusions)) out.push({ name: `TX:${e.key}`, value: e.value, key: e.key });
      } else fromEntries(name, tx.vars.entries, target, exclusions, false, out);
      break;
    }
    case 'RULE': {
      const rule = tx.currentRule;
      const key = target.key ?? 'id';
      const v = key === 'id' ? String(rule?.id ?? '') : key === 'msg' ? rule?.msg ?? '' : key === 'severity' ? String(rule?.severity ?? '') : '';
      out.push({ name: `RULE:${key}`, value: v, key });
      break;
    }
    case 'MATCHED_VARS':
      for (const m of tx.matchedVars) if (!excluded(name, m.name, exclusions)) out.push({ name: 'MATCHED_VARS:' + m.name, value: m.value, key: m.name });
      break;
    case 'MATCHED_VARS_NAMES':
      for (const m of tx.matchedVars) out.push({ name: 'MATCHED_VARS_NAMES:' + m.name, value: m.name, key: m.name });
      break;
    case 'XML': {
      const xml = tx.xml;
      if (!xml || excluded(name, target.key, exclusions)) break;
      const list = target.key !== undefined && target.key.includes('@') ? xml.attributes : xml.texts;
      for (const v of list) out.push({ name: `XML:${target.key ?? '/*'}`, value: v, key: target.key, facts: null });
      break;
    }
    default: {
      if (excluded(name, undefined, exclusions)) break;
      const v = tx.scalar(name);
      if (v !== undefined) out.push({ name, value: v, key: undefined });
    }
  }
  return out;
}
