/**
 * Config problems carry where they are (file, line, path) and what to do about
 * them, and are reported all at once: a user fixes a config in one pass.
 */

/** A path into the config, as keys and indices: ['routes', 2, 'policies', 0, 'rate-limit', 'window']. */
export type ConfigPath = ReadonlyArray<string | number>;

export interface ConfigIssue {
  file: string;
  line: number; // 1-based; 0 when unknown
  path: string; // routes[2].policies[0].rate-limit.window
  message: string;
}

export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out || '(root)';
}

export function formatIssue(issue: ConfigIssue): string {
  // The file itself could not be read: there is no line or path to point at.
  if (issue.path === '(file)') return `${issue.file}: ${issue.message}`;
  return `${issue.file}:${issue.line}: ${issue.path}: ${issue.message}`;
}

/**
 * Thrown by compile steps (a policy's cross-field check, a route naming an
 * unknown service). `path` is relative to whatever is being compiled; the
 * caller prefixes it with where that thing sits in the config.
 */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly path: ConfigPath = [],
    /** The path is from the config's root (a consumer's credential), not relative to the policy. */
    readonly absolute = false,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Several ConfigErrors from one compile step, thrown together so that every one is reported. */
export class ConfigErrors extends Error {
  constructor(readonly errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'ConfigErrors';
  }

  /** Throws what was collected: nothing, the one error, or all of them. */
  static throwIfAny(errors: readonly ConfigError[]): void {
    if (errors.length === 1) throw errors[0]!;
    if (errors.length > 1) throw new ConfigErrors(errors);
  }
}

/** A config that cannot be used, with every issue found. */
export class InvalidConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'InvalidConfigError';
  }
}

/** The closest candidate to a misspelled key, if one is close enough to be what was meant. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  const allowed = Math.max(1, Math.floor(word.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diagonal = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(above + 1, prev[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return prev[b.length]!;
}
