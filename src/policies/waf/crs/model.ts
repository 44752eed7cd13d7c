/** The compiled rule model the engine runs. */
import type RE2 from 're2';
import type { Operator } from './operators.js';
import type { Transform } from './transforms.js';

export interface Target {
  /** Upper-case collection name: ARGS, REQUEST_HEADERS, TX, XML ... */
  readonly name: string;
  /** Lower-cased key for collections; the XPath for XML. */
  readonly key: string | undefined;
  readonly keyRegex: RE2 | undefined;
  /** &VAR: the number of values. */
  readonly count: boolean;
}

export interface TargetExclusion {
  readonly name: string;
  readonly key: string | undefined;
  readonly keyRegex: RE2 | undefined;
}

export interface SetVar {
  /** "tx" for TX; other collections are accepted and kept per transaction too. */
  readonly collection: string;
  /** Name; may hold macros. */
  readonly name: string;
  readonly op: '=' | '+' | '-' | 'delete';
  /** Value; may hold macros. */
  readonly value: string;
}

export interface Ctl {
  readonly name: string;
  readonly value: string;
}

export type Disruptive = 'pass' | 'block' | 'deny' | 'drop' | 'allow' | 'redirect';

export interface Rule {
  readonly id: number;
  phase: number;
  readonly file: string;
  readonly line: number;
  /** Targets added by SecRuleUpdateTargetById change these in place at load time. */
  targets: Target[];
  exclusions: TargetExclusion[];
  readonly operator: Operator;
  transforms: Transform[];
  transformNames: string[];
  /** The names joined: the key of the per-request transformation cache. */
  transformKey: string;
  multiMatch: boolean;
  capture: boolean;
  /** The next rule of a chain. */
  chained: Rule | undefined;
  /** The rule is a link of a chain (not its start). */
  readonly inChain: boolean;
  setvars: SetVar[];
  ctls: Ctl[];
  skipAfter: string | undefined;
  skip: number;
  disruptive: Disruptive | undefined;
  status: number | undefined;
  log: boolean;
  msg: string | undefined;
  logdata: string | undefined;
  tags: string[];
  severity: number | undefined;
  ver: string | undefined;
  /** From the tag paranoia-level/N (1 when none). */
  paranoia: number;
  /** SecAction: no targets, always matches once. */
  readonly unconditional: boolean;
}

export type PhaseItem = { readonly kind: 'rule'; readonly rule: Rule } | { readonly kind: 'marker'; readonly name: string };

export const SEVERITIES: Readonly<Record<string, number>> = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};
