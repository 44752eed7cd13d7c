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
import { parseSource, readSource } from './config/load.js';
import { validateConfig } from './config/validate.js';
import { DynamicDenyList } from './defense/deny-list.js';
import { policiesByName } from './policies/index.js';
import type { Snapshot } from './snapshot.js';
import type { StoreRegistry } from './stores/registry.js';
import type { UpstreamRegistry } from './upstream/registry.js';
import { auditKeyProblem, configView, type ConfigView } from './telemetry/audit/index.js';

/** Loads, validates and compiles a config file without touching anything running. */
export function loadConfig(
  file: string,
  deps: {
    upstreams: UpstreamRegistry;
    stores: StoreRegistry;
    logger: Logger;
    version: number;
    env?: NodeJS.ProcessEnv;
    denyList?: DynamicDenyList;
    /** Also return the config's audit view (secrets masked, credentials kept), which compile's snapshot no longer holds. */
    auditView?: boolean;
  },
): { ok: true; snapshot: Snapshot; warnings: ConfigIssue[]; view?: ConfigView } | { ok: false; issues: ConfigIssue[] } {
  let text;
  try {
    text = readSource(file);
  } catch (err) {
    return { ok: false, issues: [{ file, line: 0, path: '(file)', message: describeReadError(file, err) }] };
  }
  const parsed = parseSource(text, deps.env);
  if (!parsed.ok) return parsed;
  const validated = validateConfig(parsed.source, policiesByName);
  if (!validated.ok) return validated;
  const audit = auditKeyProblem(validated.config);
  if (audit) return { ok: false, issues: [{ file: parsed.source.file, line: parsed.source.lineOf(audit.path), path: formatPath(audit.path), message: audit.message }] };
  // Before compile, which drops consumers' credentials from the config it keeps.
  const view = deps.auditView ? configView(validated.config, policiesByName) : undefined;
  const store = deps.stores.prepare(validated.config.store);
  if (!store.ok) {
    const source = parsed.source;
    return { ok: false, issues: store.issues.map((i) => ({ file: source.file, line: source.lineOf(i.path), path: formatPath(i.path), message: i.message })) };
  }
  const compiled = compileConfig(validated.config, parsed.source, {
    policies: policiesByName,
    upstreams: deps.upstreams,
    logger: deps.logger,
    version: deps.version,
    stores: store.stores,
    denyList: deps.denyList ?? new DynamicDenyList(),
  });
  if (!compiled.ok) deps.stores.discard(store.stores);
  return compiled.ok && view !== undefined ? { ...compiled, view } : compiled;
}

function describeReadError(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  // A relative name is read from the working directory, which is not always the one the user thinks of.
  if (code === 'ENOENT') return `config file not found${isAbsolute(file) ? '' : ` (looked for ${resolve(file)})`}`;
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a config file';
  return (err as Error).message;
}
