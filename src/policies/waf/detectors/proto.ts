/**
 * Keys that reach into an object's prototype or class when a framework binds
 * parameters to objects: __proto__ and constructor.prototype (JavaScript
 * prototype pollution through JSON bodies, qs-style a[__proto__][x]=1
 * query strings, or lodash-style paths), and class.classLoader (Spring4Shell).
 * Checked on parameter names and JSON keys, not on values.
 */
import { RULES, type Rule } from '../rules.js';

/** A parameter name or JSON key path segment list, joined by "." for JSON. */
export function detectProtoKey(name: string): Rule | undefined {
  const lower = name.toLowerCase();
  if (lower.includes('__proto__')) return RULES.protoKey;
  const ctor = lower.indexOf('constructor');
  if (ctor !== -1) {
    // constructor[prototype], constructor.prototype, constructor][prototype
    const rest = lower.slice(ctor + 11);
    let i = 0;
    while (i < rest.length && (rest[i] === '.' || rest[i] === '[' || rest[i] === ']' || rest[i] === '"' || rest[i] === "'")) i++;
    if (i > 0 && rest.startsWith('prototype', i)) return RULES.protoConstructor;
  }
  if (lower.includes('classloader') && (lower.startsWith('class.') || lower.startsWith('class[') || lower.includes('.class.'))) return RULES.protoClassLoader;
  return undefined;
}
