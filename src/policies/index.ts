/** Every policy the gateway ships; a config names them by `name`. */
import type { AnyPolicyDefinition } from '../pipeline/policy.js';
import botDetection from './bot-detection/index.js';
import cors from './cors/index.js';
import ipRestriction from './ip-restriction/index.js';
import keyAuth from './key-auth/index.js';
import requestValidation from './request-validation/index.js';
import waf from './waf/index.js';

export const builtinPolicies: readonly AnyPolicyDefinition[] = [keyAuth, ipRestriction, botDetection, cors, waf, requestValidation];

export const policiesByName: ReadonlyMap<string, AnyPolicyDefinition> = new Map(builtinPolicies.map((p) => [p.name, p]));
