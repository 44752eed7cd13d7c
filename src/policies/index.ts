/** Every policy the gateway ships; a config names them by `name`. */
import type { AnyPolicyDefinition } from '../pipeline/policy.js';
import keyAuth from './key-auth/index.js';
import waf from './waf/index.js';

export const builtinPolicies: readonly AnyPolicyDefinition[] = [keyAuth, waf];

export const policiesByName: ReadonlyMap<string, AnyPolicyDefinition> = new Map(builtinPolicies.map((p) => [p.name, p]));
