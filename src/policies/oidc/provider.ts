/**
 * The relying-party protocol, done by openid-client (an OpenID Certified
 * relying party; issue 11 item 6): discovery (the document must name the
 * configured issuer exactly), the authorization URL, the code exchange with
 * PKCE and its checks (state, RFC 9207 iss, nonce, the ID token's signature,
 * iss, aud, azp, exp, iat), refresh, revocation and the end-session URL.
 * The session, its cookie and its revocation list stay the policy's.
 *
 * Every call to the provider goes through one fetch that holds it to what
 * identity/http.ts holds every provider call to: https, or http to this
 * machine's loopback only (checked per URL, so a discovery document cannot
 * point elsewhere); a bounded answer; and a provider that does not answer,
 * or answers 5xx, is a DependencyUnavailableError, which the policy's fail
 * mode handles. Anything else the library refuses is a refusal.
 */
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { DependencyUnavailableError } from '../../errors.js';
import { fetch as undiciFetch } from 'undici';
import { checkProviderUrl } from '../../identity/http.js';
import type { ProviderLink } from '../../identity/provider-link.js';

/** After a failed discovery, callers within this time get the failure without another call. */
const RETRY_AFTER_MS = 5000;
const MAX_ANSWER_BYTES = 1024 * 1024;
/** The endpoints the browser is sent to or the gateway calls: each must pass checkProviderUrl. */
const ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint', 'revocation_endpoint'] as const;

export interface ProviderSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly timeoutMs: number;
  readonly clockSkewSec: number;
  /** The only algorithms an ID token may be signed with. */
  readonly algorithms: readonly string[];
  /** The provider's CA bundle, proxy and allow_http; without it, undici's global dispatcher and http to loopback only. */
  readonly link?: ProviderLink;
}

/** A refusal by the provider or by the protocol's checks: the sign-in (or refresh) fails, the provider is not "down". */
export class ProtocolRefusal extends Error {}

export class Provider {
  private configuration: client.Configuration | undefined;
  private inflight: Promise<client.Configuration> | undefined;
  private failedAt = -Infinity;

  constructor(
    private readonly settings: ProviderSettings,
    private readonly logger: Logger,
  ) {}

  /** Whether discovery ever succeeded (readiness); while not, each call tries again (at most once per retry interval). */
  reached(): boolean {
    if (!this.configuration) this.config().catch(() => undefined);
    return this.configuration !== undefined;
  }

  /** The provider's configuration; discovered on first use, then kept for the life of the config snapshot. */
  config(): Promise<client.Configuration> {
    if (this.configuration) return Promise.resolve(this.configuration);
    if (this.inflight) return this.inflight;
    if (Date.now() - this.failedAt < RETRY_AFTER_MS) return Promise.reject(new DependencyUnavailableError('OIDC discovery'));
    this.inflight = this.discover().then(
      (configuration) => {
        this.configuration = configuration;
        this.inflight = undefined;
        return configuration;
      },
      (err: unknown) => {
        this.failedAt = Date.now();
        this.inflight = undefined;
        this.logger.warn({ err, issuer: this.settings.issuer }, 'OIDC discovery failed');
        throw unavailable('OIDC discovery', err);
      },
    );
    return this.inflight;
  }

  private async discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret, timeoutMs, clockSkewSec, algorithms } = this.settings;
    const metadata: Partial<client.ClientMetadata> = { client_secret: clientSecret, [client.clockTolerance]: clockSkewSec };
    // One algorithm: the library enforces it. Several: it takes those the provider lists (RS256 if none), and idToken() holds them to ours.
    if (algorithms.length === 1) metadata.id_token_signed_response_alg = algorithms[0];
    const configuration = await client.discovery(new URL(issuer), clientId, metadata, client.ClientSecretBasic(clientSecret), {
      [client.customFetch]: boundedFetch(this.settings.link),
      timeout: timeoutMs / 1000,
      // Plain http only to loopback or with allow_http: checkProviderUrl vetted the issuer, and boundedFetch vets every URL called.
      execute: new URL(issuer).protocol === 'http:' ? [client.allowInsecureRequests] : [],
    });
    const server = configuration.serverMetadata();
    // Without these there is no sign-in at all: the provider is unusable (503 when closed), not refusing.
    for (const key of ['authorization_endpoint', 'token_endpoint'] as const) if (server[key] === undefined) throw new Error(`${key} is not in the provider metadata`);
    for (const key of ENDPOINTS) {
      const value = server[key];
      if (value === undefined) continue;
      if (typeof value !== 'string') throw new Error(`${key} is not a string`);
      checkProviderUrl(value, [key], this.settings.link?.allowHttp);
    }
    return configuration;
  }

  /** Holds a validated ID token to the configured algorithms (the library checked its signature with the alg it names). */
  checkAlgorithm(idToken: string | undefined): void {
    if (idToken === undefined) return;
    const header = JSON.parse(Buffer.from(idToken.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: unknown };
    if (typeof header.alg !== 'string' || !this.settings.algorithms.includes(header.alg)) {
      throw new ProtocolRefusal(`ID token refused: alg ${JSON.stringify(header.alg)} is not allowed`);
    }
  }
}

/**
 * An error from openid-client, sorted: the provider could not be reached or
 * failed (DependencyUnavailableError), or it or the checks refused
 * (ProtocolRefusal, with the OAuth error code or the check that failed).
 */
export function sortError(err: unknown, what: string): DependencyUnavailableError | ProtocolRefusal {
  if (err instanceof DependencyUnavailableError || err instanceof ProtocolRefusal) return err;
  for (let cause: unknown = err; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof DependencyUnavailableError) return cause;
  }
  if (err instanceof client.ResponseBodyError) return new ProtocolRefusal(err.error);
  if (err instanceof client.AuthorizationResponseError) return new ProtocolRefusal(err.error);
  if (err instanceof TypeError && err.message === 'fetch failed') return unavailable(what, err);
  if (err instanceof client.ClientError && (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT')) return unavailable(what, err);
  return new ProtocolRefusal(err instanceof Error ? err.message : String(err));
}

function unavailable(what: string, err: unknown): DependencyUnavailableError {
  return err instanceof DependencyUnavailableError ? err : new DependencyUnavailableError(what, { cause: err });
}

/**
 * fetch, held to the rules of identity/http.ts: vetted URL, bounded answer,
 * 5xx and network failures as unavailability, through the provider's link
 * (CA bundle, proxy). undici's own fetch, since the dispatcher is undici's.
 */
const boundedFetch = (link: ProviderLink | undefined) => async (url: string, options: client.CustomFetchOptions): Promise<Response> => {
  const target = new URL(url);
  try {
    checkProviderUrl(url, ['url'], link?.allowHttp);
  } catch (err) {
    throw new DependencyUnavailableError(`identity provider at ${target.origin}`, { cause: err });
  }
  let res: Response;
  let body: Uint8Array;
  try {
    res = await undiciFetch(url, {
      method: options.method,
      headers: options.headers,
      body: options.body as string | undefined,
      redirect: 'manual',
      signal: options.signal,
      ...(link ? { dispatcher: link.dispatcher } : {}),
    });
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > MAX_ANSWER_BYTES) throw new Error(`answered with more than ${MAX_ANSWER_BYTES} bytes`);
    body = await readBounded(res);
  } catch (err) {
    throw new DependencyUnavailableError(`identity provider at ${target.origin}`, { cause: err });
  }
  if (res.status >= 500) throw new DependencyUnavailableError(`identity provider at ${target.origin}`, { cause: new Error(`HTTP ${res.status}`) });
  return new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
};

async function readBounded(res: Response): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) throw new Error(`answered with more than ${MAX_ANSWER_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
