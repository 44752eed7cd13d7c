/**
 * Reaching an identity provider as deployments need to: a provider under a
 * private CA (`ca`), an outbound proxy from HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY, and plain http off loopback only with `allow_http: true`,
 * warned. Real parts: an https JWKS server with a certificate of its own CA
 * (test/helpers/tls.ts), a plain http one, the real oidc-provider, and a real
 * forward proxy: a small node CONNECT proxy, which does what squid does for
 * https (and for http, since undici tunnels both) and, like a proxy on a
 * docker network, resolves names the gateway's host does not know
 * (idp.internal) — here to 127.0.0.1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { send, startGateway, writeConfig, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { makePki, type Pki } from '../helpers/tls.js';
import { GATEWAY_CLIENT, OPAQUE_RESOURCE, startIdp, type TestIdp } from '../helpers/idp.js';
import { cli } from '../helpers/cli.js';

const ISSUER = 'https://private-ca.example.test';

interface TestProxy {
  url: string;
  /** The CONNECT targets asked for, in order. */
  connects: string[];
  /** Request lines seen inside tunnels to plain http servers (a tunnel is reused across requests). */
  requests: string[];
  close(): Promise<void>;
}

/** A forward proxy that answers CONNECT host:port by opening a tunnel to 127.0.0.1:port. */
async function startConnectProxy(): Promise<TestProxy> {
  const connects: string[] = [];
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.once('data', (head) => {
      const line = head.toString('latin1').split('\r\n')[0] ?? '';
      const match = /^CONNECT ([^\s:]+|\[[^\]]+\]):(\d+) HTTP\/1\.1$/.exec(line);
      if (!match || !head.includes('\r\n\r\n')) {
        client.end('HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      connects.push(`${match[1]}:${match[2]}`);
      const upstream = connect(Number(match[2]), '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
        client.on('data', (chunk: Buffer) => {
          const line = /^(GET|POST) (\S+) HTTP\/1\.1\r\n/.exec(chunk.toString('latin1'));
          if (line) requests.push(`${line[1]} ${line[2]}`);
        });
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connects,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('identity provider connectivity: a private CA, an outbound proxy, allow_http', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let idp: TestIdp;
  let proxy: TestProxy;
  let jwksHttps: Server;
  let jwksHttp: Server;
  let httpsPort: number;
  let httpPort: number;
  let signer: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  const gateways: TestGateway[] = [];

  const token = () => new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISSUER).setIssuedAt().setExpirationTime('5m').sign(signer);
  const call = async (gw: TestGateway, path: string) => send(gw.url, path, { headers: { authorization: `Bearer ${await token()}` } });
  const route = (name: string, issuer: string) =>
    `  - { name: ${name}, service: echo, match: { paths: [/${name}] }, policies: [{ jwt: { issuers: [${issuer}], jwks: { timeout: 2s } } }] }`;
  const config = (routes: string[]) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
${routes.join('\n')}`;

  before(async () => {
    const pair = await generateKeyPair('ES256');
    signer = pair.privateKey;
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] });
    const serveJwks = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== '/jwks') return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    };
    pki = await makePki('IdP Private CA');
    const cert = await pki.issue('idp', { dns: ['idp.internal', 'localhost'], ips: ['127.0.0.1'], usage: 'server' });
    jwksHttps = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, serveJwks);
    jwksHttp = createHttpServer(serveJwks);
    await new Promise<void>((resolve) => jwksHttps.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => jwksHttp.listen(0, '127.0.0.1', resolve));
    httpsPort = (jwksHttps.address() as AddressInfo).port;
    httpPort = (jwksHttp.address() as AddressInfo).port;
    upstream = await startUpstream();
    idp = await startIdp();
    proxy = await startConnectProxy();
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await proxy.close();
    await idp.close();
    await upstream.close();
    jwksHttps.closeAllConnections();
    jwksHttp.closeAllConnections();
    await new Promise((resolve) => jwksHttps.close(resolve));
    await new Promise((resolve) => jwksHttp.close(resolve));
  });

  it('checks a provider\'s certificate against its own `ca` bundle, and refuses it (503) without', async () => {
    const gw = await startGateway(
      config([
        route('with-ca', `{ issuer: "${ISSUER}", algorithms: [ES256], jwks_url: "https://localhost:${httpsPort}/jwks", ca: "\${file:${pki.caFile}}" }`),
        route('without-ca', `{ issuer: "${ISSUER}", algorithms: [ES256], jwks_url: "https://localhost:${httpsPort}/jwks" }`),
      ]),
      { env: {} },
    );
    gateways.push(gw);
    assert.equal((await call(gw, '/with-ca')).status, 200);
    const refused = await call(gw, '/without-ca');
    assert.equal(refused.status, 503, 'a certificate the system roots do not know: the provider is out of reach, not the token bad');
    assert.equal(refused.json().error.code, 'dependency_unavailable');
  });

  it('goes through HTTPS_PROXY, with the provider\'s CA inside the tunnel, to a name only the proxy resolves', async () => {
    const gw = await startGateway(
      config([route('proxied', `{ issuer: "${ISSUER}", algorithms: [ES256], jwks_url: "https://idp.internal:${httpsPort}/jwks", ca: "\${file:${pki.caFile}}" }`)]),
      { env: { HTTPS_PROXY: proxy.url } },
    );
    gateways.push(gw);
    assert.equal((await call(gw, '/proxied')).status, 200);
    assert.ok(proxy.connects.includes(`idp.internal:${httpsPort}`), JSON.stringify(proxy.connects));
  });

  it('leaves hosts in NO_PROXY out of the proxy', async () => {
    const before = proxy.connects.length;
    const gw = await startGateway(
      config([route('direct', `{ issuer: "${ISSUER}", algorithms: [ES256], jwks_url: "https://localhost:${httpsPort}/jwks", ca: "\${file:${pki.caFile}}" }`)]),
      { env: { HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' } },
    );
    gateways.push(gw);
    assert.equal((await call(gw, '/direct')).status, 200);
    assert.equal(proxy.connects.length, before, 'the proxy saw nothing');
  });

  it('finds the real oidc-provider\'s keys by discovery through HTTP_PROXY', async () => {
    const gw = await startGateway(
      config([route('real', `{ issuer: "${idp.issuer}", algorithms: [RS256], discovery: true }`)]),
      { env: { HTTP_PROXY: proxy.url } },
    );
    gateways.push(gw);
    const res = await send(gw.url, '/real', { headers: { authorization: `Bearer ${await idp.token()}` } });
    assert.equal(res.status, 200);
    assert.ok(proxy.connects.includes(`127.0.0.1:${idp.port}`), JSON.stringify(proxy.connects));
  });

  it('takes oauth2-introspection and an oidc sign-in through the proxy to the real oidc-provider', async () => {
    // The oidc policy discovers its provider when the gateway starts: what the proxy sees is counted from here.
    proxy.requests.length = 0;
    const gw = await startGateway(
      `${config([])}
  - name: opaque
    service: echo
    match: { paths: [/opaque] }
    policies:
      - oauth2-introspection:
          endpoint: "${idp.issuer}/token/introspection"
          client_id: ${GATEWAY_CLIENT.client_id}
          client_secret: ${GATEWAY_CLIENT.client_secret}
          audiences: [opaque-api]
          consumer: { claim: [sub, client_id] }
  - name: app
    service: echo
    match: { paths: [/app] }
    policies:
      - oidc:
          issuer: "${idp.issuer}"
          client_id: web
          client_secret: web-client-secret-for-the-tests
          redirect_uri: "https://app.example.com/app/callback"
          session: { secret: a-session-secret-of-at-least-32-bytes!! }
`,
      { env: { HTTP_PROXY: proxy.url } },
    );
    gateways.push(gw);
    const opaque = await send(gw.url, '/opaque', { headers: { authorization: `Bearer ${await idp.token({ resource: OPAQUE_RESOURCE })}` } });
    assert.equal(opaque.status, 200);
    assert.ok(proxy.requests.includes('POST /token/introspection'), JSON.stringify(proxy.requests));
    const signIn = await send(gw.url, '/app/page', { headers: { accept: 'text/html' } });
    assert.equal(signIn.status, 302);
    assert.ok(String(signIn.headers.location).startsWith(`${idp.issuer}/auth?`), String(signIn.headers.location));
    assert.ok(proxy.requests.includes('GET /.well-known/openid-configuration'), JSON.stringify(proxy.requests));
  });

  it('allows plain http off loopback only with allow_http: true, and warns', async () => {
    const plain = `{ issuer: "${ISSUER}", algorithms: [ES256], jwks_url: "http://idp.internal:${httpPort}/jwks"`;
    const refused = await cli(['validate', writeConfig(config([route('plain', `${plain} }`)]))]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /:\d+: routes\[0\]\.policies\[0\]\.jwt\.issuers\[0\]\.jwks_url: identity provider URLs must be https .*allow_http: true/);

    const gw = await startGateway(config([route('plain', `${plain}, allow_http: true }`)]), { env: { HTTP_PROXY: proxy.url } });
    gateways.push(gw);
    const warned = gw.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('plain http to idp.internal'));
    assert.ok(warned, 'a warning at load');
    assert.equal((await call(gw, '/plain')).status, 200);
  });

  it('refuses a `ca` that holds no certificate, with file:line', async () => {
    const bad = pki.write('not-a-ca.pem', 'hello\n');
    const res = await cli(['validate', writeConfig(config([route('bad', `{ issuer: "${ISSUER}", algorithms: [ES256], jwks_url: "https://localhost:${httpsPort}/jwks", ca: "\${file:${bad}}" }`)]))]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /:\d+: routes\[0\]\.policies\[0\]\.jwt\.issuers\[0\]\.ca: expected PEM CA certificates/);
  });
});
