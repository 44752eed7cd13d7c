/** Every policy the gateway ships; a config names them by `name`. */
import type { AnyPolicyDefinition } from '../pipeline/policy.js';
import acl from './acl/index.js';
import bandwidthLimit from './bandwidth-limit/index.js';
import basicAuth from './basic-auth/index.js';
import botDetection from './bot-detection/index.js';
import claims from './claims/index.js';
import concurrencyLimit from './concurrency-limit/index.js';
import cors from './cors/index.js';
import headers from './headers/index.js';
import hmacAuth from './hmac-auth/index.js';
import ipRestriction from './ip-restriction/index.js';
import jwt from './jwt/index.js';
import keyAuth from './key-auth/index.js';
import ldapAuth from './ldap-auth/index.js';
import mtlsAuth from './mtls-auth/index.js';
import introspection from './oauth2-introspection/index.js';
import oidc from './oidc/index.js';
import quota from './quota/index.js';
import rateLimit from './rate-limit/index.js';
import requestSize from './request-size/index.js';
import requestValidation from './request-validation/index.js';
import waf from './waf/index.js';
import functionHook from '../functions/hook.js';

export const builtinPolicies: readonly AnyPolicyDefinition[] = [
  keyAuth,
  basicAuth,
  jwt,
  introspection,
  oidc,
  hmacAuth,
  ldapAuth,
  mtlsAuth,
  acl,
  claims,
  ipRestriction,
  botDetection,
  cors,
  waf,
  requestValidation,
  requestSize,
  rateLimit,
  quota,
  concurrencyLimit,
  bandwidthLimit,
  headers,
  functionHook,
];

export const policiesByName: ReadonlyMap<string, AnyPolicyDefinition> = new Map(builtinPolicies.map((p) => [p.name, p]));
