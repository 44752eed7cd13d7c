/**
 * A provider's signing keys from its JWKS URL, done the way the issue asks:
 * fetched before the gateway serves (ready), refreshed in the background once
 * stale without holding up requests, the last good keys kept when the
 * provider is down or serves garbage, and a token with an unknown kid causes
 * at most one refetch per cooldown however many such tokens arrive.
 */
import type { Logger } from 'pino';
import { callJson, isObject } from './http.js';
import { publicKeyFromJwk, type VerificationKey } from './keys.js';
import { DependencyUnavailableError } from '../errors.js';
import type { ProviderLink } from './provider-link.js';
import { sharedFetch, type FetchWant } from './shared-fetch.js';

export interface JwksOptions {
  readonly refreshMs: number;
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly link?: ProviderLink;
}

const MAX_KEYS = 100;
/**
 * On a node of workers, keys another worker fetched at most this long ago are
 * taken when a config is prepared (start, reload): the workers preparing one
 * reload make one fetch between them, and a reload still gets fresh keys.
 */
const READY_SHARE_MS = 60_000;

/** Why keys are fetched: what answer another worker of the node fetched may stand in (shared-fetch.ts). */
type Why = 'ready' | 'refresh' | 'miss';

export class JwksSource {
  private keys: readonly VerificationKey[] = [];
  private fetchedAt = -Infinity;
  private lastMissRefetch = -Infinity;
  private failedAt = -Infinity;
  private inflight: Promise<void> | undefined;

  constructor(
    /** Where the JWKS is: a fixed URL, or one found by OIDC discovery. */
    private readonly locate: () => Promise<string>,
    private readonly options: JwksOptions,
  ) {}

  /** Fetches the keys before the config serves; an unreachable provider is logged, not fatal. */
  async ready(): Promise<void> {
    try {
      await this.refresh('ready');
    } catch {
      // Already logged; requests retry (bounded by the cooldown).
    }
  }

  /**
   * Whether keys were ever fetched (readiness). While never, each call starts a
   * fetch (bounded by the cooldown), so a provider that comes back is found
   * without waiting for a request to ask.
   */
  reached(): boolean {
    if (this.fetchedAt === -Infinity) this.current();
    return this.fetchedAt !== -Infinity;
  }

  /** The keys now, starting a background refresh when they are older than the refresh interval. */
  current(): readonly VerificationKey[] {
    const now = Date.now();
    if (now - this.fetchedAt > this.options.refreshMs && now - this.failedAt > this.options.cooldownMs && !this.inflight) {
      this.refresh('refresh').catch(() => undefined);
    }
    return this.keys;
  }

  /**
   * The provider could not be asked: no fetch has succeeded yet, or the last
   * one failed. A token no key fits is then not known to be bad (the keys
   * that would fit may be the ones we could not fetch): the verifier answers
   * 503 dependency_unavailable instead of 401.
   */
  unreachable(): boolean {
    return this.keys.length === 0 || this.failedAt > this.fetchedAt;
  }

  /**
   * A token names a kid we do not have: the provider may have rotated. Refetch,
   * unless an unknown kid already caused one within the cooldown. Resolves to
   * whether new keys may have arrived.
   */
  async refetchForUnknownKid(): Promise<boolean> {
    if (this.inflight) {
      await this.inflight.catch(() => undefined);
      return true;
    }
    const now = Date.now();
    if (now - this.lastMissRefetch < this.options.cooldownMs) return false;
    this.lastMissRefetch = now;
    try {
      await this.refresh('miss');
      return true;
    } catch {
      return false;
    }
  }

  /** One fetch at a time; a failure keeps the keys we had. */
  private refresh(why: Why): Promise<void> {
    this.inflight ??= this.fetch(why).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private want(why: Why): FetchWant {
    const { refreshMs, cooldownMs, timeoutMs } = this.options;
    if (why === 'miss') return { maxAgeMs: 0, failMs: cooldownMs, miss: { cooldownMs }, timeoutMs };
    return { maxAgeMs: why === 'ready' ? Math.min(refreshMs, READY_SHARE_MS) : refreshMs, failMs: cooldownMs, timeoutMs };
  }

  private async fetch(why: Why): Promise<void> {
    let url: string | undefined;
    try {
      url = await this.locate();
      const from = url;
      const { res, at: fetchedAt } = await sharedFetch(`jwks ${from}`, this.want(why), () =>
        callJson(from, { timeoutMs: this.options.timeoutMs, what: 'JWKS', link: this.options.link }),
      );
      const body = res.body;
      if (res.status !== 200 || !isObject(body) || !Array.isArray(body.keys)) {
        throw new DependencyUnavailableError('JWKS', { cause: new Error(`HTTP ${res.status}, not a JWK set`) });
      }
      const keys: VerificationKey[] = [];
      for (const jwk of body.keys.slice(0, MAX_KEYS)) {
        if (!isObject(jwk)) continue;
        const key = publicKeyFromJwk(jwk);
        if (key) keys.push(key);
      }
      if (keys.length === 0) throw new DependencyUnavailableError('JWKS', { cause: new Error('the set holds no usable signing key') });
      const before = this.keys.length;
      this.keys = keys;
      // When the provider answered, which on a node of workers may be another worker's fetch a moment ago.
      this.fetchedAt = fetchedAt;
      this.failedAt = -Infinity;
      this.options.logger.debug({ url, keys: keys.length, before }, 'JWKS fetched');
    } catch (err) {
      this.failedAt = Date.now();
      this.options.logger.warn(
        { err, url, keeping: this.keys.length },
        this.keys.length === 0 ? 'JWKS fetch failed; no keys yet: tokens of this issuer get 503 until the provider answers' : 'JWKS fetch failed; keeping the last good keys',
      );
      throw err;
    }
  }
}
