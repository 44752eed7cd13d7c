/**
 * basic-auth: HTTP Basic (RFC 7617, UTF-8) against consumers' password
 * hashes. Passwords are only ever held as scrypt or bcrypt hashes; an unknown
 * user is checked against a dummy hash so that "no such user" and "wrong
 * password" take as long and read the same. Hashing is slow on purpose, so a
 * verified pair is remembered (by a keyed digest, never the password) for a
 * short time.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { ConfigError } from '../../config/errors.js';
import { parseDuration } from '../../config/units.js';
import type { RequestContext } from '../../pipeline/context.js';
import { deny, type Deny } from '../../pipeline/decision.js';
import { MISSING_CREDENTIALS } from '../../pipeline/events.js';
import { definePolicy, type ConsumerCredential } from '../../pipeline/policy.js';
import { basicChallenge, parseBasic } from '../../identity/basic.js';
import { BoundedCache } from '../../identity/lru.js';
import { dummyHash, parsePasswordHash, verifyPassword, type PasswordHash } from '../../identity/passwords.js';
import { BasicAuthCredentialSchema, BasicAuthSchema } from './schema.js';
import type { Static } from '@sinclair/typebox';

type Credential = Static<typeof BasicAuthCredentialSchema>;

interface User {
  readonly credential: ConsumerCredential<Credential>;
  readonly hash: PasswordHash;
}

function userIndex(credentials: readonly ConsumerCredential<Credential>[]): Map<string, User> {
  const users = new Map<string, User>();
  for (const credential of credentials) {
    const username = credential.config.username.normalize('NFC');
    if (username.includes(':')) throw new ConfigError('a Basic username cannot contain ":"', [...credential.path, 'username'], true);
    const hash = parsePasswordHash(credential.config.password_hash);
    if (typeof hash === 'string') throw new ConfigError(hash, [...credential.path, 'password_hash'], true);
    const other = users.get(username);
    if (other) {
      throw new ConfigError(`username "${username}" is also used by consumer "${other.credential.consumer.name}"`, [...credential.path, 'username'], true);
    }
    users.set(username, { credential, hash });
  }
  return users;
}

export default definePolicy({
  name: 'basic-auth',
  phase: 'authenticate',
  description: 'Authenticates callers by HTTP Basic username and password against hashed consumer credentials.',
  config: BasicAuthSchema,
  credentials: BasicAuthCredentialSchema,
  compile(config, deps) {
    const users = userIndex(deps.credentials);
    const challenge = { 'www-authenticate': basicChallenge(config.realm) };
    const missing = deny(401, 'unauthorized', { headers: challenge, event: { type: MISSING_CREDENTIALS, severity: 'low', reason: 'no Basic credentials' } });
    const malformed = deny(401, 'unauthorized', {
      headers: challenge,
      event: { type: 'auth.malformed_credentials', severity: 'medium', reason: 'malformed Basic credentials' },
    });
    const invalid = deny(401, 'unauthorized', {
      headers: challenge,
      event: { type: 'auth.invalid_credentials', severity: 'medium', reason: 'unknown user or wrong password' },
    });
    const ttlMs = parseDuration(config.cache.ttl);
    const verified = config.cache.max_entries > 0 && ttlMs > 0 ? new BoundedCache<User>(config.cache.max_entries) : undefined;
    // Keyed per instance so the cache holds nothing an attacker could test guesses against offline.
    const cacheKey = randomBytes(32);
    const digest = (username: string, password: string) => createHmac('sha256', cacheKey).update(username).update('\0').update(password).digest('base64url');

    const accept = (ctx: RequestContext, user: User): undefined => {
      ctx.authenticate(user.credential.consumer, user.credential.id, 'basic-auth');
      if (!config.keep_credential) ctx.removeUpstreamHeader('authorization');
      return undefined;
    };

    const check = async (ctx: RequestContext, username: string, password: string, key: string): Promise<Deny | undefined> => {
      const user = users.get(username);
      const ok = await verifyPassword(password, user?.hash ?? (await dummyHash()));
      if (!user || !ok) return invalid;
      verified?.set(key, user, Date.now() + ttlMs);
      return accept(ctx, user);
    };

    return {
      // Computes the dummy hash before the first request, so the first unknown user is not faster.
      ready: async () => {
        await dummyHash();
      },
      onRequest(ctx) {
        const parsed = parseBasic(ctx.header('authorization'));
        if (parsed.kind === 'missing') return missing;
        if (parsed.kind === 'malformed') return malformed;
        const { username, password } = parsed.credentials;
        const key = digest(username, password);
        const hit = verified?.get(key);
        if (hit) return accept(ctx, hit);
        return check(ctx, username, password, key);
      },
    };
  },
});
