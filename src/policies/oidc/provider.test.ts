import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { DependencyUnavailableError } from '../../errors.js';
import { Provider, ProtocolRefusal } from './provider.js';

const silent = pino({ level: 'silent' });

describe('oidc provider calls (openid-client behind the gateway\'s fetch rules)', () => {
  let server: Server;
  let base: string;
  /** What the fake provider answers per path: status and JSON body. */
  const answers = new Map<string, [number, unknown]>();

  before(async () => {
    server = createServer((req, res) => {
      const [status, body] = answers.get(req.url ?? '') ?? [404, { error: 'not_found' }];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const provider = (issuer: string, algorithms = ['RS256', 'ES256']) =>
    new Provider({ issuer, clientId: 'web', clientSecret: 'secret', timeoutMs: 2000, clockSkewSec: 30, algorithms }, silent);
  const metadata = (issuer: string, extra: Record<string, unknown> = {}) => ({
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    ...extra,
  });

  it('discovers a provider whose document names it and whose endpoints are https or loopback', async () => {
    const issuer = `${base}/good`;
    answers.set('/good/.well-known/openid-configuration', [200, metadata(issuer)]);
    const config = await provider(issuer).config();
    assert.equal(config.serverMetadata().token_endpoint, `${issuer}/token`);
  });

  it('refuses, as unavailable, a document naming another issuer, an endpoint over plain http elsewhere, or one without a token endpoint', async () => {
    const cases: Record<string, Record<string, unknown>> = {
      other: { issuer: 'https://evil.example' },
      plain: { jwks_uri: 'http://keys.example.com/jwks' },
      notoken: { token_endpoint: undefined },
    };
    for (const [name, extra] of Object.entries(cases)) {
      const issuer = `${base}/${name}`;
      answers.set(`/${name}/.well-known/openid-configuration`, [200, metadata(issuer, extra)]);
      await assert.rejects(provider(issuer).config(), DependencyUnavailableError, name);
    }
  });

  it('takes a provider answering 5xx as unavailable, and asks again only after a pause', async () => {
    const issuer = `${base}/down`;
    answers.set('/down/.well-known/openid-configuration', [503, { error: 'down' }]);
    const p = provider(issuer);
    await assert.rejects(p.config(), DependencyUnavailableError);
    answers.set('/down/.well-known/openid-configuration', [200, metadata(issuer)]);
    await assert.rejects(p.config(), DependencyUnavailableError, 'within the pause, no new call');
  });

  it('holds an ID token to the configured algorithms', () => {
    const token = (alg: string) => `${Buffer.from(JSON.stringify({ alg })).toString('base64url')}.e30.sig`;
    const p = provider(`${base}/good`, ['RS256', 'ES256']);
    assert.doesNotThrow(() => p.checkAlgorithm(token('ES256')));
    assert.throws(() => p.checkAlgorithm(token('HS256')), ProtocolRefusal);
    assert.throws(() => p.checkAlgorithm(token('none')), ProtocolRefusal);
  });
});
