/**
 * The admin API's contract: a route (method, path, the resource and verb a
 * role must grant, what the OpenAPI document says of it, the handler), the
 * call a handler gets, the reply it gives, and what the gateway lends the API
 * (GatewayLink: admin/ imports neither gateway.ts nor the registries).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminResource, AdminVerb } from '../../config/admin.js';
import type { ConfigIssue } from '../../config/errors.js';
import type { DefenseEngine } from '../../defense/engine.js';
import type { SourceText } from '../../config/load.js';
import type { PolicySchemas } from '../../config/types.js';
import type { AuditActor } from '../../telemetry/audit/index.js';
import type { Telemetry } from '../../telemetry/hub.js';
import type { ScrapeSources } from '../../telemetry/metrics/index.js';
import type { AdminMethod } from '../server.js';
import type { Principal } from './tokens.js';
import type { JsonObject } from './document.js';
import type { VersionStore } from './versions.js';

export type ReloadOutcome = { ok: true; version: number } | { ok: false; issues: ConfigIssue[] };

/** What the gateway lends the admin API. */
export interface GatewayLink {
  readonly configFile: string;
  /** The config document running now. */
  source(): SourceText;
  /** Validates, compiles and swaps atomically, or refuses with issues (Gateway.reload). */
  reload(actor: AuditActor, from: SourceText): Promise<ReloadOutcome>;
  /** The running snapshot's version (counts from 1 at each start). */
  version(): number;
  readonly policies: ReadonlyMap<string, PolicySchemas>;
  readonly sources: ScrapeSources;
  readonly telemetry: Telemetry;
  /** Automatic defense: the actions in force, and an operator's ban and lift (defense.ts). */
  readonly defense: Pick<DefenseEngine, 'enabled' | 'ledger' | 'ban' | 'lift'>;
  /** The node's place in a fleet (cluster/fleet/ sets it on a control or data plane); undefined: standalone. */
  fleet(): FleetView | undefined;
}

/** One data plane as its control plane last heard of it (its latest report). */
export interface FleetNodeView {
  readonly name: string;
  /** When the last report came (ms since the epoch). */
  readonly seen: number;
  /** The pushed version it runs (hash), when any. */
  readonly hash?: string;
  /** Its gateway's own version counter. */
  readonly version: number;
  readonly ready: boolean;
  readonly reasons?: readonly string[];
  readonly requests?: Readonly<Record<string, number>>;
  readonly refused?: { readonly hash: string; readonly issues: readonly string[] };
  readonly started_at: string;
  readonly software?: string;
}

/** What a control or data plane shows of the fleet: the version pushed (or running) and, on a control plane, its nodes. */
export interface FleetView {
  readonly role: 'control_plane' | 'data_plane';
  /** A data plane's control plane (its origin). */
  readonly controlPlane?: string;
  current(): { readonly hash?: string; readonly revision?: number };
  nodes(): FleetNodeView[];
}

/** A JSON (or text) reply; `etag` goes out as the ETag header. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly etag?: string;
  /** For text bodies (the config as YAML); JSON otherwise. */
  readonly type?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ApiCall {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly principal: Principal;
  /** The request body parsed as JSON (a 400 when it is not), bounded. */
  json(): Promise<unknown>;
  /** The request body as text, bounded. */
  text(): Promise<string>;
}

/** JSON Schema (as OpenAPI 3.1 takes it) of a body or an answer. */
export type JsonSchema = Readonly<Record<string, unknown>>;

export interface ApiRoute {
  readonly method: AdminMethod;
  /** With {param} segments; params are names (letters, digits, . _ -) or numbers. */
  readonly path: string;
  readonly resource: AdminResource;
  readonly verb: AdminVerb;
  readonly summary: string;
  readonly tag: string;
  /** The request body's schema; YAML text when `bodyType` says so. */
  readonly body?: JsonSchema;
  readonly bodyType?: 'application/json' | 'application/yaml';
  /** The success status and its body's schema. */
  readonly ok: { readonly status: number; readonly schema?: JsonSchema; readonly type?: string };
  /** Writes need If-Match (428 without, 412 when stale). */
  readonly ifMatch?: boolean;
  readonly query?: readonly { readonly name: string; readonly description: string }[];
  /** Refusals of its own the OpenAPI document lists (status: when), beside those every route has. */
  readonly refusals?: Readonly<Record<number, string>>;
  /** Undefined: the handler wrote the response itself (a stream). */
  handle(call: ApiCall, api: ApiCore): Reply | undefined | Promise<Reply | undefined>;
}

/** What handlers use of the API core (index.ts). */
export interface ApiCore {
  readonly link: GatewayLink;
  readonly key: Buffer;
  readonly versions: VersionStore;
  readonly sourceOfTruth: 'file' | 'api';
  configEtag(): string;
  /** The role's grants, for the dashboard. */
  grants(role: string): Record<string, AdminVerb[]>;
  /**
   * One change to the config document, serialised with every other: the
   * precondition checked against the current document (428 / 404 / 412),
   * the edit made, the result reloaded (400 with `path: message` issues when
   * refused, nothing changed), stored as a version.
   */
  change(call: ApiCall, plan: ChangePlan): Promise<Reply>;
}

export interface ChangePlan {
  /** The ETag If-Match is compared with, from the current document; undefined: the target does not exist (404). */
  target(data: JsonObject): string | undefined;
  /** Changes the document's data (a copy); a Reply refuses (409, 400) with nothing changed. */
  edit(data: JsonObject): Reply | undefined | Promise<Reply | undefined>;
  /** The answer once applied, from the new document. */
  done(data: JsonObject): Reply;
  readonly kind?: 'api' | 'rollback' | 'apply';
}
