/**
 * Builds the rule set from SecLang directives: defaults per phase, chains,
 * markers, configure-time removals and target updates. Anything unknown (a
 * directive, operator, variable, action, transformation) is refused with its
 * file and line: a rule that silently did nothing would be a hole.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type RE2 from 're2';
import { expandGlob } from './glob.js';
import { compileOperator, compileRegex, OperatorError } from './operators.js';
import { parseActions, parseOperator, parseSecLang, parseVariables, SecLangError, type Directive, type ParsedAction, type ParsedVariable } from './parser.js';
import { SEVERITIES, type Ctl, type Disruptive, type PhaseItem, type Rule, type SetVar, type Target, type TargetExclusion } from './model.js';
import { TRANSFORMS, transformsFor, type Transform, type UnmappedUnicode } from './transforms.js';
import { VARIABLE_NAMES } from './variables.js';

/** Settings directives: accepted; the gateway's own config governs what they would govern. */
const SETTINGS = new Set(
  [
    'SecRequestBodyAccess', 'SecResponseBodyAccess', 'SecRequestBodyLimit', 'SecRequestBodyNoFilesLimit', 'SecRequestBodyInMemoryLimit',
    'SecRequestBodyLimitAction', 'SecRequestBodyJsonDepthLimit', 'SecArgumentsLimit', 'SecPcreMatchLimit', 'SecPcreMatchLimitRecursion',
    'SecTmpDir', 'SecDataDir', 'SecAuditEngine', 'SecAuditLog', 'SecAuditLog2', 'SecAuditLogParts', 'SecAuditLogType', 'SecAuditLogFormat',
    'SecAuditLogStorageDir', 'SecAuditLogRelevantStatus', 'SecAuditLogDirMode', 'SecAuditLogFileMode', 'SecDebugLog', 'SecDebugLogLevel',
    'SecArgumentSeparator', 'SecCookieFormat', 'SecUnicodeMapFile', 'SecStatusEngine', 'SecCollectionTimeout', 'SecComponentSignature',
    'SecResponseBodyMimeType', 'SecResponseBodyMimeTypesClear', 'SecResponseBodyLimit', 'SecResponseBodyLimitAction', 'SecUploadDir',
    'SecUploadKeepFiles', 'SecUploadFileMode', 'SecUploadFileLimit', 'SecTmpSaveUploadedFiles', 'SecServerSignature', 'SecWebAppId',
    'SecSensorId', 'SecHttpBlKey', 'SecGeoLookupDb', 'SecXmlExternalEntity', 'SecConnEngine', 'SecContentInjection', 'SecStreamOutBodyInspection',
    'SecRequestBodyJsonDepthLimit', 'SecCacheTransformations', 'SecHashEngine', 'SecInterceptOnError', 'SecUnicodeCodePage',
  ].map((s) => s.toLowerCase()),
);

const NON_DISRUPTIVE_IGNORED = new Set([
  'auditlog', 'noauditlog', 'maturity', 'accuracy', 'rev', 'expirevar', 'initcol', 'setenv', 'setuid', 'setsid', 'setrsc', 'deprecatevar',
  'sanitisearg', 'sanitisematched', 'sanitisematchedbytes', 'sanitiserequestheader', 'sanitiseresponseheader', 'sanitizearg',
  'sanitizematched', 'sanitizematchedbytes', 'sanitizerequestheader', 'sanitizeresponseheader', 'xmlns', 'pause', 'append', 'prepend',
]);

const CTL_NAMES = new Set([
  'ruleengine', 'ruleremovebyid', 'ruleremovebytag', 'ruleremovebymsg', 'ruleremovetargetbyid', 'ruleremovetargetbytag',
  'ruleremovetargetbymsg', 'requestbodyprocessor', 'requestbodyaccess', 'forcerequestbodyvariable', 'auditengine', 'auditlogparts',
  'responsebodyaccess', 'requestbodylimit', 'debugloglevel', 'hashengine', 'responsebodyprocessor', 'parsexmlintoargs',
]);

export interface RuleSetOptions {
  /** Called for each Include: the file's text. Defaults to reading the file. */
  readonly readFile?: (path: string) => string;
  /** How t:urlDecodeUni reads a code point the best-fit table lacks ('letter' unless told). */
  readonly unmappedUnicode?: UnmappedUnicode;
}

interface PhaseDefaults {
  disruptive: Disruptive;
  log: boolean;
  transforms: string[];
}

export class RuleSet {
  readonly phases: PhaseItem[][] = [[], [], [], [], [], []];
  readonly byId = new Map<number, Rule>();
  /** SecRuleEngine: On, Off or DetectionOnly. */
  engine: 'On' | 'Off' | 'DetectionOnly' = 'On';
  /** Counts the texts loaded: what the engine compiled from the rules (program.ts) is made again when it changes. */
  revision = 0;
  private readonly defaults = new Map<number, PhaseDefaults>();
  private readonly files: string[] = [];
  private readonly read: (path: string) => string;
  private readonly transforms: Readonly<Record<string, Transform>>;

  constructor(options: RuleSetOptions = {}) {
    this.read = options.readFile ?? ((p) => readFileSync(p, 'utf8'));
    this.transforms = transformsFor(options.unmappedUnicode ?? 'letter');
  }

  /** Every file loaded, in order. */
  get loadedFiles(): readonly string[] {
    return this.files;
  }

  get ruleCount(): number {
    return this.byId.size;
  }

  /** Loads one file (or every *.conf of a directory, in name order). */
  loadPath(path: string): void {
    const full = resolve(path);
    if (statSync(full).isDirectory()) {
      for (const name of readdirSync(full).filter((n) => n.endsWith('.conf')).sort()) this.loadFile(join(full, name));
      return;
    }
    this.loadFile(full);
  }

  loadFile(file: string): void {
    this.files.push(file);
    this.loadText(this.read(file), file);
  }

  loadText(text: string, file: string): void {
    this.revision++;
    const directives = parseSecLang(text, file);
    for (let i = 0; i < directives.length; i++) {
      const d = directives[i]!;
      if (d.name.toLowerCase() === 'secrule' || d.name.toLowerCase() === 'secaction') {
        // a chain: the following SecRule directives belong to this rule
        let j = i;
        const links: Directive[] = [d];
        while (this.hasChain(directives[j]!)) {
          j++;
          const next = directives[j];
          if (!next || next.name.toLowerCase() !== 'secrule') throw new SecLangError(d.file, d.line, 'chain without a following SecRule');
          links.push(next);
        }
        this.addRule(links);
        i = j;
        continue;
      }
      this.directive(d);
    }
  }

  private hasChain(d: Directive): boolean {
    const actions = d.name.toLowerCase() === 'secaction' ? d.args[0] : d.args[2];
    return actions !== undefined && /(^|,)\s*chain\s*(,|$)/.test(actions);
  }

  private directive(d: Directive): void {
    const name = d.name.toLowerCase();
    const fail = (msg: string): never => {
      throw new SecLangError(d.file, d.line, msg);
    };
    switch (name) {
      case 'include': {
        const target = resolve(dirname(d.file), d.args[0] ?? fail('Include needs a path'));
        for (const f of expandGlob(target)) this.loadFile(f);
        return;
      }
      case 'secmarker': {
        const marker = d.args[0] ?? fail('SecMarker needs a name');
        for (const list of this.phases) list.push({ kind: 'marker', name: marker });
        return;
      }
      case 'secdefaultaction': {
        const actions = parseActions(d.args[0] ?? '', d.file, d.line);
        const phase = this.phaseOf(actions, d);
        const defaults: PhaseDefaults = { disruptive: 'pass', log: true, transforms: [] };
        for (const a of actions) {
          const n = a.name.toLowerCase();
          if (['pass', 'block', 'deny', 'drop', 'allow', 'redirect'].includes(n)) defaults.disruptive = n as Disruptive;
          else if (n === 'log') defaults.log = true;
          else if (n === 'nolog') defaults.log = false;
          else if (n === 't') {
            if (a.value?.toLowerCase() === 'none') defaults.transforms = [];
            else defaults.transforms.push(this.transformName(a.value ?? '', d));
          }
        }
        this.defaults.set(phase, defaults);
        return;
      }
      case 'secruleengine': {
        const v = d.args[0] ?? '';
        const m = ({ on: 'On', off: 'Off', detectiononly: 'DetectionOnly' } as const)[v.toLowerCase() as 'on'];
        if (!m) fail(`SecRuleEngine must be On, Off or DetectionOnly, not ${JSON.stringify(v)}`);
        this.engine = m;
        return;
      }
      case 'secruleremovebyid':
        for (const arg of d.args) this.removeWhere((r) => idInRange(r.id, arg, d));
        return;
      case 'secruleremovebytag': {
        const re = this.regex(d.args[0] ?? '', d);
        this.removeWhere((r) => r.tags.some((t) => re.test(t)));
        return;
      }
      case 'secruleremovebymsg': {
        const re = this.regex(d.args[0] ?? '', d);
        this.removeWhere((r) => r.msg !== undefined && re.test(r.msg));
        return;
      }
      case 'secruleupdatetargetbyid':
      case 'secruleupdatetargetbytag':
      case 'secruleupdatetargetbymsg': {
        const [selector, targets, replaced] = d.args;
        if (selector === undefined || targets === undefined) fail(`${d.name} needs a selector and targets`);
        const vars = this.variables(targets!, d);
        const re = name === 'secruleupdatetargetbyid' ? undefined : this.regex(selector!, d);
        for (const rule of this.byId.values()) {
          const hit = re === undefined ? idInRange(rule.id, selector!, d) : name.endsWith('bytag') ? rule.tags.some((t) => re.test(t)) : re.test(rule.msg ?? '');
          if (!hit) continue;
          if (replaced !== undefined) {
            const old = this.variables(replaced, d)[0];
            if (old) rule.targets = rule.targets.filter((t) => !(t.name === old.name && t.key === old.key));
          }
          for (const v of vars) {
            if (v.exclude) rule.exclusions.push(this.exclusion(v, d));
            else rule.targets.push(this.target(v, d));
          }
        }
        return;
      }
      case 'secruleupdateactionbyid': {
        const [idText, actionText] = d.args;
        const rule = this.byId.get(Number(idText));
        if (!rule) return;
        const actions = parseActions(actionText ?? '', d.file, d.line);
        this.applyActions(rule, actions, d, true);
        return;
      }
      default:
        if (SETTINGS.has(name)) return;
        fail(`unknown directive ${d.name}`);
    }
  }

  private removeWhere(pred: (r: Rule) => boolean): void {
    for (const [id, rule] of this.byId) {
      if (!pred(rule)) continue;
      this.byId.delete(id);
      for (const list of this.phases) {
        const i = list.findIndex((it) => it.kind === 'rule' && it.rule === rule);
        if (i !== -1) list.splice(i, 1);
      }
    }
  }

  private regex(pattern: string, d: Directive): RE2 {
    try {
      return compileRegex(pattern);
    } catch (e) {
      throw new SecLangError(d.file, d.line, `bad regex ${JSON.stringify(pattern)}: ${(e as Error).message}`);
    }
  }

  private phaseOf(actions: readonly ParsedAction[], d: Directive): number {
    const p = actions.find((a) => a.name.toLowerCase() === 'phase')?.value;
    if (p === undefined) return 2;
    const n = p === 'request' ? 2 : p === 'response' ? 4 : p === 'logging' ? 5 : Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 5) throw new SecLangError(d.file, d.line, `bad phase ${JSON.stringify(p)}`);
    return n;
  }

  private transformName(name: string, d: Directive): string {
    const key = name.toLowerCase();
    if (key !== 'none' && !TRANSFORMS[key]) throw new SecLangError(d.file, d.line, `unknown transformation t:${name}`);
    return key;
  }

  private variables(text: string, d: Directive): ParsedVariable[] {
    const vars = parseVariables(text, d.file, d.line);
    for (const v of vars) if (!VARIABLE_NAMES.has(v.name)) throw new SecLangError(d.file, d.line, `unknown variable ${v.name}`);
    return vars;
  }

  private keyRegex(v: ParsedVariable, d: Directive): RE2 | undefined {
    if (!v.keyIsRegex || v.key === undefined) return undefined;
    try {
      return compileRegex(v.key, 'i');
    } catch (e) {
      throw new SecLangError(d.file, d.line, `bad key regex /${v.key}/: ${(e as Error).message}`);
    }
  }

  private target(v: ParsedVariable, d: Directive): Target {
    const keyRegex = this.keyRegex(v, d);
    return { name: v.name, key: keyRegex || v.key === undefined ? undefined : v.name === 'XML' ? v.key : v.key.toLowerCase(), keyRegex, count: v.count };
  }

  private exclusion(v: ParsedVariable, d: Directive): TargetExclusion {
    const keyRegex = this.keyRegex(v, d);
    return { name: v.name, key: keyRegex || v.key === undefined ? undefined : v.key.toLowerCase(), keyRegex };
  }

  private addRule(links: Directive[]): void {
    let first: Rule | undefined;
    let prev: Rule | undefined;
    for (let i = 0; i < links.length; i++) {
      const rule = this.buildRule(links[i]!, i > 0, first);
      if (!first) first = rule;
      if (prev) prev.chained = rule;
      prev = rule;
    }
    const rule = first!;
    if (this.byId.has(rule.id)) throw new SecLangError(rule.file, rule.line, `rule id ${rule.id} is defined twice`);
    this.byId.set(rule.id, rule);
    this.phases[rule.phase]!.push({ kind: 'rule', rule });
  }

  private buildRule(d: Directive, inChain: boolean, first: Rule | undefined): Rule {
    const isAction = d.name.toLowerCase() === 'secaction';
    const fail = (msg: string): never => {
      throw new SecLangError(d.file, d.line, msg);
    };
    if (isAction ? d.args.length !== 1 : d.args.length < 2 || d.args.length > 3) fail(`${d.name} has ${d.args.length} arguments`);
    const actions = parseActions((isAction ? d.args[0] : d.args[2]) ?? '', d.file, d.line);
    const phase = inChain ? first!.phase : this.phaseOf(actions, d);
    const idText = actions.find((a) => a.name.toLowerCase() === 'id')?.value;
    const id = inChain ? first!.id : Number(idText);
    if (!inChain && (idText === undefined || !Number.isInteger(id) || id <= 0)) fail('a rule needs an id');
    let operator;
    try {
      if (isAction) operator = compileOperator('unconditionalMatch', '', false, d.file);
      else {
        const op = parseOperator(d.args[1]!);
        operator = compileOperator(op.name, op.argument, op.negated, d.file);
      }
    } catch (e) {
      if (e instanceof OperatorError) fail(e.message);
      throw e;
    }
    const targets: Target[] = [];
    const exclusions: TargetExclusion[] = [];
    if (!isAction) {
      for (const v of this.variables(d.args[0]!, d)) {
        if (v.exclude) exclusions.push(this.exclusion(v, d));
        else targets.push(this.target(v, d));
      }
    }
    const defaults = this.defaults.get(phase) ?? { disruptive: 'pass', log: true, transforms: [] };
    const rule: Rule = {
      id,
      phase,
      file: d.file,
      line: d.line,
      targets,
      exclusions,
      operator,
      transforms: [],
      transformNames: inChain ? [] : [...defaults.transforms],
      transformKey: '',
      multiMatch: false,
      capture: false,
      chained: undefined,
      inChain,
      setvars: [],
      ctls: [],
      skipAfter: undefined,
      skip: 0,
      disruptive: undefined,
      status: undefined,
      log: inChain ? false : defaults.log,
      msg: undefined,
      logdata: undefined,
      tags: [],
      severity: undefined,
      ver: undefined,
      paranoia: 1,
      unconditional: isAction,
    };
    this.applyActions(rule, actions, d, false);
    if (!inChain && rule.disruptive === undefined) rule.disruptive = defaults.disruptive;
    if (rule.disruptive === 'block') rule.disruptive = defaults.disruptive === 'block' ? 'pass' : defaults.disruptive;
    return rule;
  }

  private applyActions(rule: Rule, actions: readonly ParsedAction[], d: Directive, update: boolean): void {
    const fail = (msg: string): never => {
      throw new SecLangError(d.file, d.line, msg);
    };
    if (update) {
      // SecRuleUpdateActionById replaces what it names
      if (actions.some((a) => a.name.toLowerCase() === 't')) rule.transformNames = [];
      if (actions.some((a) => a.name.toLowerCase() === 'tag')) rule.tags = [];
    }
    for (const a of actions) {
      const n = a.name.toLowerCase();
      const v = a.value ?? '';
      switch (n) {
        case 'id':
        case 'phase':
          break;
        case 'msg':
          rule.msg = v;
          break;
        case 'logdata':
          rule.logdata = v;
          break;
        case 'tag':
          rule.tags.push(v);
          {
            const pl = /^paranoia-level\/(\d)$/.exec(v);
            if (pl) rule.paranoia = Number(pl[1]);
          }
          break;
        case 'ver':
          rule.ver = v;
          break;
        case 'severity': {
          const s = /^\d$/.test(v) ? Number(v) : SEVERITIES[v.toLowerCase()];
          if (s === undefined) fail(`unknown severity ${JSON.stringify(v)}`);
          rule.severity = s;
          break;
        }
        case 't':
          if (v.toLowerCase() === 'none') rule.transformNames = [];
          else rule.transformNames.push(this.transformName(v, d));
          break;
        case 'chain':
          break;
        case 'skipafter':
          rule.skipAfter = v;
          break;
        case 'skip':
          rule.skip = Number(v) || 0;
          break;
        case 'setvar':
          rule.setvars.push(parseSetVar(v, d));
          break;
        case 'ctl': {
          const eq = v.indexOf('=');
          const name = (eq === -1 ? v : v.slice(0, eq)).trim().toLowerCase();
          if (!CTL_NAMES.has(name)) fail(`unknown ctl ${JSON.stringify(v)}`);
          rule.ctls.push({ name, value: eq === -1 ? '' : v.slice(eq + 1).trim() } satisfies Ctl);
          break;
        }
        case 'capture':
          rule.capture = true;
          break;
        case 'multimatch':
          rule.multiMatch = true;
          break;
        case 'pass':
        case 'block':
        case 'deny':
        case 'drop':
        case 'allow':
        case 'redirect':
          rule.disruptive = n;
          break;
        case 'status':
          rule.status = Number(v);
          break;
        case 'log':
          rule.log = true;
          break;
        case 'nolog':
          rule.log = false;
          break;
        case 'exec':
        case 'proxy':
          fail(`action ${a.name} is not supported (the gateway runs no scripts and proxies only to its services)`);
          break;
        default:
          if (!NON_DISRUPTIVE_IGNORED.has(n)) fail(`unknown action ${a.name}`);
      }
    }
    rule.transforms = rule.transformNames.map((t) => this.transforms[t]!) satisfies Transform[];
    rule.transformKey = rule.transformNames.join(',');
  }
}

function idInRange(id: number, spec: string, d: Directive): boolean {
  for (const part of spec.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new SecLangError(d.file, d.line, `bad rule id or range ${JSON.stringify(part)}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (id >= a && id <= b) return true;
  }
  return false;
}

function parseSetVar(text: string, d: Directive): SetVar {
  let s = text.trim();
  let del = false;
  if (s.startsWith('!')) {
    del = true;
    s = s.slice(1);
  }
  const eq = s.indexOf('=');
  const lhs = eq === -1 ? s : s.slice(0, eq);
  const dot = lhs.indexOf('.');
  if (dot === -1) throw new SecLangError(d.file, d.line, `setvar needs collection.name: ${JSON.stringify(text)}`);
  const collection = lhs.slice(0, dot).toLowerCase();
  const name = lhs.slice(dot + 1);
  if (del) return { collection, name, op: 'delete', value: '' };
  if (eq === -1) return { collection, name, op: '=', value: '1' };
  let value = s.slice(eq + 1);
  let op: SetVar['op'] = '=';
  if (value.startsWith('+')) {
    op = '+';
    value = value.slice(1);
  } else if (value.startsWith('-')) {
    op = '-';
    value = value.slice(1);
  }
  return { collection, name, op, value };
}

/** Rule ids: what a rule-id exclusion may name. */
export function ruleIds(set: RuleSet): number[] {
  return [...set.byId.keys()];
}
