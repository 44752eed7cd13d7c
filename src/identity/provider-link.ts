/**
 * How the gateway reaches one identity provider: the CA bundle its https
 * certificate is checked against (`ca`, for a provider under a private CA),
 * the outbound proxy from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (undici's
 * EnvHttpProxyAgent, read from the gateway's environment), and whether plain
 * http is allowed off loopback (`allow_http`, explicit and warned). Every
 * call to that provider (JWKS, discovery, introspection, the OIDC token
 * endpoint) goes through the link's dispatcher, never undici's global one.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { ConfigError, type ConfigPath } from '../config/errors.js';
import { pemBlocks } from '../tls/pem-blocks.js';

/** The settings each provider-calling config carries (a jwt issuer, oauth2-introspection, oidc). */
export const ProviderLinkFields = {
  ca: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 1024 * 1024,
      description: 'PEM CA certificates the provider\'s https certificate must chain to, usually ${file:...}; replaces the system roots for this provider',
    }),
  ),
  allow_http: Type.Boolean({
    default: false,
    description: 'allow plain http to this provider off loopback (a docker-compose Keycloak); tokens and client secrets then cross the network readable: warned at load',
  }),
};

export interface ProviderLinkConfig {
  readonly ca?: string | undefined;
  readonly allow_http?: boolean | undefined;
}

export interface ProviderLink {
  readonly dispatcher: Dispatcher;
  readonly allowHttp: boolean;
}

const MAX_CA_CERTS = 100;
/** One dispatcher per (CA, proxy settings): reloads reuse it instead of leaving pools behind. Bounded: configs name few. */
const dispatchers = new Map<string, Dispatcher>();
const MAX_DISPATCHERS = 64;

export function providerLink(config: ProviderLinkConfig, env: NodeJS.ProcessEnv | undefined, path: ConfigPath): ProviderLink {
  const ca = config.ca === undefined ? undefined : checkBundle(config.ca, [...path, 'ca']);
  const vars = env ?? process.env;
  // Empty strings, not undefined: undici would otherwise read process.env, not the gateway's environment.
  const proxy = {
    httpProxy: vars.HTTP_PROXY ?? vars.http_proxy ?? '',
    httpsProxy: vars.HTTPS_PROXY ?? vars.https_proxy ?? '',
    noProxy: vars.NO_PROXY ?? vars.no_proxy ?? '',
  };
  if (proxy.httpsProxy) checkProxyUrl(proxy.httpsProxy, 'HTTPS_PROXY', path);
  if (proxy.httpProxy) checkProxyUrl(proxy.httpProxy, 'HTTP_PROXY', path);
  const key = createHash('sha256').update(JSON.stringify([ca ?? null, proxy])).digest('hex');
  let dispatcher = dispatchers.get(key);
  if (!dispatcher) {
    const tls = ca === undefined ? {} : { ca };
    // connect: a direct connection (NO_PROXY or no proxy); requestTls: the TLS to the provider inside a proxy's tunnel.
    dispatcher = new EnvHttpProxyAgent({ ...proxy, connect: tls, requestTls: tls });
    if (dispatchers.size >= MAX_DISPATCHERS) dispatchers.delete(dispatchers.keys().next().value!);
    dispatchers.set(key, dispatcher);
  }
  return { dispatcher, allowHttp: config.allow_http === true };
}

/** A bundle of PEM certificates, each parsed now, so a wrong file fails at load with its path and not at the first token. */
function checkBundle(pem: string, path: ConfigPath): string {
  const blocks = pemBlocks(pem, 'CERTIFICATE');
  if (blocks.length === 0) throw new ConfigError('expected PEM CA certificates (-----BEGIN CERTIFICATE-----)', path);
  if (blocks.length > MAX_CA_CERTS) throw new ConfigError(`at most ${MAX_CA_CERTS} certificates`, path);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new ConfigError(`not a certificate: ${(err as Error).message}`, path);
    }
  }
  return blocks.join('\n');
}

/** The proxy variable must be a URL; its credentials, if any, are never repeated in the message. */
function checkProxyUrl(text: string, name: string, path: ConfigPath): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`the environment variable ${name} is not a URL (expected http://proxy:3128)`, path);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`the environment variable ${name} must be an http:// or https:// URL`, path);
}
