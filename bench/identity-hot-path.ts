/**
 * CPU per request of authentication hot paths, in a tight loop (no sockets):
 * a jwt cache hit, a jwt verification (RS256, cache off), a basic-auth cache
 * hit. Run: node --import tsx bench/identity-hot-path.ts
 */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, exportSPKI } from 'jose';
import pino from 'pino';
import { RequestContext } from '../src/pipeline/context.js';
import jwt from '../src/policies/jwt/index.js';
import basicAuth from '../src/policies/basic-auth/index.js';
import { hashPassword } from '../src/identity/passwords.js';
import type { GatewaySettings } from '../src/config/schema.js';
import { memoryStores } from '../src/stores/memory.js';

const logger = pino({ level: 'silent' });
const deps = { credentials: [], consumers: new Map(), settings: {} as GatewaySettings, logger, route: 'bench', stores: memoryStores(logger) };
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = await exportSPKI(publicKey);
const token = await new SignJWT({ sub: 'bench', scope: 'read' }).setProtectedHeader({ alg: 'RS256' }).setIssuer('https://bench').setExpirationTime('1h').sign(privateKey);

const ctx = (headers: Record<string, string>) => new RequestContext('id', 'GET', '/', '', headers, 'h', '127.0.0.1', 'http', 0, undefined);
const jwtConfig = (maxEntries: number) =>
  ({
    issuers: [{ issuer: 'https://bench', algorithms: ['RS256'], keys: [{ pem }], required_claims: [], discovery: false }],
    clock_skew: '30s', consumer: { claim: 'sub', mapping: {}, known_only: false }, token: { header: 'authorization' },
    keep_credential: false, jwks: { refresh_interval: '10m', cooldown: '30s', timeout: '5s' }, cache: { max_entries: maxEntries, ttl: '5m' }, realm: 'p',
  }) as never;

async function measure(name: string, n: number, run: () => unknown): Promise<void> {
  for (let i = 0; i < 200; i++) await run();
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await run();
  const used = process.cpuUsage(before);
  console.log(`${name}: ${((used.user + used.system) / n).toFixed(2)} µs CPU per request`);
}

const cached = jwt.compile(jwtConfig(10_000), deps);
const uncached = jwt.compile(jwtConfig(0), deps);
const headers = { authorization: `Bearer ${token}` };
await measure('jwt RS256, verified-token cache hit', 100_000, () => cached.onRequest!(ctx(headers)));
await measure('jwt RS256, full verification (cache off)', 5_000, () => uncached.onRequest!(ctx(headers)));

const hash = await hashPassword('bench-password');
const user = { consumer: { name: 'u', groups: [], metadata: {} }, id: 'u', config: { username: 'u', password_hash: hash }, path: [] };
const basic = basicAuth.compile({ realm: 'p', keep_credential: false, per_client: 2, cache: { max_entries: 1000, ttl: '5m' } }, { ...deps, credentials: [user] });
const basicHeaders = { authorization: `Basic ${Buffer.from('u:bench-password').toString('base64')}` };
await basic.onRequest!(ctx(basicHeaders));
await measure('basic-auth, verified-pair cache hit', 100_000, () => basic.onRequest!(ctx(basicHeaders)));
await measure('basic-auth, scrypt ln=15 (cache miss, wrong password)', 20, () => basic.onRequest!(ctx({ authorization: `Basic ${Buffer.from('u:wrong').toString('base64')}` })));
