/**
 * Automatic defense on the admin listener (docs/defense.md#admin-api):
 *   GET    /defense/actions                 the actions in force, fleet-wide
 *   POST   /defense/actions                 add one: {"target": "203.0.113.7", "duration": "1h", "kind": "block", "reason": "..."}
 *   DELETE /defense/actions?id=<id>         lift one (or ?target=<address|CIDR|name>: every action on it)
 * Every call needs `Authorization: Bearer <defense.admin_token>`; with no
 * token configured the endpoints refuse (403): an open ban button is a
 * denial-of-service button. Bodies are JSON, at most 16 KiB.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { DefenseConfig } from '../config/defense.js';
import type { AdminBan, DefenseEngine } from '../defense/engine.js';
import type { DefenseAction } from '../defense/actions.js';
import { bearerMatches } from './auth.js';
import { answer, type AdminServer } from './server.js';

const BODY_MAX = 16 * 1024;

export interface DefenseRouteDeps {
  readonly defense: DefenseEngine;
  readonly logger: Logger;
  /** The running config's defense section (its token). */
  readonly token: () => DefenseConfig | undefined;
}

export function defenseRoutes(server: AdminServer, deps: DefenseRouteDeps): void {
  const authorized = (req: IncomingMessage): 'ok' | 'no_token' | 'denied' => {
    const config = deps.token();
    const digest = config?.admin_token_sha256?.toLowerCase() ?? (config?.admin_token === undefined ? undefined : createHash('sha256').update(config.admin_token).digest('hex'));
    if (digest === undefined) return 'no_token';
    return bearerMatches(req, digest) ? 'ok' : 'denied';
  };
  const guard = (req: IncomingMessage, res: Parameters<Parameters<AdminServer['route']>[2]>[1]): boolean => {
    const verdict = authorized(req);
    if (verdict === 'ok') return true;
    if (verdict === 'no_token') answer(res, 403, { error: 'forbidden', message: 'set defense.admin_token to use the defense endpoints' });
    else answer(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
    return false;
  };
  const actor = (req: IncomingMessage) => `admin ${req.socket.remoteAddress ?? ''}`.trim();

  server.route('GET', '/defense/actions', (req, res) => {
    if (!guard(req, res)) return;
    answer(res, 200, { enabled: deps.defense.enabled, actions: deps.defense.ledger.list().map(view) });
  });

  server.route('POST', '/defense/actions', async (req, res) => {
    if (!guard(req, res)) return;
    const body = await readJson(req);
    if (typeof body === 'string') return answer(res, 400, { error: 'bad_request', message: body });
    const input = body as Partial<AdminBan>;
    if (typeof input.target !== 'string') return answer(res, 400, { error: 'bad_request', message: 'target: an address, a CIDR block, a consumer or a credential id' });
    const result = await deps.defense.ban(input as AdminBan, actor(req));
    if (!result.ok) return answer(res, result.status, { error: result.status === 400 ? 'bad_request' : 'conflict', message: result.error });
    answer(res, 201, { action: view(result.action) });
  });

  server.route('DELETE', '/defense/actions', async (req, res) => {
    if (!guard(req, res)) return;
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const id = query.get('id') ?? undefined;
    const target = query.get('target') ?? undefined;
    if (id === undefined && target === undefined) return answer(res, 400, { error: 'bad_request', message: 'give ?id= or ?target=' });
    const lifted = await deps.defense.lift({ id, target }, actor(req));
    if (lifted.length === 0) return answer(res, 404, { error: 'not_found', message: 'no such action in force' });
    answer(res, 200, { lifted: lifted.map(view) });
  });
}

function view(a: DefenseAction): Record<string, unknown> {
  return {
    id: a.id,
    kind: a.kind,
    scope: a.scope,
    target: a.target,
    created_at: new Date(a.createdAt).toISOString(),
    expires_at: new Date(a.expiresAt).toISOString(),
    by: a.by,
    reason: a.reason,
    ...(a.strike === undefined ? {} : { strike: a.strike }),
    ...(a.limit === undefined ? {} : { limit: a.limit, per_ms: a.perMs }),
    ...(a.policy === undefined ? {} : { policy: a.policy }),
  };
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (value: unknown) => {
      if (done) return;
      done = true;
      resolve(value);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_MAX) {
        finish(`the body is larger than ${BODY_MAX} bytes`);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        finish(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch {
        finish('the body is not JSON');
      }
    });
    req.on('error', () => finish('the body could not be read'));
  });
}
