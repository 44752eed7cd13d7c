/**
 * OpenID Connect discovery (OIDC Discovery 1.0 §4): the provider's metadata,
 * fetched once and kept. The document must name the configured issuer
 * exactly, and its endpoints must be https (or loopback, or http with the
 * provider's allow_http), or it is refused.
 */
import type { Logger } from 'pino';
import { callJson, checkProviderUrl, isObject } from './http.js';
import { DependencyUnavailableError } from '../errors.js';
import type { ProviderLink } from './provider-link.js';
import { sharedFetch } from './shared-fetch.js';

export interface ProviderMetadata {
  readonly issuer: string;
  readonly jwks_uri?: string;
  readonly authorization_endpoint?: string;
  readonly token_endpoint?: string;
  readonly introspection_endpoint?: string;
  readonly end_session_endpoint?: string;
  readonly revocation_endpoint?: string;
}

const ENDPOINTS = ['jwks_uri', 'authorization_endpoint', 'token_endpoint', 'introspection_endpoint', 'end_session_endpoint', 'revocation_endpoint'] as const;

/** After a failed fetch, callers within this time get the failure without another call. */
const RETRY_AFTER_MS = 5000;
/** On a node of workers, metadata another worker fetched at most this long ago is taken (the workers preparing one config fetch once). */
const SHARE_MS = 60_000;

export class Discovery {
  private metadata: ProviderMetadata | undefined;
  private inflight: Promise<ProviderMetadata> | undefined;
  private failedAt = -Infinity;

  constructor(
    readonly issuer: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    /** The provider's CA bundle, proxy and allow_http, which its metadata's endpoints are held to as well. */
    readonly link?: ProviderLink,
  ) {}

  get url(): string {
    return `${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  }

  /** The metadata; fetched on first use, then kept for the life of the config snapshot. */
  get(): Promise<ProviderMetadata> {
    if (this.metadata) return Promise.resolve(this.metadata);
    if (this.inflight) return this.inflight;
    if (Date.now() - this.failedAt < RETRY_AFTER_MS) return Promise.reject(new DependencyUnavailableError('OIDC discovery'));
    this.inflight = this.fetch().then(
      (metadata) => {
        this.metadata = metadata;
        this.inflight = undefined;
        return metadata;
      },
      (err: unknown) => {
        this.failedAt = Date.now();
        this.inflight = undefined;
        this.logger.warn({ err, url: this.url }, 'OIDC discovery failed');
        throw err;
      },
    );
    return this.inflight;
  }

  private async fetch(): Promise<ProviderMetadata> {
    const { res } = await sharedFetch(`discovery ${this.url}`, { maxAgeMs: SHARE_MS, failMs: RETRY_AFTER_MS, timeoutMs: this.timeoutMs }, () =>
      callJson(this.url, { timeoutMs: this.timeoutMs, what: 'OIDC discovery', link: this.link }),
    );
    const doc = res.body;
    if (res.status !== 200 || !isObject(doc)) throw new DependencyUnavailableError('OIDC discovery', { cause: new Error(`HTTP ${res.status}`) });
    if (doc.issuer !== this.issuer) {
      throw new DependencyUnavailableError('OIDC discovery', {
        cause: new Error(`the document names issuer ${JSON.stringify(doc.issuer)}, not the configured ${JSON.stringify(this.issuer)}`),
      });
    }
    const out: Record<string, string> = { issuer: this.issuer };
    for (const key of ENDPOINTS) {
      const value = doc[key];
      if (value === undefined) continue;
      if (typeof value !== 'string') throw new DependencyUnavailableError('OIDC discovery', { cause: new Error(`${key} is not a string`) });
      try {
        checkProviderUrl(value, [key], this.link?.allowHttp);
      } catch (err) {
        throw new DependencyUnavailableError('OIDC discovery', { cause: err });
      }
      out[key] = value;
    }
    return out as unknown as ProviderMetadata;
  }
}
