/** Every policy the gateway ships; a config names them by `name`. */
import type { AnyPolicyDefinition } from '../pipeline/policy.js';
import bandwidthLimit from './bandwidth-limit/index.js';
import concurrencyLimit from './concurrency-limit/index.js';
import keyAuth from './key-auth/index.js';
import quota from './quota/index.js';
import rateLimit from './rate-limit/index.js';
import requestSize from './request-size/index.js';

export const builtinPolicies: readonly AnyPolicyDefinition[] = [keyAuth, requestSize, rateLimit, quota, concurrencyLimit, bandwidthLimit];

export const policiesByName: ReadonlyMap<string, AnyPolicyDefinition> = new Map(builtinPolicies.map((p) => [p.name, p]));
