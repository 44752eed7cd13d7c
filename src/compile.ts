/**
 * Config → Snapshot: the router table, every route's compiled pipeline, the
 * services, and the settings the request path reads. A snapshot is immutable;
 * a reload compiles a new one beside it. Compile problems are collected, not
 * thrown one at a time.
 */
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { DynamicDenyList } from './defense/deny-list.js';
import RE2 from 're2';
import { parsePathSpec } from './routing/path-spec.js';
import { Router, type HeaderCondition } from './routing/router.js';
import { buildPipeline, type PlacedStep } from './pipeline/build.js';
import type { Consumer } from './pipeline/context.js';
import type { AnyPolicyDefinition, ConsumerCredential } from './pipeline/policy.js';
import { TrustedProxies } from './net/ip.js';
import type { Stores } from './stores/stores.js';
import { compileListenersTls } from './server/tls/compile.js';
import { compileServicesTls } from './upstream/tls.js';
import type { UpstreamRegistry } from './upstream/registry.js';
import { FunctionHost } from './functions/registry.js';
import { terminalStep } from './functions/terminal.js';
import { ConfigError, ConfigErrors, formatPath, type ConfigIssue, type ConfigPath } from './config/errors.js';
import type { LoadedSource } from './config/load.js';
import type { Config, PolicyEntryConfig, RouteConfig } from './config/schema.js';
import { checkServerLimits } from './config/server-limits.js';
import { crossReferenceIssues } from './config/cross-refs.js';
import { adminForSnapshot, checkAdmin, checkAdminTls } from './config/admin.js';
import { checkFleet } from './config/fleet.js';
import { checkSinks } from './config/telemetry/sinks.js';
import { checkDefense } from './config/defense.js';
import { parseDuration, parseSize } from './config/units.js';
import { checkShadowedRoutes, guardKey, type RouteAccess } from './routing/shadow.js';
import type { CompiledRoute, RuntimeSettings, Snapshot } from './snapshot.js';

export interface CompileDeps {
  readonly policies: ReadonlyMap<string, AnyPolicyDefinition>;
  /** The gateway's dynamic deny list, shared by every snapshot. */
  readonly denyList?: DynamicDenyList;
  readonly upstreams: UpstreamRegistry;
  readonly logger: Logger;
  readonly version: number;
  readonly stores: Stores;
  /** The gateway's environment, for policies that read proxy variables (calls to identity providers). */
  readonly env?: NodeJS.ProcessEnv;
  /** Keeps function runtimes across reloads; absent (validate, tests): the functions are compiled afresh. */
  readonly functions?: FunctionHost;
}

/** `warnings`: allowed but likely wrong, with file, line and path like issues; `portcullis validate` prints them, start and reload log them. */
export type CompileResult = { ok: true; snapshot: Snapshot; warnings: ConfigIssue[] } | { ok: false; issues: ConfigIssue[] };

export function compileConfig(config: Config, source: LoadedSource, deps: CompileDeps): CompileResult {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  const report = (path: ConfigPath, message: string) => {
    const issue = { file: source.file, line: source.lineOf(path), path: formatPath(path), message };
    const key = `${issue.path}\n${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  };
  const warnings: ConfigIssue[] = [];
  const warn = (path: ConfigPath, message: string) => {
    warnings.push({ file: source.file, line: source.lineOf(path), path: formatPath(path), message });
  };

  for (const issue of crossReferenceIssues(config)) report(issue.path, issue.message);
  const settings = compileSettings(config, report);
  checkServerLimits(config, report);
  checkAdmin(config, report, warn);
  checkFleet(config.fleet, report);
  checkSinks(config.telemetry, report);
  checkDefense(config, report, warn);
  const consumers = new Map<string, Consumer>();
  for (const c of config.consumers) consumers.set(c.name, { name: c.name, groups: c.groups, metadata: c.metadata });
  const credentials = credentialsByMethod(config, consumers);

  config.services.forEach((service, i) => {
    if (service.balance === 'consistent-hash' && service.hash_on === 'header' && !service.hash_header) {
      report(['services', i, 'hash_header'], 'consistent-hash on a header needs hash_header');
    }
  });
  const functionHost = deps.functions ?? new FunctionHost(deps.logger);
  const functions = functionHost.prepare(config.functions, source.file, deps.stores, report, config.functions_runtime.threads);
  const terminals = new Map<string, PlacedStep>();
  config.services.forEach((service, i) => {
    const step = terminalStep(service, ['services', i], functions, deps.env ?? process.env, report);
    if (step) terminals.set(service.name, step);
  });
  const httpServices = config.services.filter((s) => s.type === 'http');

  const baseDir = dirname(resolve(source.file));
  /** Cookies some policy owns (oidc sessions): removed from the requests of every route, filled as policies compile. */
  const ownedCookies: string[] = [];
  const compilePolicies = (entries: readonly PolicyEntryConfig[], base: ConfigPath, route: string | undefined): PlacedStep[] => {
    const steps: PlacedStep[] = [];
    entries.forEach((entry, i) => {
      const [name, raw] = Object.entries(entry)[0]!;
      const definition = deps.policies.get(name)!;
      const settings = raw as Record<string, unknown> & { mode: 'enforce' | 'monitor'; fail: 'open' | 'closed' };
      try {
        const instance = definition.compile(settings, {
          credentials: credentials.get(name) ?? [],
          consumers,
          settings: config.gateway,
          logger: deps.logger.child({ policy: name, route }),
          route,
          stores: deps.stores,
          denyList: deps.denyList,
          env: deps.env,
          functions,
          baseDir,
          warn: (path, message) => warn([...base, i, name, ...path], message),
        });
        steps.push({ name, phase: definition.phase, instance, monitor: settings.mode === 'monitor', failOpen: settings.fail === 'open' });
        for (const cookie of instance.ownedCookies ?? []) if (!ownedCookies.includes(cookie)) ownedCookies.push(cookie);
      } catch (err) {
        const place = (e: ConfigError) => report(e.absolute ? e.path : [...base, i, name, ...e.path], e.message);
        if (err instanceof ConfigError) place(err);
        else if (err instanceof ConfigErrors) err.errors.forEach(place);
        else report([...base, i, name], `cannot compile: ${(err as Error).message}`);
      }
    });
    return steps;
  };

  const allGlobalSteps = compilePolicies(config.global_policies, ['global_policies'], undefined);
  const globalNames = config.global_policies.map((entry) => Object.keys(entry)[0]!);
  const listenerTls = compileListenersTls(config.listeners, baseDir, report);
  checkAdminTls(config.admin, baseDir, report);
  const services = deps.upstreams.prepare(httpServices, compileServicesTls(httpServices, baseDir, report));

  const routes = new Map<string, CompiledRoute>();
  const entries: ConstructorParameters<typeof Router<CompiledRoute>>[0][number][] = [];
  const access: RouteAccess[] = [];
  config.routes.forEach((route, r) => {
    const base: ConfigPath = ['routes', r];
    const service = services.get(route.service);
    const terminal = terminals.get(route.service);
    const own = compilePolicies(route.policies, [...base, 'policies'], route.name);
    if (terminal) own.push(terminal);
    const skip = new Set(route.skip.filter((name) => globalNames.includes(name)));
    const globalSteps = allGlobalSteps.filter((s) => !skip.has(s.name));
    const globalAuth = globalSteps.some((s) => s.phase === 'authenticate');
    const globalEnforcedAuth = globalSteps.some((s) => s.phase === 'authenticate' && !s.monitor);
    const skippedAuth = allGlobalSteps.filter((s) => s.phase === 'authenticate' && skip.has(s.name)).map((s) => s.name);
    if (!route.public && skippedAuth.length > 0 && !globalAuth && !own.some((s) => s.phase === 'authenticate') && !hasAuthEntry(route, deps.policies)) {
      report(
        [...base, 'skip'],
        `route "${route.name}" skips ${[...new Set(skippedAuth)].join(', ')}, which leaves it with no authentication; ` +
          'mark it "public: true" if it is meant to be open, or give it an authentication policy of its own',
      );
    } else if (!route.public && !globalAuth && !own.some((s) => s.phase === 'authenticate') && !hasAuthEntry(route, deps.policies)) {
      report(base, `route "${route.name}" has no authentication policy; add one (such as key-auth) or mark it "public: true"`);
    } else if (
      !route.public &&
      !globalEnforcedAuth &&
      (globalAuth || own.some((s) => s.phase === 'authenticate')) &&
      own.every((s) => s.phase !== 'authenticate' || s.monitor)
    ) {
      // Authentication in monitor mode lets everyone through: that is a public route, and must say so.
      report(base, `route "${route.name}" authenticates only in monitor mode, which lets every caller through; mark it "public: true" while rolling out`);
    }
    const methods = route.match.methods;
    if (methods?.includes('HEAD') && !methods.includes('GET')) {
      // The router sends HEAD wherever GET goes, and the upstream runs its GET handler for a HEAD: a HEAD-only
      // route would be a second way into the GET route's handler, under other policies.
      report(
        [...base, 'match', 'methods', methods.indexOf('HEAD')],
        `route "${route.name}" takes HEAD without GET: HEAD is answered by the route that takes GET on the same path ` +
          `(HEAD is GET without the body, RFC 9110 §9.3.2, and upstreams run the GET handler for it); drop HEAD, or list GET too`,
      );
    }
    if (route.public && globalEnforcedAuth && !own.some((s) => s.phase === 'authenticate')) {
      // The layout of issue 13: a global jwt and a public /status that still answered 401.
      const names = [...new Set(globalSteps.filter((s) => s.phase === 'authenticate').map((s) => s.name))];
      warn(base, `route "${route.name}" is public, but the global ${names.join(', ')} still authenticates it; add skip: [${names.join(', ')}] to let callers in without credentials`);
    }
    access.push({ route, index: r, guards: accessGuards(route, config.global_policies, skip, deps.policies) });
    checkIdentityNamespaces([...globalSteps, ...own], base, report);
    const anonymous = compileAnonymous(route, base, consumers, globalAuth || hasAuthEntry(route, deps.policies), report);
    const headers = compileHeaderMatches(route, base, report);
    for (const [p, path] of (route.match.paths ?? []).entries()) {
      try {
        parsePathSpec(path);
      } catch (err) {
        report([...base, 'match', 'paths', p], (err as Error).message);
      }
    }
    if (!service && !terminal) return;
    const compiled: CompiledRoute = {
      name: route.name,
      service,
      serviceName: route.service,
      pipeline: buildPipeline(globalSteps, own, anonymous, ownedCookies),
      stripPrefix: route.strip_prefix,
      preserveHost: route.preserve_host ?? service?.preserveHost ?? false,
    };
    routes.set(route.name, compiled);
    entries.push({ route: compiled, hosts: route.match.hosts, paths: route.match.paths, methods: route.match.methods, headers });
  });

  checkShadowedRoutes(access, report);

  if (issues.length > 0) {
    deps.upstreams.discard(services);
    functionHost.discard(functions);
    issues.sort((a, b) => a.line - b.line);
    return { ok: false, issues };
  }
  let router: Router<CompiledRoute>;
  try {
    router = new Router(entries);
  } catch (err) {
    deps.upstreams.discard(services);
    functionHost.discard(functions);
    return { ok: false, issues: [{ file: source.file, line: 0, path: 'routes', message: (err as Error).message }] };
  }
  // Consumers' credentials (API keys among them) were for the policies' compile steps, which keep only
  // what they need (key digests); the snapshot's copy of the config does not keep them.
  // The admin metrics token likewise: its digest only.
  const kept: Config = { ...config, consumers: config.consumers.map((c) => ({ ...c, credentials: {} })), admin: adminForSnapshot(config.admin, baseDir) };
  warnings.sort((a, b) => a.line - b.line);
  return { ok: true, warnings, snapshot: { version: deps.version, config: kept, router, routes, services, functions, settings: settings!, stores: deps.stores, listenerTls, baseDir } };
}

/**
 * Two authentication methods of one route that name consumers from different
 * parties (two token issuers, an issuer and a directory) must not name them
 * alike: a "jdoe" of each would be one consumer, with one rate limit, one
 * quota and one name upstream.
 */
function checkIdentityNamespaces(steps: readonly PlacedStep[], base: ConfigPath, report: (path: ConfigPath, message: string) => void): void {
  // Scopes and claims from several issuers: a claims policy must say whose it means.
  const claimIssuers = new Set(steps.flatMap((s) => s.instance.claimsFrom ?? []));
  if (claimIssuers.size > 1) {
    for (const step of steps) {
      if (step.instance.readsClaimsOf !== 'any') continue;
      report(
        [...base, 'policies'],
        `${step.name}: the route takes scopes and claims from several issuers (${[...claimIssuers].join(', ')}); name the ones these rules are for in ${step.name}.issuers, or a partner's token claiming the same values passes`,
      );
    }
  }
  const seen = new Map<string, { issuer: string; policy: string }>();
  for (const step of steps) {
    for (const { issuer, prefix } of step.instance.identityNamespaces ?? []) {
      const other = seen.get(prefix);
      if (other === undefined) seen.set(prefix, { issuer, policy: step.name });
      else if (other.issuer !== issuer) {
        report(
          [...base, 'policies'],
          `${other.policy} (${other.issuer}) and ${step.name} (${issuer}) both name consumers "${prefix}<subject>": one subject of each would be one consumer; give one of them its own consumer.prefix (such as "${step.name}:")`,
        );
      }
    }
  }
}

/** The route's anonymous consumer: it must exist, and the route must have a method it stands in for. */
function compileAnonymous(
  route: RouteConfig,
  base: ConfigPath,
  consumers: ReadonlyMap<string, Consumer>,
  hasAuthentication: boolean,
  report: (path: ConfigPath, message: string) => void,
): Consumer | undefined {
  if (route.anonymous === undefined) return undefined;
  const consumer = consumers.get(route.anonymous);
  // A consumer not there is a cross-reference issue (config/cross-refs.ts), reported already.
  if (!hasAuthentication) {
    report([...base, 'anonymous'], 'anonymous needs an authentication policy on the route (or a global one) to stand in for');
  }
  return consumer;
}

/** A route whose auth policy failed to compile already has an error; do not add "no authentication". */
function hasAuthEntry(route: RouteConfig, policies: ReadonlyMap<string, AnyPolicyDefinition>): boolean {
  return route.policies.some((entry) => policies.get(Object.keys(entry)[0]!)?.phase === 'authenticate');
}

/** Policies that decide who may reach a route at all, beyond the authenticate and authorize phases. */
const ACCESS_CONTROL_SCREENS: ReadonlySet<string> = new Set(['ip-restriction']);

/**
 * The access-control policies the route enforces, for the shadowing check (src/routing/shadow.ts): its own,
 * and the global ones it does not skip (a route that skips a global jwt must not take another's requests).
 */
function accessGuards(
  route: RouteConfig,
  global: readonly PolicyEntryConfig[],
  skip: ReadonlySet<string>,
  policies: ReadonlyMap<string, AnyPolicyDefinition>,
): Map<string, string> {
  const guards = new Map<string, string>();
  const kept = global.filter((entry) => !skip.has(Object.keys(entry)[0]!));
  for (const entry of [...kept, ...route.policies]) {
    const [name, settings] = Object.entries(entry)[0]!;
    const phase = policies.get(name)?.phase;
    if ((settings as { mode?: string } | undefined)?.mode === 'monitor') continue;
    if (phase === 'authenticate' || phase === 'authorize' || ACCESS_CONTROL_SCREENS.has(name)) guards.set(guardKey(name, settings), name);
  }
  return guards;
}

function compileSettings(config: Config, report: (path: ConfigPath, message: string) => void): RuntimeSettings | undefined {
  const g = config.gateway;
  // One path cannot answer both: a liveness probe would see readiness, or the other way round.
  if (g.liveness_path !== undefined && g.liveness_path === g.health_path) report(['gateway', 'liveness_path'], 'must differ from health_path (liveness and readiness answer differently)');
  try {
    return {
      trustedProxies: new TrustedProxies(g.trusted_proxies),
      requestIdHeader: g.request_id.header.toLowerCase(),
      trustIncomingRequestId: g.request_id.trust_incoming,
      keepEscapedSlashes: g.escaped_slashes === 'keep',
      keepPathParameters: g.path_parameters === 'keep',
      accessLog: g.access_log,
      hiddenResponseHeaders: new Set(g.hide_response_headers.map((h) => h.toLowerCase())),
      maxBufferedBody: parseSize(g.limits.max_buffered_body),
      shutdownTimeoutMs: parseDuration(g.shutdown_timeout),
      drainDelayMs: parseDuration(g.drain_delay),
      maxHeaderSize: parseSize(g.limits.max_header_size),
      headersTimeoutMs: parseDuration(g.limits.headers_timeout),
      requestTimeoutMs: parseDuration(g.limits.request_timeout),
      keepAliveTimeoutMs: parseDuration(g.limits.keepalive_timeout),
      maxRequestsPerConnection: g.limits.max_requests_per_connection,
      maxHeaderCount: g.limits.max_header_count,
      maxUrlLength: parseSize(g.limits.max_url_length),
      minBodyRate: parseSize(g.limits.min_body_rate),
      bodyRateWindowMs: parseDuration(g.limits.body_rate_window),
      maxConnections: g.limits.max_connections,
      maxConnectionsPerIp: g.limits.max_connections_per_ip,
      maxInFlight: g.limits.max_in_flight,
      http2MaxResets: g.limits.http2_max_resets,
      maxEventLoopDelayMs: parseDuration(g.limits.max_event_loop_delay),
      healthPath: g.health_path,
      livenessPath: g.liveness_path,
    };
  } catch (err) {
    report(['gateway'], (err as Error).message);
    return undefined;
  }
}

function credentialsByMethod(config: Config, consumers: Map<string, Consumer>): Map<string, ConsumerCredential[]> {
  const byMethod = new Map<string, ConsumerCredential[]>();
  config.consumers.forEach((c, ci) => {
    const consumer = consumers.get(c.name)!;
    for (const [method, list] of Object.entries(c.credentials)) {
      let out = byMethod.get(method);
      if (!out) byMethod.set(method, (out = []));
      list.forEach((credential, k) => {
        const explicitId = (credential as { id?: unknown }).id;
        out.push({
          consumer,
          id: typeof explicitId === 'string' ? explicitId : `${c.name}/${method}/${k}`,
          config: credential,
          path: ['consumers', ci, 'credentials', method, k],
        });
      });
    }
  });
  return byMethod;
}

function compileHeaderMatches(route: RouteConfig, base: ConfigPath, report: (path: ConfigPath, message: string) => void): HeaderCondition[] | undefined {
  const headers = route.match.headers;
  if (!headers) return undefined;
  const out: HeaderCondition[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const trimmed = value.trim();
    if (trimmed.startsWith('~')) {
      const source = trimmed.slice(1).trim();
      try {
        out.push({ name: name.toLowerCase(), exact: undefined, regex: new RE2(source) });
      } catch (err) {
        report([...base, 'match', 'headers', name], `invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
      }
    } else {
      out.push({ name: name.toLowerCase(), exact: value, regex: undefined });
    }
  }
  return out;
}
