/**
 * The policy interface (DESIGN.md "A policy"): a schema for the settings, a
 * compile step run once per config snapshot, and small per-request hooks.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Transform } from 'node:stream';
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { GatewaySettings } from '../config/schema.js';
import type { ConfigPath } from '../config/errors.js';
import type { Stores } from '../stores/stores.js';
import type { Consumer, RequestContext } from './context.js';
import type { Deny, PolicyResult } from './decision.js';

export type Phase = 'screen' | 'authenticate' | 'authorize' | 'traffic' | 'transform';
export const PHASES: readonly Phase[] = ['screen', 'authenticate', 'authorize', 'traffic', 'transform'];

export interface PolicyInstance {
  /** Runs before the upstream is called. Keep it synchronous when it can be. */
  onRequest?: (ctx: RequestContext) => PolicyResult | Promise<PolicyResult>;
  /**
   * Runs before every response head of the route is written (server/respond.ts), last policy first; may
   * change ctx.response.headers. It runs for the gateway's own refusals too, whichever policy refused, even
   * when this policy's onRequest did not run: a hook that depends on what its onRequest saw keeps that state
   * per request (a WeakMap on ctx) and writes nothing without it.
   */
  onResponse?: (ctx: RequestContext) => void;
  /**
   * onResponse for a hook that must wait (a function's response hook, which runs in the function's worker
   * thread): the head is written once it settles (server/respond.ts). Only routes holding one take the
   * asynchronous path; not run on the 101 of a WebSocket tunnel, whose head is written at once.
   */
  onResponseAsync?: (ctx: RequestContext) => Promise<void>;
  /** Runs once when the request is over, whatever happened; read-only. */
  onLog?: (ctx: RequestContext) => void;
  /** A transform for the request body on its way upstream (counting, throttling). */
  requestBody?: (ctx: RequestContext) => Transform | undefined;
  /** A transform for the response body on its way to the client. */
  responseBody?: (ctx: RequestContext) => Transform | undefined;
  /**
   * Reads the upstream's response before the client gets any of it (the waf's CRS response phases): when
   * it returns an inspector, the head is held until the body's first `limit` bytes arrived (or all of
   * it), and a Deny the inspector returns is sent in place of the response. Runs only for the policies the
   * request reached; mode and fail apply as for onRequest.
   */
  inspectResponse?: (ctx: RequestContext) => ResponseInspector | undefined;
  /**
   * Fetches what the policy needs before the snapshot serves (JWKS, OIDC
   * discovery). Awaited before listening and before a reload swaps in; it
   * must not throw for an unreachable provider (log it and retry lazily).
   */
  ready?: () => Promise<void>;
  /**
   * Why the policy cannot do its job yet (a provider whose keys or metadata
   * were never fetched), or undefined when it can: a route that needs it
   * makes the gateway not ready (readiness probes answer 503). Called on each
   * probe, so it must be cheap; it may start a background retry.
   */
  readiness?: () => string | undefined;
  /**
   * Cookies this policy owns (oidc sessions) that no upstream may see: the
   * gateway removes them from every route's requests, not only this one's.
   */
  readonly ownedCookies?: readonly string[];
  /**
   * Owned cookies this policy forwards to its own route's upstream
   * (`keep_credential`): removed on every other route, kept on this one.
   */
  readonly keptCookies?: readonly string[];
  /**
   * Authentication methods that name consumers from an outside party's claims
   * (a token issuer, a directory): who that party is, and the prefix put before
   * the names of its identities that are no configured consumer. Two parties
   * on one route must not share a prefix, or one's "jdoe" is the other's.
   */
  readonly identityNamespaces?: readonly { readonly issuer: string; readonly prefix: string }[];
  /** Authentication methods: the issuers whose verified claims and scopes they put on the request. */
  readonly claimsFrom?: readonly string[];
  /** Authorization on claims: the issuers it trusts them from, or 'any' (refused on a route taking several). */
  readonly readsClaimsOf?: readonly string[] | 'any';
}

/** What a policy's inspectResponse returns (see there). */
export interface ResponseInspector {
  /** How many bytes of the body's start it reads; 0: the head only. */
  readonly limit: number;
  /** The head as the client would get it, the body's start (at most `limit` bytes), and whether that is the whole body. */
  inspect(status: number, headers: OutgoingHttpHeaders, body: Buffer, complete: boolean): Deny | undefined;
}

/** A consumer's credential for one method, after that method's credential schema checked it. */
export interface ConsumerCredential<C = unknown> {
  readonly consumer: Consumer;
  /** Stable id for logs and X-Credential-Id: the credential's `id`, or consumer/method/index. */
  readonly id: string;
  readonly config: C;
  /** Where the credential sits in the config, for errors about it. */
  readonly path: ConfigPath;
}

/**
 * What a policy may ask of the gateway's dynamic deny list (defense/deny-list.ts
 * fills it; the automatic defense will): a read-only view, so the policy
 * contract knows nothing of who writes it.
 */
export interface DenyListView {
  readonly size: number;
  has(ip: string): boolean;
}

/**
 * The config's `functions:` compiled (src/functions/registry.ts fills it): the
 * `function` hook policy finds its function here. Opaque to the pipeline.
 */
export interface FunctionTable {
  readonly names: readonly string[];
}

export interface PolicyDeps<C = unknown> {
  /** The credentials consumers hold for this policy's method. */
  readonly credentials: readonly ConsumerCredential<C>[];
  readonly consumers: ReadonlyMap<string, Consumer>;
  readonly settings: GatewaySettings;
  readonly logger: Logger;
  /**
   * Reports something allowed but likely wrong (a jwt issuer with neither
   * audiences nor types), at `path` relative to the policy's settings:
   * `portcullis validate` prints it with file:line, start and reload log it.
   * Absent when the caller collects no warnings (tests, benches): then log.
   */
  readonly warn?: (path: ConfigPath, message: string) => void;
  /** The route this instance serves, or undefined for a global policy. */
  readonly route: string | undefined;
  /** The gateway's shared state (memory or Redis), outliving snapshots: counters, buckets, values, channels. */
  readonly stores: Stores;
  /** The gateway's dynamic deny list (addresses refused at run time), shared across reloads. */
  readonly denyList?: DenyListView;
  /** The gateway's environment (HTTPS_PROXY, NO_PROXY for calls to identity providers); absent: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** The config's functions, for the `function` hook policy. */
  readonly functions?: FunctionTable;
  /** The config file's folder, which relative paths in a policy's settings are read from (as certificate paths are); absent: the working directory. */
  readonly baseDir?: string;
}

export interface PolicyDefinition<S extends TObject = TObject, C extends TSchema = TSchema> {
  readonly name: string;
  readonly phase: Phase;
  readonly description: string;
  readonly config: S;
  /** The shape of one consumer credential, for authentication methods. */
  readonly credentials?: C;
  compile(config: Static<S>, deps: PolicyDeps<Static<C>>): PolicyInstance;
}

export function definePolicy<S extends TObject, C extends TSchema = TSchema>(
  definition: PolicyDefinition<S, C>,
): PolicyDefinition<S, C> {
  return definition;
}

/** Any policy, for registries that hold many kinds. */
export type AnyPolicyDefinition = PolicyDefinition<TObject, TSchema>;
