/**
 * The admin API's core: authentication and role check for every route of the
 * table (table.ts), the one path every config change takes (change():
 * serialised, If-Match checked, the next document built from the running one
 * and handed to Gateway.reload, which validates, compiles and swaps
 * atomically or refuses with issues), the versions kept in SQLite, and the
 * source-of-truth rule between the file and the API (docs/admin-api.md).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AdminApiConfig } from '../../config/admin.js';
import type { SourceText } from '../../config/load.js';
import type { AuditActor } from '../../telemetry/audit/index.js';
import { describeActor } from '../../telemetry/audit/trail.js';
import { gatewayEvents } from '../../telemetry/gateway-events.js';
import { SourceLimit } from '../../telemetry/source-limit.js';
import { bearerToken } from '../auth.js';
import { answer, BodyTooLarge, readBody, type AdminServer } from '../server.js';
import { BadRequest, DocumentError, editable, keepAdminSection, readData, sha256, etagOf, writeData } from './document.js';
import { allows, grantsJson, rolesOf, type Grants } from './roles.js';
import { API_ROUTES } from './table.js';
import { identify } from './tokens.js';
import { certificateClient, crossSite } from './clients.js';
import { acceptsAdminWrites } from '../../config/fleet.js';
import type { ApiCall, ApiCore, ChangePlan, GatewayLink, Reply } from './types.js';
import { VersionStore, type VersionKind } from './versions.js';

export type { GatewayLink } from './types.js';

/** Where admin.api.database sits: relative paths from the config file's directory. */
export function databasePath(api: AdminApiConfig, configFile: string): string | undefined {
  if (api.database === undefined) return undefined;
  return isAbsolute(api.database) ? api.database : resolve(dirname(resolve(configFile)), api.database);
}

function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.etag !== undefined) headers.etag = reply.etag;
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  if (reply.type !== undefined && typeof reply.body === 'string') {
    res.writeHead(reply.status, { ...headers, 'content-type': reply.type, 'content-length': Buffer.byteLength(reply.body) });
    res.end(reply.body);
    return;
  }
  answer(res, reply.status, reply.body as Record<string, unknown>, headers);
}

/** Whether an If-Match header names `etag` (a list of tags; weak ones compared weakly). */
function ifMatchHas(header: string, etag: string): boolean {
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

export class AdminApi implements ApiCore {
  readonly versions: VersionStore;
  readonly sourceOfTruth: 'file' | 'api';
  private readonly roles: Map<string, Grants>;
  private queue: Promise<unknown> = Promise.resolve();
  /** SHA-256 of the file's text the running config stands on (file mode). */
  private fileBase: string | undefined;
  /** The change being applied, so that applied() stores it with its kind. */
  private pending: { text: string; kind: VersionKind } | undefined;

  constructor(
    readonly link: GatewayLink,
    readonly config: AdminApiConfig,
    private readonly logger: Logger,
    previous?: AdminApi,
  ) {
    this.fileBase = previous?.fileBase;
    this.versions = new VersionStore(databasePath(config, link.configFile), config.history);
    this.sourceOfTruth = config.source_of_truth;
    this.roles = rolesOf(config);
  }

  get key(): Buffer {
    return this.versions.key;
  }

  configEtag(): string {
    return etagOf(this.key, this.link.source().text);
  }

  grants(role: string) {
    return grantsJson(this.roles, role);
  }

  /** Registers every route of the table; `current` is read per request, so a reload that changes tokens or roles applies at once. */
  static mount(server: AdminServer, current: () => AdminApi | undefined): void {
    for (const route of API_ROUTES) {
      server.route(route.method, route.path, async (req, res, params) => {
        const api = current();
        if (!api) return answer(res, 404, { error: 'not_found' });
        const client = req.socket.remoteAddress ?? '';
        // A token when one is sent (an explicit choice), else the client certificate (admin mTLS).
        const sent = req.headers.authorization !== undefined;
        const byCertificate = sent ? undefined : certificateClient(req, api.config);
        const principal = sent ? identify(req, api.config) : byCertificate && 'principal' in byCertificate ? byCertificate.principal : undefined;
        if (!principal) {
          const reason = sent ? (bearerToken(req) === undefined ? 'missing_token' : 'invalid_token') : byCertificate && 'refused' in byCertificate ? byCertificate.refused : 'missing_token';
          api.denied(client, {
            type: 'admin.unauthorized',
            message: reason.endsWith('certificate') ? 'admin API call with a client certificate that is not an admin client' : 'admin API call without a valid token',
            reason,
            details: { method: route.method, path: route.path, client_ip: client },
          });
          return answer(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer realm="portcullis-admin"' });
        }
        if (principal.via === 'certificate' && crossSite(req)) {
          api.denied(client, {
            type: 'admin.forbidden',
            message: `admin client "${principal.name}": a request made by another site's page is not taken on a client certificate`,
            details: { actor: principal.name, role: principal.role, resource: route.resource, verb: route.verb, method: route.method, path: route.path, client_ip: client },
          });
          return answer(res, 403, { error: 'forbidden', message: 'cross-site request: not taken on a client certificate' });
        }
        if (!allows(api.roles, principal.role, route.resource, route.verb)) {
          api.denied(client, {
            type: 'admin.forbidden',
            message: `admin token "${principal.name}" (role ${principal.role}) may not ${route.verb} ${route.resource}`,
            details: { actor: principal.name, role: principal.role, resource: route.resource, verb: route.verb, method: route.method, path: route.path, client_ip: client },
          });
          return answer(res, 403, { error: 'forbidden', message: `role "${principal.role}" may not ${route.verb} ${route.resource}` });
        }
        const call = makeCall(req, res, params, principal);
        let reply: Reply | undefined;
        try {
          reply = await route.handle(call, api);
        } catch (err) {
          if (err instanceof BodyTooLarge) reply = { status: 413, body: { error: 'too_large', message: err.message } };
          else if (err instanceof DocumentError || err instanceof BadRequest) reply = { status: 400, body: { error: 'bad_request', message: err.message, errors: [err.message] } };
          else throw err;
        }
        if (reply) send(res, reply);
      });
    }
  }

  /** Refused calls onto the event bus, at most 5 per client address per 10 s (a scanner cannot flood the SIEM). */
  private readonly deniedLimit = new SourceLimit();
  denied(client: string, event: { type: 'admin.unauthorized' | 'admin.forbidden'; message: string; reason?: string; details: Record<string, string> }): void {
    const suppressed = this.deniedLimit.take(client);
    if (suppressed === undefined) return;
    gatewayEvents(this.link.telemetry.events)({ ...event, source: 'admin', details: { ...event.details, suppressed } });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  change(call: ApiCall, plan: ChangePlan): Promise<Reply> {
    return this.serial(async () => {
      const source = this.link.source();
      const underneath = await this.fileChangedUnderneath(source);
      if (underneath) return underneath;
      const data = editable(source.text);
      if (!acceptsAdminWrites(data)) {
        return { status: 409, body: { error: 'data_plane', message: 'a data plane runs the config its control plane pushes: make the change on the control plane' } };
      }
      const before = JSON.stringify(data);
      const current = plan.target(data);
      if (current === undefined) return { status: 404, body: { error: 'not_found' } };
      const ifMatch = call.req.headers['if-match'];
      if (ifMatch === undefined) return { status: 428, body: { error: 'precondition_required', message: 'send If-Match with the ETag of what you read' } };
      if (!ifMatchHas(ifMatch, current)) return { status: 412, body: { error: 'precondition_failed', message: 'changed since you read it: read it again', etag: current } };
      const refused = await plan.edit(data);
      if (refused) return refused;
      keepAdminSection(data, readData(source.text));
      if (JSON.stringify(data) === before) return plan.done(data);
      const text = writeData(data);
      this.pending = { text, kind: plan.kind ?? 'api' };
      const actor: AuditActor = { kind: 'admin', name: call.principal.name, address: call.req.socket.remoteAddress };
      const result = await this.link.reload(actor, { file: source.file, text, baseDir: source.baseDir });
      this.pending = undefined;
      if (!result.ok) {
        const issues = result.issues.map((i) => ({ path: i.path, message: i.message }));
        return { status: 400, body: { error: 'invalid_config', message: 'refused: nothing changed', errors: issues.map((i) => `${i.path}: ${i.message}`), issues } };
      }
      return plan.done(data);
    });
  }

  /**
   * File mode: the file wins whenever it is read, and API changes stack on
   * the text they were made on. Once the file on disk differs from it (an
   * edit not yet reloaded), an API change is refused rather than made on a
   * base the next reload would throw away.
   */
  private async fileChangedUnderneath(source: SourceText): Promise<Reply | undefined> {
    if (this.sourceOfTruth !== 'file' || this.fileBase === undefined) return undefined;
    let text: string;
    try {
      text = await readFile(this.link.configFile, 'utf8');
    } catch {
      return undefined;
    }
    if (sha256(text) === this.fileBase || text === source.text) return undefined;
    return {
      status: 409,
      body: { error: 'file_changed', message: 'the config file changed since it was loaded; in file mode the file wins: reload it (or let the watch do it), then read and retry' },
    };
  }

  /** Every config that starts or is swapped in, from wherever: stored as a version (unless it is the latest already). */
  applied(source: SourceText, actor: AuditActor): void {
    if (actor.kind !== 'admin') {
      try {
        this.fileBase = sha256(readFileSync(this.link.configFile, 'utf8'));
      } catch {
        this.fileBase = undefined;
      }
    }
    const kind: VersionKind = this.pending?.text === source.text ? this.pending.kind : actor.kind === 'admin' ? 'api' : 'file';
    if (this.versions.latest()?.text === source.text) return;
    try {
      this.versions.add(kind, describeActor(actor), source.text, this.fileBase ?? '');
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'admin API: the config version could not be stored');
    }
  }

  /**
   * What a reload that reads the file (signal, watch) runs. File mode: the
   * file (undefined). API mode: the running document with the file's admin
   * section (the one part the file owns: tokens, roles, the listener).
   */
  fileSource(): SourceText | undefined {
    if (this.sourceOfTruth !== 'api') return undefined;
    const running = this.link.source();
    try {
      const file = readData(readFileSync(this.link.configFile, 'utf8'));
      const data = editable(running.text);
      keepAdminSection(data, file);
      this.logger.warn({ file: this.link.configFile }, 'admin.api.source_of_truth is api: of the file, only the admin section is applied (portcullis config apply changes the rest)');
      return { ...running, text: writeData(data) };
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'admin API: the config file could not be read; the running config stays');
      return running;
    }
  }

  close(): void {
    this.versions.close();
  }
}

const MAX_JSON_BODY = 1024 * 1024;

function makeCall(req: IncomingMessage, res: ServerResponse, params: Readonly<Record<string, string>>, principal: ApiCall['principal']): ApiCall {
  const url = new URL(req.url ?? '/', 'http://admin');
  return {
    req,
    res,
    params,
    principal,
    query: url.searchParams,
    text: () => readBody(req),
    async json() {
      const type = req.headers['content-type'] ?? '';
      if (!/^application\/json\b/i.test(type)) throw new BadRequest('(body): send application/json');
      const text = await readBody(req, MAX_JSON_BODY);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new BadRequest('(body): not JSON');
      }
    },
  };
}
