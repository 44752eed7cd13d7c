/**
 * key-auth: an API key in a header (or, when configured, a query parameter).
 * Keys are held only as SHA-256 digests; a request's key is hashed and looked
 * up by digest, so lookup timing depends on the digest, never on how much of
 * a real key an attacker guessed. Missing and wrong keys get the same answer.
 */
import { hash } from 'node:crypto';
import { ConfigError, ConfigErrors } from '../../config/errors.js';
import { deny } from '../../pipeline/decision.js';
import { declareCredentialName } from '../../pipeline/credential-names.js';
import { definePolicy, type ConsumerCredential } from '../../pipeline/policy.js';
import { KeyAuthCredentialSchema, KeyAuthSchema } from './schema.js';
import type { Static } from '@sinclair/typebox';

type Credential = Static<typeof KeyAuthCredentialSchema>;

const challenge = { 'www-authenticate': 'Key realm="portcullis"' };
const missing = deny('unauthorized', {
  headers: challenge,
  event: { type: 'auth.missing_credentials', severity: 'low', message: 'no API key' },
});
const invalid = deny('unauthorized', {
  headers: challenge,
  event: { type: 'auth.invalid_credentials', severity: 'medium', reason: 'unknown_credential', message: 'unknown API key', data: { method: 'key-auth' } },
});

/** crypto.hash, the one-shot digest: about a third of a Hash object's cost per presented key. */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

/** Who holds a key: all the index keeps of a credential, so the key itself is not kept. */
interface KeyHolder {
  readonly consumer: ConsumerCredential['consumer'];
  readonly id: string;
}

/** Every credential by the digest of its key; every bad credential is reported, not just the first. */
function digestIndex(credentials: readonly ConsumerCredential<Credential>[]): Map<string, KeyHolder> {
  const index = new Map<string, KeyHolder>();
  const errors: ConfigError[] = [];
  for (const credential of credentials) {
    const { key, key_sha256 } = credential.config;
    if ((key === undefined) === (key_sha256 === undefined)) {
      errors.push(new ConfigError('a key-auth credential needs exactly one of "key" or "key_sha256"', credential.path, true));
      continue;
    }
    const digest = key !== undefined ? sha256Hex(key) : key_sha256!.toLowerCase();
    const other = index.get(digest);
    if (other) {
      errors.push(new ConfigError(`this key is also held by consumer "${other.consumer.name}"; keys must be unique`, credential.path, true));
      continue;
    }
    index.set(digest, { consumer: credential.consumer, id: credential.id });
  }
  ConfigErrors.throwIfAny(errors);
  return index;
}

export default definePolicy({
  name: 'key-auth',
  phase: 'authenticate',
  description: 'Authenticates callers by an API key sent in a header or query parameter.',
  config: KeyAuthSchema,
  credentials: KeyAuthCredentialSchema,
  compile(config, deps) {
    const index = digestIndex(deps.credentials);
    const header = config.header.toLowerCase();
    const query = config.query;
    // the waf's CRS engine keeps no value held under these names across requests
    declareCredentialName(header);
    if (query !== undefined) declareCredentialName(query);
    const queryPrefix = query ? `${encodeURIComponent(query)}=` : undefined;
    return {
      onRequest(ctx) {
        let key = ctx.header(header);
        let fromQuery = false;
        if (key === undefined && queryPrefix) {
          key = queryValue(ctx.query, queryPrefix);
          fromQuery = key !== undefined;
        }
        if (key === undefined || key === '') return missing;
        const digest = sha256Hex(key);
        ctx.attemptedCredential = `key:${digest}`;
        const found = index.get(digest);
        if (!found) return invalid;
        ctx.authenticate(found.consumer, found.id, 'key-auth');
        if (!config.keep_credential) {
          if (fromQuery) ctx.upstreamQuery = withoutParam(ctx.upstreamQuery ?? ctx.query, queryPrefix!);
          else ctx.removeUpstreamHeader(header);
        }
        return undefined;
      },
    };
  },
});

function queryValue(query: string, prefix: string): string | undefined {
  for (const pair of query.split('&')) {
    if (pair.startsWith(prefix)) {
      try {
        return decodeURIComponent(pair.slice(prefix.length).replace(/\+/g, ' '));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function withoutParam(query: string, prefix: string): string {
  return query
    .split('&')
    .filter((pair) => !pair.startsWith(prefix))
    .join('&');
}
