/**
 * Per-field rules: required, allow / deny patterns (RE2, so no pattern an
 * operator writes can backtrack catastrophically), length limits.
 */
import RE2 from 're2';
import { ConfigError, type ConfigPath } from '../../config/errors.js';

export interface FieldRuleConfig {
  required: boolean;
  allow?: string;
  deny?: string;
  max_length?: number;
  min_length?: number;
}

/** Returns what is wrong with a value (undefined when it passes); `value` undefined means absent. */
export type FieldCheck = (value: string | undefined) => string | undefined;

export function compileRegex(source: string, at: ConfigPath): RE2 {
  try {
    return new RE2(source, 'u');
  } catch (err) {
    throw new ConfigError(`invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`, at);
  }
}

export function compileField(rule: FieldRuleConfig, at: ConfigPath): FieldCheck {
  const allow = rule.allow !== undefined ? compileRegex(rule.allow, [...at, 'allow']) : undefined;
  const deny = rule.deny !== undefined ? compileRegex(rule.deny, [...at, 'deny']) : undefined;
  const { max_length: max, min_length: min, required } = rule;
  if (max !== undefined && min !== undefined && min > max) throw new ConfigError('min_length is larger than max_length', at);
  return (value) => {
    if (value === undefined) return required ? 'is required' : undefined;
    if (max !== undefined && value.length > max) return `is longer than ${max} characters`;
    if (min !== undefined && value.length < min) return `is shorter than ${min} characters`;
    if (allow && !allow.test(value)) return 'does not match the allowed pattern';
    if (deny?.test(value)) return 'matches a denied pattern';
    return undefined;
  };
}

/** The value at a dotted path in parsed JSON (user.email, items.0.sku), as a string when it is a scalar. */
export function valueAt(root: unknown, path: readonly string[]): string | undefined {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node === 'string') return node;
  if (typeof node === 'number' || typeof node === 'boolean') return String(node);
  return node === null || node === undefined ? undefined : JSON.stringify(node);
}
