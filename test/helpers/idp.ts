/**
 * A real OpenID provider for the tests: the oidc-provider package on
 * 127.0.0.1, port 0. It issues client-credentials access tokens (JWT for the
 * resource https://api.test, opaque for https://opaque.test, which it
 * introspects), serves discovery and JWKS, and runs the browser code flow with
 * its development login and consent pages. Signing keys can be rotated while
 * it serves.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

export const API_RESOURCE = 'https://api.test';
export const OPAQUE_RESOURCE = 'https://opaque.test';

export interface IdpClient {
  client_id: string;
  client_secret: string;
  [key: string]: unknown;
}

export interface IdpOptions {
  /** Extra clients (the browser-flow client, with its redirect URI). */
  clients?: IdpClient[];
  /** Seconds an access token lives. */
  accessTokenTtl?: number;
  /** Claims added to the JWT access tokens of a client, by client id (groups, for one). */
  tokenClaims?: Record<string, Record<string, unknown>>;
  /** Claims of the accounts signing in, beyond sub, email and groups (by account id). */
  accountClaims?: Record<string, Record<string, unknown>>;
}

export interface TestIdp {
  issuer: string;
  port: number;
  provider: Provider;
  /** Requests the provider received, by path. */
  hits: string[];
  /** A client-credentials access token for `svc` (or another client). */
  token(options?: { resource?: string; scope?: string; client?: string; secret?: string }): Promise<string>;
  /** Adds a new signing key first (it signs from now on), keeping the old ones published. */
  rotate(): Promise<string>;
  /** Stops answering: connections are refused from now on. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

function serve(provider: Provider): (req: IncomingMessage, res: ServerResponse) => void {
  const callback = provider.callback();
  return (req, res) => void callback(req, res);
}

async function signingKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, use: 'sig', alg: 'RS256' };
}

export const SVC = { client_id: 'svc', client_secret: 'svc-secret-for-tests-0123456789' };
export const GATEWAY_CLIENT = { client_id: 'gateway', client_secret: 'gateway-secret-for-tests-0123' };

export async function startIdp(options: IdpOptions = {}): Promise<TestIdp> {
  const hits: string[] = [];
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const keys: JWK[] = [await signingKey('key-1')];

  const build = () =>
    new Provider(issuer, {
      jwks: { keys: [...keys] },
      clients: [
        { ...SVC, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
        { ...GATEWAY_CLIENT, grant_types: [], redirect_uris: [], response_types: [] },
        ...(options.clients ?? []),
      ],
      claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
      scopes: ['openid', 'offline_access', 'email', 'groups', 'read', 'write'],
      conformIdTokenClaims: false,
      findAccount: (_ctx, id) => ({
        accountId: id,
        claims: () => ({ sub: id, email: `${id}@example.test`, groups: id === 'alice' ? ['staff', 'admins'] : ['staff'], ...options.accountClaims?.[id] }),
      }),
      extraTokenClaims: (_ctx, token) => {
        const clientId = (token as { clientId?: string }).clientId;
        return clientId === undefined ? undefined : options.tokenClaims?.[clientId];
      },
      ttl: {
        AccessToken: options.accessTokenTtl ?? 600,
        ClientCredentials: options.accessTokenTtl ?? 600,
        IdToken: 600,
        RefreshToken: 3600,
        Grant: 3600,
        Session: 3600,
        Interaction: 600,
        AuthorizationCode: 60,
      },
      pkce: { required: () => true },
      features: {
        clientCredentials: { enabled: true },
        introspection: { enabled: true, allowedPolicy: () => true },
        revocation: { enabled: true },
        rpInitiatedLogout: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => API_RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, resource) =>
            resource === OPAQUE_RESOURCE
              ? { scope: 'read write', audience: 'opaque-api', accessTokenFormat: 'opaque', accessTokenTTL: options.accessTokenTtl ?? 600 }
              : { scope: 'read write', audience: API_RESOURCE, accessTokenFormat: 'jwt', accessTokenTTL: options.accessTokenTtl ?? 600, jwt: { sign: { alg: 'RS256' } } },
        },
      },
    });
  let provider = build();
  handler = serve(provider);

  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    issuer,
    port,
    get provider() {
      return provider;
    },
    hits,
    async token({ resource = API_RESOURCE, scope = 'read', client = SVC.client_id, secret = SVC.client_secret } = {}) {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }).toString(),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    async rotate() {
      const kid = `key-${keys.length + 1}`;
      keys.unshift(await signingKey(kid));
      provider = build();
      handler = serve(provider);
      return kid;
    },
    stop,
    async close() {
      if (server.listening) await stop();
    },
  };
}
