/**
 * A config file → a compiled Snapshot, touching nothing that runs: read,
 * resolve references, validate against the schemas (the policies' included),
 * prepare the store, compile. Every problem comes back as a ConfigIssue with
 * file, line and path; the caller decides whether anything swaps. Warnings
 * (allowed but likely wrong) come back the same way beside a snapshot.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { compileConfig } from './compile.js';
import { formatPath, type ConfigIssue } from './config/errors.js';
import { MAX_CONFIG_BYTES, parseSource, readSource, type Reference, type SourceText } from './config/load.js';
import type { Config } from './config/schema.js';
import { validateConfig } from './config/validate.js';
import { crossReferenceIssues } from './config/cross-refs.js';
import { DynamicDenyList } from './defense/deny-list.js';
import { policiesByName } from './policies/index.js';
import type { Snapshot } from './snapshot.js';
import type { StoreRegistry } from './stores/registry.js';
import type { UpstreamRegistry } from './upstream/registry.js';
import type { FunctionHost } from './functions/registry.js';
import { auditKeyProblem, configView, type ConfigView } from './telemetry/audit/index.js';

interface LoadDeps {
  upstreams: UpstreamRegistry;
  stores: StoreRegistry;
  logger: Logger;
  version: number;
  env?: NodeJS.ProcessEnv;
  denyList?: DynamicDenyList;
  /** Keeps function runtimes across reloads (the gateway's); absent: functions are compiled afresh. */
  functions?: FunctionHost;
  /** Also return the config's audit view (secrets masked, credentials kept), which compile's snapshot no longer holds. */
  auditView?: boolean;
  /** `validate --offline`: references named, not resolved; files need not exist (config/load.ts LoadOptions). */
  offline?: boolean;
}

export type LoadConfigResult =
  | { ok: true; snapshot: Snapshot; warnings: ConfigIssue[]; view?: ConfigView; source: SourceText }
  | { ok: false; issues: ConfigIssue[] };

/**
 * Offline, compile may refuse only for what is not known offline (a file not
 * there, a referenced value): the config is then valid as far as can be told,
 * with no snapshot.
 */
export type OfflineResult =
  | { ok: true; config: Config; snapshot?: Snapshot; warnings: ConfigIssue[]; references: Reference[]; skipped?: string }
  | { ok: false; issues: ConfigIssue[] };

/**
 * Loads, validates and compiles a config without touching anything running:
 * a file's path, or a document's text already in hand (the admin API, a
 * control plane's push) named by its `file` for the issues and resolving
 * relative paths from its `baseDir`.
 */
export function loadConfig(from: string | SourceText, deps: LoadDeps & { offline: true }): OfflineResult;
export function loadConfig(from: string | SourceText, deps: LoadDeps & { offline?: false }): LoadConfigResult;
export function loadConfig(from: string | SourceText, deps: LoadDeps): LoadConfigResult | OfflineResult {
  let text: SourceText;
  if (typeof from === 'string') {
    try {
      text = readSource(from);
    } catch (err) {
      return { ok: false, issues: [{ file: from, line: 0, path: '(file)', message: describeReadError(from, err) }] };
    }
  } else {
    if (from.text.length > MAX_CONFIG_BYTES) return { ok: false, issues: [{ file: from.file, line: 0, path: '(file)', message: 'config is larger than 16 MiB' }] };
    text = from;
  }
  const parsed = parseSource(text, deps.env, { offline: deps.offline });
  if (!parsed.ok) return parsed;
  // References that did not resolve and the schema's findings, in one list:
  // a file with an unset variable and ten schema errors shows all eleven.
  const unresolved = parsed.source.references.filter((r) => parsed.issues.some((i) => i.path === formatPath(r.path)));
  const unknown = deps.offline ? parsed.source.references : unresolved;
  const validated = validateConfig(parsed.source, policiesByName);
  if (!validated.ok || parsed.issues.length > 0) {
    // A value written as a reference is not known here (offline, or unresolved): the schema's word on it is moot.
    const schemaIssues = validated.ok ? [] : validated.issues.filter((i) => !unknown.some((r) => i.path === formatPath(r.path)));
    // Compile, which checks names against each other, will not run: check them here, on the document as written.
    const source = parsed.source;
    const crossRefs = crossReferenceIssues(source.data).map((i) => ({ file: source.file, line: source.lineOf(i.path), path: formatPath(i.path), message: i.message }));
    const issues = [...parsed.issues, ...schemaIssues, ...crossRefs].sort((a, b) => a.line - b.line);
    if (issues.length > 0) return { ok: false, issues };
  }
  // Here the schema found nothing, or only moot points on referenced values: the data has the config's shape.
  const config = validated.ok ? validated.config : (parsed.source.data as Config);
  const audit = auditKeyProblem(config);
  if (audit) return { ok: false, issues: [{ file: parsed.source.file, line: parsed.source.lineOf(audit.path), path: formatPath(audit.path), message: audit.message }] };
  // Before compile, which drops consumers' credentials from the config it keeps.
  const view = deps.auditView ? configView(config, policiesByName) : undefined;
  const store = deps.stores.prepare(config.store);
  if (!store.ok) {
    const source = parsed.source;
    return { ok: false, issues: store.issues.map((i) => ({ file: source.file, line: source.lineOf(i.path), path: formatPath(i.path), message: i.message })) };
  }
  const compile = () =>
    compileConfig(config, parsed.source, {
      policies: policiesByName,
      upstreams: deps.upstreams,
      logger: deps.logger,
      version: deps.version,
      stores: store.stores,
      denyList: deps.denyList ?? new DynamicDenyList(),
      env: deps.env,
      functions: deps.functions,
    });
  let compiled: ReturnType<typeof compileConfig>;
  if (deps.offline) {
    try {
      compiled = compile();
    } catch (err) {
      // Compile trusts what the schema passed; a reference's own text (an upstream URL) can break that
      // assumption. The shape is checked; the cross-checks need the real values.
      deps.stores.discard(store.stores);
      return { ok: true, config, warnings: [], references: parsed.source.references, skipped: (err as Error).message };
    }
  } else {
    compiled = compile();
  }
  if (!compiled.ok) deps.stores.discard(store.stores);
  if (!compiled.ok && deps.offline) {
    // Offline, files need not exist and referenced values are not known: what compile says of them is moot.
    const moot = (i: ConfigIssue) =>
      / file not found$|: ENOENT$/.test(i.message) || unknown.some((r) => i.path === formatPath(r.path) || i.path.startsWith(`${formatPath(r.path)}.`));
    const issues = compiled.issues.filter((i) => !moot(i));
    if (issues.length > 0) return { ok: false, issues };
    return { ok: true, config, warnings: [], references: parsed.source.references };
  }
  if (compiled.ok && deps.offline) return { ok: true, config, snapshot: compiled.snapshot, warnings: compiled.warnings, references: parsed.source.references };
  if (!compiled.ok) return compiled;
  return view !== undefined ? { ...compiled, view, source: text } : { ...compiled, source: text };
}

function describeReadError(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  // A relative name is read from the working directory, which is not always the one the user thinks of.
  if (code === 'ENOENT') return `config file not found${isAbsolute(file) ? '' : ` (looked for ${resolve(file)})`}`;
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a config file';
  return (err as Error).message;
}
