/**
 * The `admin` section: the admin listener, which serves /metrics and /healthz
 * (and, later, the admin API). It is a separate listener so that none of it is
 * ever reachable through a route; keep it on loopback or a management network.
 *
 * The metrics token is held only as its SHA-256 digest, like key-auth keys:
 * the snapshot keeps the digest (adminForSnapshot), never the token.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { Type, type Static } from '@sinclair/typebox';
import { Secret } from './types.js';
import type { ConfigPath } from './errors.js';
import { parseListenAddress } from './ajv.js';

/** What a role grants: verbs over resources (docs/admin-api.md lists them). */
export const ADMIN_RESOURCES = ['services', 'routes', 'consumers', 'credentials', 'policies', 'certificates', 'config', 'state', 'events', 'defense'] as const;
export type AdminResource = (typeof ADMIN_RESOURCES)[number];
export type AdminVerb = 'read' | 'write';
export const BUILT_IN_ROLES = ['viewer', 'operator', 'admin'] as const;

const RoleName = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', description: 'lower-case letters, digits, "_", "-"' });

const Grant = Type.Object(
  {
    resources: Type.Array(Type.Union([...ADMIN_RESOURCES.map((r) => Type.Literal(r)), Type.Literal('*')]), { minItems: 1, uniqueItems: true }),
    verbs: Type.Array(Type.Union([Type.Literal('read'), Type.Literal('write')]), { minItems: 1, uniqueItems: true }),
  },
  { additionalProperties: false },
);

export const AdminApiSchema = Type.Object(
  {
    tokens: Type.Optional(Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$', description: 'who the token is: the actor of every change it makes, in the audit trail' }),
          role: RoleName,
          // x-secret: an unsalted digest lets whoever reads it test guesses offline (tokens are 256-bit random: `portcullis admin-token`).
          token_sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$', 'x-secret': true, description: 'hex SHA-256 of the token (`portcullis admin-token` makes one): the token itself is never in the file' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 256, description: 'admin tokens (Authorization: Bearer ...); the API is refused at load without tokens or clients' },
    )),
    clients: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$', description: 'who the certificate is: the actor of every change it makes, in the audit trail' }),
            role: RoleName,
            fingerprint_sha256: Type.Optional(
              Type.String({ pattern: '^([0-9a-fA-F]{64}|([0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2})$', description: "the certificate's SHA-256 fingerprint (hex, with or without colons): this one certificate" }),
            ),
            subject_cn: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "the subject's common name (CN), exactly: any certificate of admin.tls.client_ca with it" })),
            san: Type.Optional(
              Type.String({
                pattern: '^(DNS|URI|email|IP Address):\\S.*$',
                maxLength: 512,
                description: 'one subject alternative name, as "DNS:ops.example.com", "URI:spiffe://corp/ops", "email:ops@example.com": any certificate of admin.tls.client_ca with it',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        {
          minItems: 1,
          maxItems: 256,
          description: 'admin client certificates (mTLS, needs admin.tls.client_ca): each maps a certificate, by fingerprint, subject CN or SAN, to a name and a role; the certificate must chain to admin.tls.client_ca',
        },
      ),
    ),
    roles: Type.Record(RoleName, Type.Array(Grant, { minItems: 1, maxItems: 32 }), {
      default: {},
      description: 'custom roles: name → grants of verbs (read, write) over resources; viewer, operator and admin are built in',
    }),
    source_of_truth: Type.Union([Type.Literal('file'), Type.Literal('api')], {
      default: 'file',
      description:
        'file: the file is the base and wins whenever it is read (start, reload, watch); API changes stack on it and are refused once the file changed underneath. '
        + 'api: the latest stored version wins; a file edit changes only the admin section',
    }),
    database: Type.Optional(
      Type.String({ minLength: 1, description: 'SQLite file keeping the config versions (relative to the config file); without it the history lives in memory and API changes end with the process' }),
    ),
    history: Type.Integer({ minimum: 2, maximum: 10_000, default: 200, description: 'config versions kept; older ones are dropped' }),
    expose: Type.Boolean({ default: false, description: 'allow the API on a non-loopback admin address (a management network); refused otherwise' }),
    dashboard: Type.Boolean({ default: true, description: 'serve the dashboard at /dashboard/' }),
  },
  { additionalProperties: false, description: 'the admin API (REST, /api/v1/...) and the dashboard, on the admin listener' },
);

export type AdminApiConfig = Static<typeof AdminApiSchema>;

export const AdminTlsSchema = Type.Object(
  {
    cert: Type.String({ minLength: 1, description: 'PEM file with the admin listener\'s certificate, then its intermediates' }),
    key: Secret({ description: 'PEM file with its private key' }),
    passphrase: Type.Optional(Secret({ description: 'for an encrypted key; use ${env:...} or ${file:...}' })),
    client_ca: Type.Optional(
      Type.String({ minLength: 1, description: 'PEM bundle of the CAs admin client certificates must chain to: with it the listener asks for a client certificate (admin.api.clients maps them to roles)' }),
    ),
    min_version: Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], { default: 'TLSv1.2', description: 'the oldest TLS version accepted; 1.0 and 1.1 never are' }),
  },
  { additionalProperties: false, description: 'HTTPS on the admin listener (the API, the dashboard, /metrics, the probes); file paths relative to the config file' },
);

export type AdminTlsConfig = Static<typeof AdminTlsSchema>;

export const AdminSchema = Type.Optional(
  Type.Object(
    {
      address: Type.String({ format: 'listen-address', description: 'host:port of the admin listener; keep it on loopback or a management network' }),
      metrics_token: Type.Optional(
        Secret({ maxLength: 4096, description: 'a bearer token GET /metrics must present (Authorization: Bearer ...); hashed in memory at load, use ${env:...} or ${file:...}' }),
      ),
      metrics_token_sha256: Type.Optional(
        // x-secret: an unsalted digest lets whoever reads it (the audit trail, a SIEM) test guesses of the token offline.
        Type.String({ pattern: '^[0-9a-fA-F]{64}$', 'x-secret': true, description: 'hex SHA-256 of the metrics token, so the token never sits in the file' }),
      ),
      tls: Type.Optional(AdminTlsSchema),
      api: Type.Optional(AdminApiSchema),
    },
    { additionalProperties: false, description: 'the admin listener: GET /metrics (Prometheus text), the probes, and with api the admin API and dashboard (docs/admin-api.md)' },
  ),
);

export type AdminConfig = Static<typeof AdminSchema>;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** What the snapshot keeps of `admin`: the token as its digest only, and the TLS files as absolute paths (the admin listener reads them; it knows no config folder). */
export function adminForSnapshot(admin: AdminConfig | undefined, baseDir: string): AdminConfig | undefined {
  if (admin === undefined) return admin;
  const tls = admin.tls && {
    ...admin.tls,
    cert: resolve(baseDir, admin.tls.cert),
    key: resolve(baseDir, admin.tls.key),
    ...(admin.tls.client_ca === undefined ? {} : { client_ca: resolve(baseDir, admin.tls.client_ca) }),
  };
  const withTls = tls ? { ...admin, tls } : admin;
  if (withTls.metrics_token === undefined) return withTls;
  const { metrics_token: token, ...rest } = withTls;
  return { ...rest, metrics_token_sha256: sha256Hex(token) };
}

/**
 * The admin listener's TLS material read from disk and tried (a key that does
 * not fit its certificate, a file that is no PEM): a problem is reported at
 * load with the file's line, rather than when the listener opens.
 */
export function checkAdminTls(admin: AdminConfig | undefined, baseDir: string, report: (path: ConfigPath, message: string) => void): void {
  const tls = admin?.tls;
  if (!tls) return;
  const read = (field: 'cert' | 'key' | 'client_ca'): string | undefined => {
    const file = tls[field];
    if (file === undefined) return undefined;
    try {
      return readFileSync(resolve(baseDir, file), 'utf8');
    } catch (err) {
      report(['admin', 'tls', field], `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  };
  const cert = read('cert');
  const key = read('key');
  const ca = read('client_ca');
  if (cert === undefined || key === undefined) return;
  try {
    createSecureContext({ cert, key, ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }), ...(ca === undefined ? {} : { ca }) });
  } catch (err) {
    report(['admin', 'tls'], `the certificate, key or client_ca cannot be used: ${(err as Error).message}`);
  }
}

/** 127.0.0.0/8, ::1 and "localhost": only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/**
 * The checks the schema cannot make: one token form at most, metrics on
 * without an admin listener to serve them, an admin port a traffic listener
 * already takes, bucket bounds out of order, and (a warning) /metrics open
 * to anyone who can reach a non-loopback admin address.
 */
export function checkAdmin(
  config: { admin?: AdminConfig; listeners: ReadonlyArray<{ name: string; address: string }>; telemetry: { metrics: { enabled?: boolean; latency_buckets: readonly number[] } } },
  report: (path: ConfigPath, message: string) => void,
  warn: (path: ConfigPath, message: string) => void,
): void {
  const admin = config.admin;
  const buckets = config.telemetry.metrics.latency_buckets;
  const unordered = buckets.findIndex((b, i) => i > 0 && b <= buckets[i - 1]!);
  if (unordered > 0) report(['telemetry', 'metrics', 'latency_buckets', unordered], 'bucket bounds must increase: each one above the one before');
  if (config.telemetry.metrics.enabled === true && admin === undefined) {
    report(['telemetry', 'metrics', 'enabled'], 'metrics are served on the admin listener: set admin.address (for instance 127.0.0.1:9901)');
  }
  if (admin === undefined) return;
  if (admin.metrics_token !== undefined && admin.metrics_token_sha256 !== undefined) {
    report(['admin'], 'give one of "metrics_token" or "metrics_token_sha256", not both');
  }
  const address = parseListenAddress(admin.address);
  const wildcard = (host: string) => host === '0.0.0.0' || host === '::';
  const clash = config.listeners.find((l) => {
    const other = parseListenAddress(l.address);
    return address && other && address.port !== 0 && other.port === address.port && (other.host === address.host || wildcard(other.host) || wildcard(address.host));
  });
  const api = admin.api;
  if (api && address && !isLoopbackHost(address.host) && !api.expose) {
    report(['admin', 'address'], `the admin API is on: ${admin.address} is not a loopback address; bind it to 127.0.0.1, or set admin.api.expose: true for a management network`);
  }
  if (api) {
    const tokens = api.tokens ?? [];
    const clients = api.clients ?? [];
    if (tokens.length === 0 && clients.length === 0) {
      report(['admin', 'api'], 'the admin API needs a way to authenticate: admin.api.tokens (`portcullis admin-token`), or admin.api.clients with admin.tls.client_ca');
    }
    const known = (role: string) => (BUILT_IN_ROLES as readonly string[]).includes(role) || api.roles[role] !== undefined;
    tokens.forEach((t, i) => {
      if (!known(t.role)) report(['admin', 'api', 'tokens', i, 'role'], `no role "${t.role}": viewer, operator, admin or one of admin.api.roles`);
      if (tokens.findIndex((o) => o.name === t.name) !== i) report(['admin', 'api', 'tokens', i, 'name'], `token name "${t.name}" is given twice`);
    });
    if (clients.length > 0 && admin.tls?.client_ca === undefined) {
      report(['admin', 'api', 'clients'], 'client certificates need admin.tls with client_ca (the CA they must chain to)');
    }
    clients.forEach((c, i) => {
      if (!known(c.role)) report(['admin', 'api', 'clients', i, 'role'], `no role "${c.role}": viewer, operator, admin or one of admin.api.roles`);
      const ways = [c.fingerprint_sha256, c.subject_cn, c.san].filter((w) => w !== undefined).length;
      if (ways !== 1) report(['admin', 'api', 'clients', i], 'give exactly one of fingerprint_sha256, subject_cn or san');
      if (clients.findIndex((o) => o.name === c.name) !== i || tokens.some((t) => t.name === c.name)) {
        report(['admin', 'api', 'clients', i, 'name'], `"${c.name}" names another token or client: each actor's name is its own`);
      }
    });
    for (const name of Object.keys(api.roles)) {
      if ((BUILT_IN_ROLES as readonly string[]).includes(name)) report(['admin', 'api', 'roles', name], `"${name}" is a built-in role`);
    }
    if (api.source_of_truth === 'api' && api.database === undefined) {
      report(['admin', 'api', 'source_of_truth'], 'source_of_truth: api needs admin.api.database (the versions would end with the process)');
    }
  }
  if (clash) report(['admin', 'address'], `${admin.address} is the port of listener "${clash.name}" (${clash.address}): the admin listener needs a port of its own`);
  const tokenless = admin.metrics_token === undefined && admin.metrics_token_sha256 === undefined;
  if (address && tokenless && !isLoopbackHost(address.host) && config.telemetry.metrics.enabled !== false) {
    warn(
      ['admin', 'address'],
      `the admin listener on ${admin.address} is not on loopback and /metrics needs no token: anyone who can reach it reads route, service and consumer names; set admin.metrics_token or bind it to 127.0.0.1`,
    );
  }
}
