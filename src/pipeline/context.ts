/**
 * Everything the pipeline knows about one request. Policies read the request
 * from here and record their outcome here; nothing in it is a socket.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { SecurityEvent, SecurityEventDetails } from './events.js';
import type { Deny } from './decision.js';
import type { ClientCertificate } from './client-certificate.js';
import { withoutCookies } from '../lib/cookie-header.js';

/** A refusal that names no event type of its own (telemetry/event-types.ts). */
const UNNAMED_REFUSAL: SecurityEventDetails = { type: 'policy.refused' };

export interface Consumer {
  readonly name: string;
  readonly groups: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
}

/** Reads the request body into memory, at most `limit` bytes. */
export interface BodySource {
  /**
   * Whether the request carries a body, as the server layer knows it: on
   * HTTP/1.1 from Transfer-Encoding and Content-Length, on HTTP/2 also from
   * whether the stream ended with its headers (a body need not announce a length).
   */
  readonly present: boolean;
  read(limit: number): Promise<Buffer>;
}

/**
 * Spans around the pipeline stages that wait on I/O (a JWKS fetch, an
 * introspection call, a directory bind, a Redis round trip), set by
 * telemetry/tracing only on a request it records: pipeline/run.ts asks for one
 * when a stage returns a promise, and calls what it gets back when it settles.
 */
export interface StageSpans {
  /** `startTime` is performance.now() taken before the stage ran; `refused` says how it ended. */
  waiting(name: string, phase: string, startTime: number): (refused: boolean) => void;
}

/** The request as it arrived on the wire (RequestContext.wire). */
export interface Wire {
  readonly target: string;
  readonly version: string;
  readonly rawHeaders: readonly string[];
  readonly remotePort: number;
  readonly localPort: number;
}

/** What `wire` is made from: the parts of Node's IncomingMessage it reads. */
export interface WireSource {
  readonly url?: string | undefined;
  readonly httpVersion: string;
  readonly rawHeaders: string[];
  readonly socket: { readonly remotePort?: number | undefined; readonly localPort?: number | undefined } | null;
}

export interface ResponseState {
  status: number;
  headers: OutgoingHttpHeaders;
}

export class RequestContext {
  /** Set after routing. */
  routeName: string | undefined = undefined;
  serviceName: string | undefined = undefined;
  /** The prefix the route matched, for strip_prefix. */
  matchedPrefix = '';

  consumer: Consumer | undefined = undefined;
  credentialId: string | undefined = undefined;
  /**
   * The credential a client tried, accepted or not, as an authentication
   * policy names it without its secret (a user name, a key's digest): what
   * automatic defense counts distinct values of (credential stuffing). Never
   * logged nor put on an event; the defense hashes it before it is counted.
   */
  attemptedCredential: string | undefined = undefined;
  /** The certificate the client presented on a TLS listener that asks for one (verified or not). */
  clientCertificate: ClientCertificate | undefined = undefined;
  /** Which authentication policy accepted the caller. */
  authenticatedBy: string | undefined = undefined;
  scopes: readonly string[] | undefined = undefined;
  /** The verified claims behind the identity (JWT, introspection, OIDC), for authorization policies. */
  claims: Readonly<Record<string, unknown>> | undefined = undefined;

  /** The path sent upstream when a policy rewrites it (query not included). */
  upstreamPath: string | undefined = undefined;
  /** The query sent upstream when a policy rewrites it, without "?". */
  upstreamQuery: string | undefined = undefined;
  /** Header changes toward the upstream, applied after the gateway's own. */
  upstreamHeaderSets: Map<string, string | string[]> | undefined = undefined;
  upstreamHeaderRemovals: Set<string> | undefined = undefined;
  /** Cookies taken out of the Cookie header the upstream receives (credentials, session cookies). */
  private upstreamCookieRemovals: Set<string> | undefined = undefined;
  /** The whole Cookie header was removed: removing single cookies must not bring the rest back. */
  private cookieRemoved = false;

  /** The response as it will be sent; onResponse hooks may change headers. */
  readonly response: ResponseState = { status: 0, headers: {} };
  /** The refusal, when the gateway answered instead of the upstream. */
  denial: Deny | undefined = undefined;
  events: SecurityEvent[] | undefined = undefined;
  /** How many pipeline steps were reached; only their log hooks and body filters run (response hooks all run). */
  stepsRun = 0;

  /** W3C trace context of this request (32 and 16 lower-case hex digits), when tracing is on or the client sent one. */
  traceId: string | undefined = undefined;
  spanId: string | undefined = undefined;
  /** Set only while the request is traced and recorded (sampled). */
  stageSpans: StageSpans | undefined = undefined;

  upstreamTarget: string | undefined = undefined;
  upstreamStart = 0;
  upstreamLatencyMs = -1;
  /** Upstream attempts retried (metrics). */
  upstreamRetries = 0;
  bytesSent = 0;
  bytesReceived = 0;
  /** Set by the proxy when the body was read into memory by a policy. */
  bufferedBody: Buffer | undefined = undefined;
  /** The most any policy may read of the body (request-size lowers it); readBody never reads past it. */
  bodyLimit = Infinity;
  /** What RequestSlots hold for this request: slot, value, slot, value ... (see RequestSlot). */
  slots: unknown[] | undefined = undefined;

  constructor(
    readonly id: string,
    readonly method: string,
    /** Normalized, percent-encoding canonical; what routing and policies see and what is forwarded. */
    readonly path: string,
    /** The raw query string without "?", or "" when there is none. */
    readonly query: string,
    readonly headers: IncomingHttpHeaders,
    /** Lower-case host without port. */
    readonly host: string,
    /** The client address, after trusted_proxies. */
    readonly clientIp: string,
    readonly scheme: 'http' | 'https',
    readonly startTime: number,
    private readonly bodySource: BodySource | undefined,
  ) {}

  /** Reads the whole body (once) for a policy that must see it; the proxy then forwards these bytes. */
  /** Does the request carry a body? Policies ask this, never the headers: HTTP/2 bodies need not declare a length. */
  get hasBody(): boolean {
    return this.bodySource?.present ?? false;
  }

  async readBody(limit: number): Promise<Buffer> {
    if (this.bufferedBody) return this.bufferedBody;
    this.bufferedBody = this.bodySource ? await this.bodySource.read(Math.min(limit, this.bodyLimit)) : Buffer.alloc(0);
    return this.bufferedBody;
  }

  /** One header value as a string: the first of several, undefined when absent. */
  header(name: string): string | undefined {
    const value = this.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  /**
   * The upstream receives this value (each of a list as a field of its own)
   * instead of the client's header of that name: a set replaces, it does not
   * add to what the client sent, and the last set or remove of a name wins.
   * Headers the gateway writes itself (Host, the forwarding, request id and
   * identity headers) are not the client's to replace: a value set for one
   * of them is sent beside the gateway's, so never set those.
   */
  setUpstreamHeader(name: string, value: string | string[]): void {
    const lower = name.toLowerCase();
    (this.upstreamHeaderRemovals ??= new Set()).add(lower);
    (this.upstreamHeaderSets ??= new Map()).set(lower, value);
  }

  /**
   * The client's header is not forwarded, nor a value a policy set for it
   * before. Only the client's headers can be removed: the ones the gateway
   * writes itself (Host, the forwarding, request id and identity headers) are
   * sent whatever a policy removes.
   */
  removeUpstreamHeader(name: string): void {
    const lower = name.toLowerCase();
    (this.upstreamHeaderRemovals ??= new Set()).add(lower);
    this.upstreamHeaderSets?.delete(lower);
    if (lower === 'cookie') this.cookieRemoved = true;
  }

  /**
   * Removes one cookie from the Cookie header the upstream receives, keeping
   * the others; several removals (a token cookie, every oidc session cookie)
   * add up instead of the last one restoring what an earlier one removed.
   */
  removeUpstreamCookie(name: string): void {
    const raw = this.headers.cookie;
    if (raw === undefined || this.cookieRemoved) return;
    (this.upstreamCookieRemovals ??= new Set()).add(name);
    const rest = withoutCookies(Array.isArray(raw) ? raw.join('; ') : raw, this.upstreamCookieRemovals);
    (this.upstreamHeaderRemovals ??= new Set()).add('cookie');
    if (rest === undefined) this.upstreamHeaderSets?.delete('cookie');
    else this.setUpstreamHeader('cookie', rest);
  }

  /** Records who the caller is; called by authentication policies. */
  authenticate(
    consumer: Consumer,
    credentialId: string | undefined,
    by: string,
    scopes?: readonly string[],
    claims?: Readonly<Record<string, unknown>>,
  ): void {
    this.consumer = consumer;
    this.credentialId = credentialId;
    this.authenticatedBy = by;
    if (scopes) this.scopes = scopes;
    if (claims) this.claims = claims;
  }

  /** A detection that does not refuse by itself (one waf rule's match): an event with action "observed". */
  observe(policy: string, details: SecurityEventDetails): void {
    this.pushEvent(policy, details, 'observed', 0, 'request_blocked');
  }

  /** Node's request, kept by the server's intake for `wire`, which is made from it only if read. */
  private wireSource: WireSource | undefined = undefined;
  private wireMade: Wire | undefined = undefined;

  /** The server's intake hands the request as Node parsed it (its target in origin form when Node has no url). */
  keepWire(source: WireSource): void {
    this.wireSource = source;
  }

  /**
   * The request as it arrived on the wire: what a SecLang engine reads as
   * REQUEST_LINE and raw headers. Made the first time it is read (only the CRS
   * step reads it), not for every request.
   */
  get wire(): Wire | undefined {
    const source = this.wireSource;
    if (this.wireMade === undefined && source !== undefined) {
      const socket = source.socket;
      this.wireMade = {
        target: source.url ?? (this.query === '' ? this.path : `${this.path}?${this.query}`),
        version: source.httpVersion,
        rawHeaders: source.rawHeaders,
        remotePort: socket?.remotePort ?? 0,
        localPort: socket?.localPort ?? 0,
      };
    }
    return this.wireMade;
  }

  recordEvent(policy: string, denial: Deny, action: 'blocked' | 'monitored'): void {
    this.pushEvent(policy, denial.event ?? UNNAMED_REFUSAL, action, denial.status, denial.code);
  }

  private pushEvent(policy: string, details: SecurityEventDetails, action: 'blocked' | 'monitored' | 'observed', status: number, code: Deny['code']): void {
    (this.events ??= []).push({
      type: details.type,
      severity: details.severity,
      policy,
      route: this.routeName,
      consumer: this.consumer?.name,
      clientIp: this.clientIp,
      requestId: this.id,
      action,
      status,
      code,
      reason: details.reason,
      message: details.message,
      data: details.data,
    });
  }
}

/**
 * A policy's own state for one request, kept between its hooks (a rate
 * limit's standing from onRequest to onResponse). Held on the request itself,
 * so it goes with it: a WeakMap keyed by the request did the same, but each
 * entry is an ephemeron the garbage collector has to trace specially, about
 * a third of a rate limit's cost per request. A request holds a handful of
 * slots at most, so a lookup is a short scan.
 */
export class RequestSlot<T> {
  get(ctx: RequestContext): T | undefined {
    const slots = ctx.slots;
    if (slots === undefined) return undefined;
    for (let i = 0; i < slots.length; i += 2) if (slots[i] === this) return slots[i + 1] as T;
    return undefined;
  }

  set(ctx: RequestContext, value: T): void {
    const slots = ctx.slots;
    if (slots === undefined) {
      // The first slot of a request: an array of exactly two (a push onto [] reserves room for 19).
      ctx.slots = [this, value];
      return;
    }
    for (let i = 0; i < slots.length; i += 2) {
      if (slots[i] === this) {
        slots[i + 1] = value;
        return;
      }
    }
    slots.push(this, value);
  }

  delete(ctx: RequestContext): void {
    const slots = ctx.slots;
    if (slots === undefined) return;
    for (let i = 0; i < slots.length; i += 2) if (slots[i] === this) slots[i + 1] = undefined;
  }
}
