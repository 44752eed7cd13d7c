/**
 * Builds the verification settings of configured issuers (jwt policy, oidc
 * ID tokens): keys from the config, a JWKS URL or OIDC discovery, with the
 * checks that keep keys and algorithms from being confused.
 */
import type { Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import { Discovery } from './discovery.js';
import { checkProviderUrl, isLoopback } from './http.js';
import { providerLink, type ProviderLink } from './provider-link.js';
import type { ConfigPath } from '../config/errors.js';
import { JwksSource } from './jwks.js';
import { isHmac, keyFits, publicKeyFromJwk, publicKeyFromPem, secretKey, type VerificationKey } from './keys.js';
import type { IssuerVerification } from './jwt-verifier.js';
import type { IssuerSchema } from './schema.js';

type IssuerConfig = Static<typeof IssuerSchema>;

export interface JwksTiming {
  readonly refreshMs: number;
  readonly cooldownMs: number;
  readonly timeoutMs: number;
}

const MIN_HMAC_SECRET = 32;

/** What building an issuer needs besides its config: the gateway's environment (proxy variables) and where warnings go. */
export interface IssuerContext {
  readonly logger: Logger;
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly warn: (path: ConfigPath, message: string) => void;
}

export function buildIssuer(config: IssuerConfig, path: ReadonlyArray<string | number>, timing: JwksTiming, context: IssuerContext): IssuerVerification {
  const logger = context.logger;
  const hmac = config.algorithms.filter(isHmac);
  if (hmac.length > 0 && hmac.length !== config.algorithms.length) {
    throw new ConfigError('an issuer must not mix HMAC (HS*) and public-key algorithms: that is how key confusion attacks start', [...path, 'algorithms']);
  }
  const sources = [config.keys, config.jwks_url, config.discovery || undefined].filter((s) => s !== undefined).length;
  if (sources === 0) throw new ConfigError('give the issuer its keys: "keys", "jwks_url" or "discovery: true"', path);
  if (config.jwks_url && config.discovery) throw new ConfigError('use either "jwks_url" or "discovery", not both', path);
  if (hmac.length > 0 && (config.jwks_url || config.discovery)) {
    throw new ConfigError('HMAC secrets are never fetched from a JWKS: give them in "keys"', [...path, 'algorithms']);
  }

  const staticKeys = (config.keys ?? []).map((k, i) => staticKey(k, [...path, 'keys', i], config.algorithms));
  if ((config.ca !== undefined || config.allow_http) && !config.jwks_url && !config.discovery) {
    throw new ConfigError('"ca" and "allow_http" are for fetching keys: give "jwks_url" or "discovery: true", or drop them', path);
  }
  let jwks: JwksSource | undefined;
  if (config.jwks_url) {
    const link = providerLink(config, context.env, path);
    const url = checkProviderUrl(config.jwks_url, [...path, 'jwks_url'], link.allowHttp);
    warnPlainHttp(url, [...path, 'jwks_url'], context.warn);
    jwks = new JwksSource(() => Promise.resolve(url.href), { ...timing, logger, link });
  } else if (config.discovery) {
    const link = providerLink(config, context.env, path);
    const url = checkProviderUrl(config.issuer, [...path, 'issuer'], link.allowHttp);
    warnPlainHttp(url, [...path, 'issuer'], context.warn);
    const discovery = new Discovery(config.issuer, timing.timeoutMs, logger, link);
    jwks = jwksFromDiscovery(discovery, timing, logger, link);
  }
  return {
    issuer: config.issuer,
    name: config.name ?? config.issuer,
    algorithms: config.algorithms,
    audiences: config.audiences,
    requiredClaims: [...new Set(['exp', ...config.required_claims])],
    types: config.types,
    staticKeys,
    jwks,
  };
}

/** allow_http let an http URL off loopback through: said at load, every time, so it is not forgotten in production. */
export function warnPlainHttp(url: URL, path: ConfigPath, warn: (path: ConfigPath, message: string) => void): void {
  if (url.protocol === 'http:' && !isLoopback(url)) {
    warn(path, `plain http to ${url.host} (allow_http): tokens and client secrets cross the network readable and the keys can be swapped on the way; use https with "ca" outside a lab`);
  }
}

export function jwksFromDiscovery(discovery: Discovery, timing: JwksTiming, logger: Logger, link?: ProviderLink): JwksSource {
  return new JwksSource(
    async () => {
      const metadata = await discovery.get();
      if (!metadata.jwks_uri) throw new Error('the provider metadata has no jwks_uri');
      return metadata.jwks_uri;
    },
    { ...timing, logger, link },
  );
}

function staticKey(config: NonNullable<IssuerConfig['keys']>[number], path: ReadonlyArray<string | number>, algorithms: readonly string[]): VerificationKey {
  const given = [config.pem, config.jwk, config.secret].filter((v) => v !== undefined).length;
  if (given !== 1) throw new ConfigError('a key needs exactly one of "pem", "jwk" or "secret"', path);
  if (config.alg && !algorithms.includes(config.alg)) throw new ConfigError(`alg ${config.alg} is not in the issuer's algorithms`, [...path, 'alg']);
  let key: VerificationKey;
  if (config.secret !== undefined) {
    if (Buffer.byteLength(config.secret) < MIN_HMAC_SECRET) {
      throw new ConfigError(`an HMAC secret must be at least ${MIN_HMAC_SECRET} bytes (RFC 7518 §3.2)`, [...path, 'secret']);
    }
    key = { kid: config.kid, alg: config.alg, key: secretKey(config.secret) };
  } else if (config.pem !== undefined) {
    try {
      key = { kid: config.kid, alg: config.alg, key: publicKeyFromPem(config.pem) };
    } catch (err) {
      throw new ConfigError(`not a PEM public key: ${(err as Error).message}`, [...path, 'pem']);
    }
  } else {
    const parsed = publicKeyFromJwk(config.jwk!);
    if (!parsed) throw new ConfigError('not a public signing JWK (RSA, EC or OKP)', [...path, 'jwk']);
    key = { kid: config.kid ?? parsed.kid, alg: config.alg ?? parsed.alg, key: parsed.key };
  }
  if (!algorithms.some((alg) => keyFits(key.key, alg))) {
    throw new ConfigError(`this key cannot check any of the issuer's algorithms (${algorithms.join(', ')})`, path);
  }
  return key;
}
