/**
 * What the upstream exchange needs from the layers above it, as small
 * interfaces of its own: upstream/ imports neither pipeline/ nor server/.
 * The request context (pipeline/context.ts) satisfies ExchangeContext
 * structurally; the response owner (server/respond.ts) implements ResponseOwner.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Duplex, Transform } from 'node:stream';

/** What the exchange reads of a request, and the timing and byte counters it keeps. */
export interface ExchangeContext {
  readonly id: string;
  readonly method: string;
  readonly clientIp: string;
  readonly consumer: { readonly name: string } | undefined;
  /** Set when a policy read the body into memory: these bytes are forwarded, and a retry may resend them. */
  readonly bufferedBody: Buffer | undefined;
  header(name: string): string | undefined;
  upstreamTarget: string | undefined;
  upstreamStart: number;
  upstreamLatencyMs: number;
  /** Attempts retried, counted for metrics. */
  upstreamRetries: number;
  bytesSent: number;
  bytesReceived: number;
}

/** A WebSocket handshake's client side: the socket and the bytes read past the request head. */
export interface Tunnel {
  readonly socket: Duplex;
  readonly head: Buffer;
}

/**
 * The one owner of the client response (server/respond.ts). The exchange
 * never writes a response head itself: it hands the upstream's status and
 * headers over, and the owner runs the response hooks, adds the request id and
 * connection handling, and writes the head.
 */
export interface ResponseOwner {
  /** The upstream's final response head; false when it could not be written (a header Node refuses). */
  onResponseHead(status: number, statusText: string, headers: OutgoingHttpHeaders): boolean;
  /** The exchange failed before a response head was sent: the gateway answers with its own error. */
  onFailure(status: number, code: string): void;
  /**
   * The upstream accepted a WebSocket handshake: the owner writes the 101 head on the client
   * socket and hands the tunnel over to be spliced, or answers undefined when the head
   * cannot be sent (a header name or value that is not valid).
   */
  onUpgradeHead(status: number, headers: OutgoingHttpHeaders): Tunnel | undefined;
  /** The tunnel is open and spliced. */
  tunnelOpened(): void;
  /** The request body filters of the policies that ran (bandwidth, size counters), in order; undefined for none. */
  requestFilters(): Transform[] | undefined;
  /** The response body filters, in order; undefined for none. */
  responseFilters(): Transform[] | undefined;
}

/**
 * The spans of a recorded request's upstream attempts (telemetry/tracing
 * implements it). Attempts are sequential: each begin is followed by its end.
 */
export interface AttemptTracing {
  /** An attempt starts (0 for the first, 1 for the first retry): returns the traceparent the upstream receives, naming this attempt's span as parent. */
  begin(attempt: number, target: string, path: string): string;
  /** The attempt's final response head arrived with this status. */
  status(code: number): void;
  /** The attempt is over; `error` names the failure (an errno code, a timeout) when it failed. Repeated calls do nothing. */
  end(error?: string): void;
}

export interface UpstreamRequest {
  /** Path and query as sent upstream, without the target's base path. */
  readonly path: string;
  /** Flat [name, value, ...] list, ending with "host", value: the exchange sets the host per target. */
  readonly headers: string[];
  readonly hasBody: boolean;
  /** Send the client's Host upstream rather than the target's. */
  readonly preserveHost: boolean;
  /** Set for a WebSocket handshake: the upstream request asks for an upgrade. */
  readonly upgrade: boolean;
  /** A recorded request's attempt spans; with it, headers[traceparentAt] is rewritten for each attempt. */
  readonly tracing?: AttemptTracing;
  readonly traceparentAt?: number;
}
