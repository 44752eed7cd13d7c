/**
 * One request's inspection: every value the request carries goes through
 * each decoding layer and each enabled detector; matching rules add their
 * score (each rule once per request), and the scan stops as soon as the
 * score reaches the threshold.
 */
import { forEachForm } from './decode.js';
import { detectLdap } from './detectors/ldap.js';
import { detectLfi } from './detectors/lfi.js';
import { detectProtoKey } from './detectors/proto.js';
import { detectRce } from './detectors/rce.js';
import { detectJndi, detectTemplate } from './detectors/template.js';
import { detectUrl } from './detectors/url.js';
import { detectXss } from './detectors/xss.js';
import type { Exclusions, RuleFilter } from './exclusions.js';
import { signalsOf } from './signals.js';
import { RULES, type Category, type Rule } from './rules.js';
import { SqliDetector } from './sqli/index.js';
import type { Location } from './location.js';

export interface Match {
  readonly rule: Rule;
  /** Where: "query:id", "body:user.name", "header:user-agent", "path". */
  readonly target: string;
  /** The decoded form that matched, for the security event (redacted and truncated there). */
  readonly value: string;
}

export interface EngineSettings {
  readonly paranoia: 1 | 2;
  readonly threshold: number;
  /** Rule ids and categories turned off for the whole route. */
  readonly disabled: ReadonlySet<string>;
  readonly exclusions: Exclusions;
}

/** Which characters a value holds, so each detector can skip values it cannot match. */
const enum Has {
  Quote = 1,
  Lt = 2,
  Paren = 4,
  Semi = 8,
  Pipe = 16,
  Amp = 32,
  Dollar = 64,
  Brace = 128,
  Hash = 256,
  Operator = 512,
  Slash = 1024,
  Backslash = 2048,
  Colon = 4096,
  Dot = 8192,
  Space = 16384,
  Newline = 32768,
  Nul = 65536,
  Backtick = 131072,
  Underscore = 262144,
  At = 524288,
  Percent = 1048576,
}

function charsOf(value: string): number {
  let has = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) continue; // a-z: the common case first
    switch (c) {
      case 0x27:
      case 0x22:
        has |= Has.Quote;
        break;
      case 0x60:
        has |= Has.Backtick | Has.Quote;
        break;
      case 0x3c:
      case 0x3e:
        has |= Has.Lt;
        break;
      case 0x28:
      case 0x29:
        has |= Has.Paren;
        break;
      case 0x3b:
        has |= Has.Semi;
        break;
      case 0x7c:
        has |= Has.Pipe;
        break;
      case 0x26:
        has |= Has.Amp;
        break;
      case 0x24:
        has |= Has.Dollar;
        break;
      case 0x7b:
      case 0x7d:
      case 0x5b:
        has |= Has.Brace;
        break;
      case 0x23:
        has |= Has.Hash;
        break;
      case 0x3d:
      case 0x2d:
      case 0x2a:
      case 0x2b:
      case 0x21:
      case 0x5e:
      case 0x7e:
        has |= Has.Operator;
        break;
      case 0x2f:
        has |= Has.Slash;
        break;
      case 0x5c:
        has |= Has.Backslash;
        break;
      case 0x3a:
        has |= Has.Colon;
        break;
      case 0x2e:
        has |= Has.Dot;
        break;
      case 0x20:
      case 0x09:
      case 0x0b:
      case 0x0c:
      case 0xa0:
        has |= Has.Space;
        break;
      case 0x0a:
      case 0x0d:
        has |= Has.Newline | Has.Space;
        break;
      case 0x00:
        has |= Has.Nul;
        break;
      case 0x5f:
        has |= Has.Underscore;
        break;
      case 0x40:
        has |= Has.At;
        break;
      case 0x25:
        has |= Has.Percent;
        break;
    }
  }
  return has;
}

const SQLI_CHARS = Has.Quote | Has.Paren | Has.Semi | Has.Pipe | Has.Amp | Has.Hash | Has.Operator | Has.Slash | Has.Space | Has.At | Has.Lt;
const XSS_CHARS = Has.Lt | Has.Colon | Has.Paren | Has.Backtick | Has.Operator | Has.Dot;
const LFI_CHARS = Has.Slash | Has.Backslash | Has.Nul | Has.Dot;
const RCE_CHARS = Has.Semi | Has.Pipe | Has.Amp | Has.Backtick | Has.Dollar | Has.Newline | Has.Lt | Has.Brace | Has.Paren;
const SSTI_CHARS = Has.Brace | Has.Dollar | Has.Hash | Has.Underscore | Has.Dot | Has.Percent | Has.Lt | Has.At | Has.Paren;

const ALL_CATEGORIES: readonly Category[] = ['sqli', 'xss', 'lfi', 'rfi', 'rce', 'ssti', 'ssrf', 'ldap'];

/**
 * Headers that describe the client software, not the user, and that a client
 * sends byte for byte the same on every request: a browser's User-Agent costs
 * every detector (parentheses, semicolons, slashes, dots) on every request.
 * Their values that no detector matched in any decoded form are remembered
 * (CleanValues). Credentials (Authorization, Cookie, an API key header) and
 * values that carry URLs (Referer) are never remembered: a secret is not kept
 * past its request.
 */
const REMEMBERED_HEADERS: ReadonlySet<string> = new Set([
  'user-agent',
  'accept',
  'accept-language',
  'accept-encoding',
  'accept-charset',
  'sec-ch-ua',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
  'sec-fetch-site',
  'sec-fetch-mode',
  'sec-fetch-dest',
  'sec-fetch-user',
]);

/**
 * Values no detector matched, for REMEMBERED_HEADERS: whether a value matches
 * depends only on the value, the request's host (SSRF's same-host check) and
 * the engine's settings, which are fixed for its life, so a value found clean
 * once is clean for the same host. A value that matched anything, even a rule
 * an exclusion filtered or a score under the threshold, is inspected every
 * time, so scores and events are exactly what a full inspection gives.
 * Bounded in entries and value length; when full it starts over (a client
 * sending a new User-Agent each time only makes the cache useless).
 */
export class CleanValues {
  private readonly hosts = new Map<string, string>();

  constructor(
    private readonly maxEntries = 512,
    readonly maxLength = 1024,
  ) {}

  has(value: string, host: string): boolean {
    return this.hosts.get(value) === host;
  }

  add(value: string, host: string): void {
    if (value.length > this.maxLength) return;
    if (this.hosts.size >= this.maxEntries && !this.hosts.has(value)) this.hosts.clear();
    this.hosts.set(value, host);
  }

  get size(): number {
    return this.hosts.size;
  }
}

export class WafEngine {
  private readonly sqli = new SqliDetector();
  /** REMEMBERED_HEADERS' values found clean (see CleanValues). */
  readonly clean = new CleanValues();
  /** Categories with at least one enabled rule, so a disabled detector costs nothing. */
  readonly enabled: ReadonlySet<Category>;
  /**
   * The scan inspecting a value right now, for the two callbacks below. A value is inspected
   * synchronously from start to end and no scan starts inside another's, so one pair of callbacks
   * per engine serves every scan: none is made per request.
   */
  private active: Scan | undefined = undefined;
  private readonly onHit = (rule: Rule): boolean => this.active!.hit(rule);
  private readonly onForm = (form: string): boolean => {
    const scan = this.active!;
    scan.form = form;
    return this.detect(form, scan.host, this.onHit);
  };

  constructor(readonly settings: EngineSettings) {
    const enabled = new Set<Category>();
    for (const category of ALL_CATEGORIES) if (!settings.disabled.has(category)) enabled.add(category);
    this.enabled = enabled;
  }

  scan(path: string, host: string): Scan {
    return new Scan(this, this.settings.exclusions.forPath(path), host);
  }

  /** Every decoded form of `value` through the detectors for `scan`; true once it is blocked. */
  inspect(scan: Scan, value: string): boolean {
    this.active = scan;
    try {
      return forEachForm(value, this.onForm);
    } finally {
      this.active = undefined;
    }
  }

  /** Runs every enabled detector on one decoded form; calls `hit` per match until it returns true. */
  detect(form: string, host: string, hit: (rule: Rule) => boolean): boolean {
    const has = charsOf(form);
    if (has === 0) return false; // letters and digits only: nothing any detector looks for
    const paranoia = this.settings.paranoia;
    const on = this.enabled;
    const signals = signalsOf(form);
    const lower = form.toLowerCase();
    if (on.has('sqli') && has & SQLI_CHARS) {
      const level = this.sqli.check(form);
      if (level !== 0 && level <= paranoia && hit(level === 1 ? RULES.sqliTokens : RULES.sqliTokensStrict)) return true;
    }
    if (on.has('xss') && has & XSS_CHARS) {
      const rule = detectXss(form, lower, paranoia, signals);
      if (rule && hit(rule)) return true;
    }
    if (on.has('lfi') && has & LFI_CHARS) {
      const rule = detectLfi(form, lower, paranoia, signals);
      if (rule && hit(rule)) return true;
    }
    // a URL (a colon and a slash), or a bare host[:port] (a dot or a colon, no space)
    if ((on.has('rfi') || on.has('ssrf')) && ((has & Has.Colon && has & (Has.Slash | Has.Backslash)) || (has & (Has.Dot | Has.Colon) && !(has & Has.Space)))) {
      const rule = detectUrl(form, paranoia, host);
      if (rule && hit(rule)) return true;
    }
    if (on.has('rce') && (has & RCE_CHARS || (paranoia >= 2 && has & (Has.Space | Has.Slash)))) {
      const rule = detectRce(form, lower, paranoia, signals);
      if (rule && hit(rule)) return true;
    }
    if (on.has('ssti') && has & SSTI_CHARS) {
      const rule = detectTemplate(form, lower, paranoia, signals);
      if (rule && hit(rule)) return true;
    }
    // a filter needs "(" and an "=" (or the "&"/"|" of the always-true filters)
    if (on.has('ldap') && has & Has.Paren && has & (Has.Operator | Has.Amp | Has.Pipe)) {
      const rule = detectLdap(form);
      if (rule && hit(rule)) return true;
    }
    return false;
  }
}

export class Scan {
  score = 0;
  readonly matches: Match[] = [];
  /** Rule ids that scored: made at the first match (most requests have none). */
  private seen: Set<string> | undefined = undefined;
  /** Set while a value is inspected, for hit(): where it is (the target is made only if a rule matches) and the form. */
  private location: Location = 'path';
  private name = '';
  /** The target is the location alone ("path"), not "location:name". */
  private bare = false;
  form = '';
  private filter: RuleFilter | undefined = undefined;
  /** Detector matches so far, counted whether they scored or not: a value with none is clean. */
  private hits = 0;

  constructor(
    private readonly engine: WafEngine,
    private readonly exclusions: ReturnType<Exclusions['forPath']>,
    readonly host: string,
  ) {}

  /** A detector matched the form being inspected (WafEngine.inspect). */
  hit(rule: Rule): boolean {
    this.hits++;
    return this.add(rule, this.bare ? this.location : `${this.location}:${this.name}`, this.form, this.filter);
  }

  get blocked(): boolean {
    return this.score >= this.engine.settings.threshold;
  }

  /** Inspects one value; true once the threshold is reached. */
  value(location: Location, name: string, value: string): boolean {
    if (value.length === 0) return false;
    const filter = this.exclusions?.filterFor(location, name);
    if (filter === 'all') return false;
    const remembered = location === 'header' && REMEMBERED_HEADERS.has(name);
    const clean = this.engine.clean;
    if (remembered && clean.has(value, this.host)) return false;
    this.filter = filter;
    this.location = location;
    this.name = name;
    this.bare = name === '';
    const hits = this.hits;
    if (this.engine.inspect(this, value)) return true;
    if (remembered && this.hits === hits) clean.add(value, this.host);
    return false;
  }

  /** Inspects a parameter name or JSON key: prototype pollution, then the value detectors. */
  key(location: Location, name: string, path: string): boolean {
    if (name.length === 0) return false;
    const filter = this.exclusions?.filterFor(location, path);
    if (filter === 'all') return false;
    const proto = detectProtoKey(location === 'body' ? path : name);
    if (proto && this.add(proto, `${location}:${path}`, name, filter)) return true;
    if (isPlainName(name)) return false;
    this.filter = filter;
    this.location = location;
    this.name = path;
    this.bare = false;
    return this.engine.inspect(this, name);
  }

  /** Log4shell and Shellshock are checked in every header: Log4j logged and CGI exported whichever one it was handed. */
  headerProbe(name: string, value: string): boolean {
    const rule = value.startsWith('() {') || value.startsWith('(){') ? RULES.rceShellshock : detectJndi(value);
    if (!rule) return false;
    const filter = this.exclusions?.filterFor('header', name);
    if (filter === 'all') return false;
    return this.add(rule, `header:${name}`, value, filter);
  }

  /** A finding that is not about one value's content (a body that does not parse). */
  flag(rule: Rule, target: string): boolean {
    return this.add(rule, target, '', undefined);
  }

  private add(rule: Rule, target: string, value: string, filter: RuleFilter | undefined): boolean {
    const settings = this.engine.settings;
    if (rule.paranoia > settings.paranoia) return false;
    if (settings.disabled.has(rule.id) || settings.disabled.has(rule.category)) return false;
    if (filter && (filter.has(rule.id) || filter.has(rule.category))) return false;
    const seen = (this.seen ??= new Set());
    if (seen.has(rule.id)) return this.blocked;
    seen.add(rule.id);
    this.score += rule.score;
    if (this.matches.length < 8) this.matches.push({ rule, target, value });
    return this.blocked;
  }
}

function isPlainName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x5b || c === 0x5d;
    if (!ok) return false;
  }
  return true;
}
