/**
 * What a compiled config is, as the request path reads it: a Snapshot holds the
 * router table, every route's compiled pipeline, the services and the settings.
 * Immutable; a reload compiles a new one beside it (src/compile.ts) and swaps
 * one reference (server/snapshots.ts).
 */
import type { Config } from './config/schema.js';
import type { TrustedProxies } from './net/ip.js';
import type { CompiledPipeline } from './pipeline/run.js';
import type { Router } from './routing/router.js';
import type { ListenerTls } from './server/tls/material.js';
import type { Stores } from './stores/stores.js';
import type { Service } from './upstream/service.js';
import type { CompiledFunctions } from './functions/registry.js';

export interface CompiledRoute {
  readonly name: string;
  /** Undefined when a function answers (services of type function and aws-lambda): the pipeline's last step replies. */
  readonly service: Service | undefined;
  readonly serviceName: string;
  readonly pipeline: CompiledPipeline;
  readonly stripPrefix: boolean;
  readonly preserveHost: boolean;
}

/** Gateway-wide settings in the form the request path wants them. */
export interface RuntimeSettings {
  readonly trustedProxies: TrustedProxies;
  readonly requestIdHeader: string;
  readonly trustIncomingRequestId: boolean;
  readonly keepEscapedSlashes: boolean;
  readonly keepPathParameters: boolean;
  readonly accessLog: boolean;
  readonly hiddenResponseHeaders: ReadonlySet<string>;
  readonly maxBufferedBody: number;
  readonly shutdownTimeoutMs: number;
  /** On SIGTERM: readiness answers 503 and requests are still served this long before the listeners close. */
  readonly drainDelayMs: number;
  readonly maxHeaderSize: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxRequestsPerConnection: number;
  readonly maxHeaderCount: number;
  readonly maxUrlLength: number;
  /** Bytes per second; 0 when off. */
  readonly minBodyRate: number;
  readonly bodyRateWindowMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxInFlight: number;
  /** Per HTTP/2 connection: client resets beyond completed streams before it is closed; 0 when off. */
  readonly http2MaxResets: number;
  /** 0 when off. */
  readonly maxEventLoopDelayMs: number;
  /** The readiness path (gateway.health_path). */
  readonly healthPath: string | undefined;
  readonly livenessPath: string | undefined;
}

export interface Snapshot {
  readonly version: number;
  readonly config: Config;
  readonly router: Router<CompiledRoute>;
  readonly routes: ReadonlyMap<string, CompiledRoute>;
  readonly services: Map<string, Service>;
  /** The config's functions (src/functions/), kept across reloads by the gateway's FunctionHost. */
  readonly functions: CompiledFunctions;
  readonly settings: RuntimeSettings;
  /** The store the policies were compiled against (kept across reloads while `store` is unchanged). */
  readonly stores: Stores;
  /** Each https listener's TLS material, by listener name. */
  readonly listenerTls: ReadonlyMap<string, ListenerTls>;
  /** The config file's folder: relative file names in it are resolved from here. */
  readonly baseDir: string;
}
