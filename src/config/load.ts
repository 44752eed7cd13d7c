/**
 * Reads a config file (YAML, or JSON, which YAML parses too), keeping where
 * every value came from so that errors can name a line, and resolves
 * ${env:NAME} and ${file:PATH} references.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, isNode, parseDocument, type Document } from 'yaml';
import { formatPath, type ConfigIssue, type ConfigPath } from './errors.js';

export interface SourceText {
  /** Shown in errors; usually the path as the user gave it. */
  file: string;
  text: string;
  /** Where ${file:...} references are resolved from. */
  baseDir: string;
}

/** An ${env:NAME} or ${file:PATH} reference, where it sits. */
export interface Reference {
  kind: 'env' | 'file';
  name: string;
  path: ConfigPath;
}

export interface LoadOptions {
  /**
   * For CI (`validate --offline`): references are checked for syntax and
   * listed, not resolved: each keeps its own text as its value, so no secret
   * needs to be set and no referenced file needs to exist.
   */
  offline?: boolean;
}

export interface LoadedSource {
  file: string;
  data: unknown;
  /** Every reference of the file, in order (offline: none of them resolved). */
  references: Reference[];
  /** The 1-based line of the value at path, or of its closest ancestor present in the file. */
  lineOf(path: ConfigPath): number;
}

/**
 * Not ok only when the file is no YAML or JSON. References that cannot be
 * resolved come back as `issues` beside a source (their values left as
 * written), so that the schema can still check the rest in the same run.
 */
export type LoadResult = { ok: true; source: LoadedSource; issues: ConfigIssue[] } | { ok: false; issues: ConfigIssue[] };

/** The largest config document read, from a file or handed in as text. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export function readSource(file: string): SourceText {
  const text = readFileSync(file, 'utf8');
  if (text.length > MAX_CONFIG_BYTES) throw new Error(`${file}: config is larger than 16 MiB`);
  return { file, text, baseDir: dirname(resolve(file)) };
}

export function parseSource(source: SourceText, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): LoadResult {
  const ctx: RefContext = { env, baseDir: source.baseDir, offline: options.offline ?? false, references: [] };
  // A document that opens with "{" is tried as JSON first too: the admin API hands JSON under the file's name.
  if (source.file.endsWith('.json') || source.text.trimStart().startsWith('{')) {
    const fast = parseJson(source, ctx);
    if (fast) return fast;
  }
  return parseYaml(source, ctx);
}

/**
 * JSON parses ~100x faster than YAML (a 10,000-route config: ~10 ms against
 * ~1.5 s); line numbers are worked out from a YAML parse only if an error
 * needs one. Undefined when the text is not valid JSON: the YAML parser then
 * reports where.
 */
function parseJson(source: SourceText, ctx: RefContext): LoadResult | undefined {
  let data: unknown;
  try {
    data = JSON.parse(source.text);
  } catch {
    return undefined;
  }
  let lines: ((path: ConfigPath) => number) | undefined;
  const lineOf = (path: ConfigPath): number => {
    if (!lines) {
      const lineCounter = new LineCounter();
      const doc = parseDocument(source.text, { lineCounter });
      lines = (p) => lineOfPath(doc, lineCounter, p);
    }
    return lines(path);
  };
  const issues: ConfigIssue[] = [];
  const resolved = resolveReferences(data, [], ctx, (path, message) =>
    issues.push({ file: source.file, line: lineOf(path), path: formatPath(path), message }),
  );
  return { ok: true, source: { file: source.file, data: resolved, lineOf, references: ctx.references }, issues };
}

function parseYaml(source: SourceText, ctx: RefContext): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issues: ConfigIssue[] = [];
  for (const error of doc.errors) {
    const line = lineCounter.linePos(error.pos[0]).line;
    issues.push({ file: source.file, line, path: '(syntax)', message: error.message.split('\n')[0] ?? error.message });
  }
  // The parser reports some errors only when it closes a block: in line order they read top to bottom.
  if (issues.length > 0) return { ok: false, issues: issues.sort((a, b) => a.line - b.line) };

  const lineOf = (path: ConfigPath): number => lineOfPath(doc, lineCounter, path);
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  const resolved = resolveReferences(data, [], ctx, (path, message) =>
    issues.push({ file: source.file, line: lineOf(path), path: formatPath(path), message }),
  );
  return { ok: true, source: { file: source.file, data: resolved, lineOf, references: ctx.references }, issues };
}

/** The line of `path` in a document's text, parsed again: for the rare issue found after loading (a listener that cannot bind). */
export function lineIn(source: SourceText, path: ConfigPath): number {
  const lineCounter = new LineCounter();
  return lineOfPath(parseDocument(source.text, { lineCounter }), lineCounter, path);
}

function lineOfPath(doc: Document, lineCounter: LineCounter, path: ConfigPath): number {
  for (let length = path.length; length >= 0; length--) {
    const node: unknown = length === 0 ? doc.contents : doc.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}

interface RefContext {
  env: NodeJS.ProcessEnv;
  baseDir: string;
  offline: boolean;
  references: Reference[];
}

/** A variable name as Kubernetes takes it (a shell's, plus "." and "-"): no spaces, no "=", not starting with a digit. */
const ENV_NAME = /^[A-Za-z_.-][A-Za-z0-9_.-]*$/;

// "$" cannot be part of a name: a scan stops at the next "$", which keeps the search linear
const REFERENCE = /\$\$|\$\{(env|file):([^}$]*)\}/g;

function resolveReferences(
  value: unknown,
  path: Array<string | number>,
  ctx: RefContext,
  report: (path: ConfigPath, message: string) => void,
): unknown {
  if (typeof value === 'string') return value.includes('$') ? resolveString(value, path, ctx, report) : value;
  if (Array.isArray(value)) return value.map((item, i) => resolveReferences(item, [...path, i], ctx, report));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = resolveReferences(item, [...path, key], ctx, report);
    return out;
  }
  return value;
}

function resolveString(
  text: string,
  path: ConfigPath,
  ctx: RefContext,
  report: (path: ConfigPath, message: string) => void,
): string {
  return text.replace(REFERENCE, (whole, kind: string | undefined, name: string | undefined) => {
    if (whole === '$$') return '$';
    const ref = (name ?? '').trim();
    if (kind === 'env' && !ENV_NAME.test(ref)) {
      report(path, `\${env:${ref}} does not name an environment variable (letters, digits, _, . and -, not starting with a digit)`);
      return whole;
    }
    if (kind === 'file' && ref === '') {
      report(path, '${file:} names no file');
      return whole;
    }
    ctx.references.push({ kind: kind === 'env' ? 'env' : 'file', name: ref, path });
    // Offline: the reference stands for itself; its value is known only where the gateway runs.
    if (ctx.offline) return whole;
    if (kind === 'env') {
      const found = ctx.env[ref];
      if (found === undefined) {
        report(path, `environment variable ${ref} is not set (referenced as \${env:${ref}})`);
        return whole;
      }
      return found;
    }
    try {
      return readReferencedFile(resolve(ctx.baseDir, ref)).replace(/\r?\n$/, '');
    } catch (err) {
      report(path, `cannot read ${ref} (referenced as \${file:${ref}}): ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      return whole;
    }
  });
}

/**
 * A referenced file's text, bounded like the config itself: a device or a
 * pipe (/dev/zero, /dev/stdin, a FIFO) would otherwise be read without end,
 * or block the reload that reads it.
 */
export function readReferencedFile(file: string): string {
  // stat before open: opening a FIFO for reading would already block.
  const stat = statSync(file);
  if (!stat.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'not a regular file' });
  if (stat.size > MAX_CONFIG_BYTES) throw Object.assign(new Error('larger than 16 MiB'), { code: 'larger than 16 MiB' });
  return readFileSync(file, 'utf8');
}
