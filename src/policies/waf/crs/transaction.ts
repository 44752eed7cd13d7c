/**
 * One request's state as the rules see it: the collections, TX, what matched,
 * and what ctl actions changed for this request only.
 */
import { Collection, TxCollection } from './collection.js';
import type { Rule, TargetExclusion } from './model.js';
import { compileRegex } from './operators.js';
import { parseVariables } from './parser.js';
import { resolve } from './variables.js';

/** What the engine hands the transaction about the request. */
export interface RequestData {
  readonly method: string;
  /** The request target as sent (path and query), bytes as latin1. */
  readonly target: string;
  /** "HTTP/1.1" */
  readonly protocol: string;
  /** Header name/value pairs in the order sent, names as spelled. */
  readonly headers: readonly (readonly [string, string])[];
  readonly remoteAddr: string;
  readonly remotePort: number;
  readonly serverPort: number;
  readonly uniqueId: string;
}

export interface MatchedVar {
  readonly name: string;
  readonly value: string;
}

export class Transaction {
  readonly argsGet = new Collection();
  readonly argsPost = new Collection();
  readonly headers = new Collection();
  readonly cookies = new Collection();
  readonly files = new Collection();
  readonly fileSizes = new Collection();
  readonly partHeaders = new Collection();
  readonly responseHeaders = new Collection();
  readonly vars = new TxCollection();
  private readonly others = new Map<string, Collection>();
  readonly scalars = new Map<string, string>();
  /** The XML body's texts and attribute values; the names of their elements and attributes, where the parse gave them. */
  xml: { texts: string[]; attributes: string[]; textNames?: readonly string[]; attributeNames?: readonly string[] } | undefined;

  currentRule: Rule | undefined;
  matchedVar: MatchedVar | undefined;
  matchedVars: MatchedVar[] = [];

  /** ctl: what this request changed. */
  engineMode: 'On' | 'Off' | 'DetectionOnly';
  readonly removedIds = new Set<number>();
  readonly removedTags: string[] = [];
  readonly removedTargets = new Map<number, TargetExclusion[]>();
  readonly removedTargetsByTag: { tag: string; exclusion: TargetExclusion }[] = [];
  bodyProcessor: string | undefined;
  forceBodyVariable = false;

  constructor(
    readonly request: RequestData,
    engineMode: 'On' | 'Off' | 'DetectionOnly',
  ) {
    this.engineMode = engineMode;
    const q = request.target.indexOf('?');
    const rawPath = q === -1 ? request.target : request.target.slice(0, q);
    // absolute-form: REQUEST_FILENAME is the path alone
    const path = /^[a-z][a-z0-9+.-]*:\/\//i.test(rawPath) ? rawPath.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '') || '/' : rawPath;
    const query = q === -1 ? '' : request.target.slice(q + 1);
    const s = this.scalars;
    s.set('REQUEST_METHOD', request.method);
    s.set('REQUEST_PROTOCOL', request.protocol);
    s.set('REQUEST_LINE', `${request.method} ${request.target} ${request.protocol}`);
    s.set('REQUEST_URI', request.target);
    s.set('REQUEST_URI_RAW', request.target);
    // the path percent-decoded ("+" kept), as Coraza and ModSecurity's Apache connector hand it over
    const decodedPath = path.indexOf('%') === -1 ? path : path.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    s.set('REQUEST_FILENAME', decodedPath);
    s.set('REQUEST_BASENAME', decodedPath.slice(decodedPath.lastIndexOf('/') + 1));
    s.set('PATH_INFO', '');
    s.set('QUERY_STRING', query);
    s.set('REMOTE_ADDR', request.remoteAddr);
    s.set('REMOTE_PORT', String(request.remotePort));
    s.set('SERVER_PORT', String(request.serverPort));
    s.set('UNIQUE_ID', request.uniqueId);
    s.set('REQBODY_ERROR', '0');
    s.set('REQBODY_PROCESSOR_ERROR', '0');
    s.set('MULTIPART_STRICT_ERROR', '0');
    s.set('MULTIPART_UNMATCHED_BOUNDARY', '0');
    s.set('INBOUND_DATA_ERROR', '0');
    s.set('OUTBOUND_DATA_ERROR', '0');
    s.set('URLENCODED_ERROR', '0');
    s.set('HIGHEST_SEVERITY', '255');
    s.set('TIME_EPOCH', String(Math.floor(Date.now() / 1000)));
    for (const [name, value] of request.headers) {
      this.headers.add(name, value);
      if (name.toLowerCase() === 'cookie') this.addCookies(value);
      if (name.toLowerCase() === 'host') s.set('SERVER_NAME', value.replace(/:\d+$/, ''));
    }
    if (query !== '') parseArgs(query, this.argsGet);
    this.updateCombinedSize();
  }

  private addCookies(header: string): void {
    for (const part of header.split(';')) {
      const p = part.replace(/^[ \t]+/, '');
      if (p === '') continue;
      const eq = p.indexOf('=');
      this.cookies.add(eq === -1 ? p : p.slice(0, eq), eq === -1 ? '' : p.slice(eq + 1));
    }
  }

  updateCombinedSize(): void {
    let size = 0;
    for (const e of this.argsGet.entries) size += e.key.length + e.value.length;
    for (const e of this.argsPost.entries) size += e.key.length + e.value.length;
    this.scalars.set('ARGS_COMBINED_SIZE', String(size));
  }

  other(name: string): Collection {
    let c = this.others.get(name);
    if (!c) {
      c = new Collection();
      this.others.set(name, c);
    }
    return c;
  }

  scalar(name: string): string | undefined {
    switch (name) {
      case 'MATCHED_VAR':
        return this.matchedVar?.value ?? '';
      case 'MATCHED_VAR_NAME':
        return this.matchedVar?.name ?? '';
      case 'DURATION':
        return '0';
      default:
        return this.scalars.get(name);
    }
  }

  /** %{tx.x}, %{MATCHED_VAR}, %{REQUEST_HEADERS.host}, %{rule.id} */
  expand(text: string): string {
    if (text.indexOf('%{') === -1) return text;
    const parts = macroParts(text);
    // the common shapes without building a string: "%{tx.x}" alone, or one literal and one reference
    if (parts.length === 1) return typeof parts[0] === 'string' ? parts[0] : this.ref(parts[0]!);
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : this.ref(p);
    return out;
  }

  private ref(r: MacroRef): string {
    return r.txKey !== undefined ? (this.vars.getLower(r.txKey) ?? '') : this.macro(r.ref);
  }

  private macro(ref: string): string {
    const dot = ref.indexOf('.');
    const collection = (dot === -1 ? ref : ref.slice(0, dot)).toUpperCase();
    const key = dot === -1 ? undefined : ref.slice(dot + 1);
    if (collection === 'TX' && key !== undefined) return this.vars.get(key) ?? '';
    if (collection === 'RULE') {
      const r = this.currentRule;
      const k = (key ?? '').toLowerCase();
      if (k === 'id') return String(r?.id ?? '');
      if (k === 'msg') return this.expandPlain(r?.msg ?? '');
      if (k === 'severity') return String(r?.severity ?? '');
      if (k === 'logdata') return this.expandPlain(r?.logdata ?? '');
      return '';
    }
    const values = resolve(this, { name: collection, key: key?.toLowerCase(), keyRegex: undefined, count: false }, []);
    return values[0]?.value ?? '';
  }

  private expandPlain(text: string): string {
    return text.includes('%{rule.') ? text : this.expand(text);
  }

  /** A ctl value "942100;ARGS:foo" as a target exclusion. */
  static exclusionOf(text: string): TargetExclusion | undefined {
    const v = parseVariables(text, 'ctl', 0)[0];
    if (!v) return undefined;
    const keyRegex = v.keyIsRegex && v.key !== undefined ? compileRegex(v.key, 'i') : undefined;
    return { name: v.name, key: keyRegex || v.key === undefined ? undefined : v.key.toLowerCase(), keyRegex };
  }
}

/** A %{...} reference of a macro: TX ones by their lower-cased key, read straight from TX. */
interface MacroRef {
  readonly ref: string;
  readonly txKey: string | undefined;
}

/**
 * Macro texts split once into literals and references: the texts are the rules' own (setvar values, operator
 * arguments, messages), a few hundred of them, expanded ~250 times per request. Bounded all the same.
 */
const macros = new Map<string, readonly (string | MacroRef)[]>();
const MAX_MACROS = 4096;

function macroParts(text: string): readonly (string | MacroRef)[] {
  let parts = macros.get(text);
  if (parts) return parts;
  const out: (string | MacroRef)[] = [];
  // [^{}]: a match attempt stops at the next brace, so a run of unclosed %{ costs linear time.
  const re = /%\{([^{}]+)\}/g;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    const ref = m[1]!;
    const dot = ref.indexOf('.');
    const tx = dot !== -1 && ref.slice(0, dot).toUpperCase() === 'TX';
    out.push({ ref, txKey: tx ? ref.slice(dot + 1).toLowerCase() : undefined });
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  parts = out;
  if (macros.size < MAX_MACROS) macros.set(text, parts);
  return parts;
}

function parseArgs(query: string, into: Collection): void {
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    if (into.size >= 1024) break;
    const eq = pair.indexOf('=');
    into.add(decode(eq === -1 ? pair : pair.slice(0, eq)), eq === -1 ? '' : decode(pair.slice(eq + 1)));
  }
}

function decode(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  return s.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}
