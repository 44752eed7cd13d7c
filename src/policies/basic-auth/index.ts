/**
 * basic-auth: HTTP Basic (RFC 7617, UTF-8) against consumers' password
 * hashes. Passwords are only ever held as scrypt or bcrypt hashes.
 *
 * Every check costs the same, whoever it names: it computes one hash of each
 * hash profile (kind and cost) the policy's users have, the user's own hash
 * for their profile and a dummy of the same profile (random salt, matching
 * nothing) for each other one, all together. So an unknown user, a bcrypt
 * user and an scrypt user take as long, and "no such user" and "wrong
 * password" read the same. (Keep every hash at one profile to pay for one.)
 *
 * Hashing runs off the event loop, through the process-wide PasswordHasher
 * (identity/passwords.ts): a bounded number at once and a bounded queue;
 * beyond it the request is refused at once with 503 `overloaded` and
 * Retry-After, never queued without end. One client address (after
 * trusted_proxies) has at most `per_client` checks running and waiting; its
 * excess is refused with 429, so it cannot take the queue from others. Hashing is slow on purpose, so a
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
import { BoundedCache } from '../../lib/bounded-cache.js';
import { defaultDummy, dummyLike, hashProfile, parsePasswordHash, passwordHasher, PasswordClientShareError, PasswordQueueFullError, type PasswordHash } from '../../identity/passwords.js';
import { BasicAuthCredentialSchema, BasicAuthSchema } from './schema.js';
import type { Static } from '@sinclair/typebox';

type Credential = Static<typeof BasicAuthCredentialSchema>;

interface User {
  readonly credential: ConsumerCredential<Credential>;
  readonly hash: PasswordHash;
  /** Index of this user's hash profile in the policy's profile list. */
  slot: number;
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
    users.set(username, { credential, hash, slot: -1 });
  }
  return users;
}

/**
 * The distinct hash profiles of the users, each with a dummy hash of that
 * profile; every user learns its profile's slot. With no users, the default
 * scrypt profile, so an unknown user still costs a real check.
 */
function profileDummies(users: Map<string, User>): PasswordHash[] {
  const slots = new Map<string, number>();
  const dummies: PasswordHash[] = [];
  for (const user of users.values()) {
    const profile = hashProfile(user.hash);
    let slot = slots.get(profile);
    if (slot === undefined) {
      slot = dummies.length;
      slots.set(profile, slot);
      dummies.push(dummyLike(user.hash));
    }
    user.slot = slot;
  }
  if (dummies.length === 0) dummies.push(defaultDummy());
  return dummies;
}

export default definePolicy({
  name: 'basic-auth',
  phase: 'authenticate',
  description: 'Authenticates callers by HTTP Basic username and password against hashed consumer credentials.',
  config: BasicAuthSchema,
  credentials: BasicAuthCredentialSchema,
  compile(config, deps) {
    const users = userIndex(deps.credentials);
    const dummies = profileDummies(users);
    const hasher = passwordHasher();
    const challenge = { 'www-authenticate': basicChallenge(config.realm) };
    const missing = deny('unauthorized', { headers: challenge, event: { type: MISSING_CREDENTIALS, severity: 'low', message: 'no Basic credentials' } });
    const malformed = deny('unauthorized', {
      headers: challenge,
      event: { type: 'auth.malformed_credentials', severity: 'medium', reason: 'malformed', message: 'malformed Basic credentials', data: { method: 'basic-auth' } },
    });
    const invalid = deny('unauthorized', {
      headers: challenge,
      event: { type: 'auth.invalid_credentials', severity: 'medium', reason: 'unknown_credential', message: 'unknown user or wrong password', data: { method: 'basic-auth' } },
    });
    const saturated = deny('overloaded', {
      headers: { 'retry-after': '1' },
      event: { type: 'auth.password_checks_saturated', severity: 'medium', message: 'too many password checks running and waiting; refused, not queued' },
    });
    const clientShare = deny('too_many_password_checks', {
      headers: { 'retry-after': '1' },
      event: {
        type: 'auth.password_checks_per_client',
        severity: 'medium',
        message: `this client already has ${config.per_client} password checks running or waiting; refused, others are not`,
        data: { max: config.per_client },
      },
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
      // One hash of every profile, whoever is named: the user's own in its profile's slot, dummies elsewhere.
      const hashes = user ? dummies.map((d, i) => (i === user.slot ? user.hash : d)) : dummies;
      let results: boolean[];
      try {
        results = await hasher.check(password, hashes, { ip: ctx.clientIp, limit: config.per_client });
      } catch (err) {
        if (err instanceof PasswordClientShareError) return clientShare;
        if (err instanceof PasswordQueueFullError) return saturated;
        throw err;
      }
      if (!user || results[user.slot] !== true) return invalid;
      verified?.set(key, user, Date.now() + ttlMs);
      return accept(ctx, user);
    };

    return {
      // Starts the bcrypt worker threads before the first request, so the first check does not pay for it.
      ready: () => {
        if (dummies.some((d) => d.kind === 'bcrypt')) hasher.warm();
        return Promise.resolve();
      },
      onRequest(ctx) {
        const parsed = parseBasic(ctx.header('authorization'));
        if (parsed.kind === 'missing') return missing;
        if (parsed.kind === 'malformed') return malformed;
        const { username, password } = parsed.credentials;
        ctx.attemptedCredential = `user:${username}`;
        const key = digest(username, password);
        const hit = verified?.get(key);
        if (hit) return accept(ctx, hit);
        return check(ctx, username, password, key);
      },
    };
  },
});
