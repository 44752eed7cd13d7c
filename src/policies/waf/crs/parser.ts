/**
 * SecLang reader: turns rule file text into directives with their file and
 * line, the way ModSecurity reads it (a backslash at the end of a line joins
 * the next one; "#" starts a comment only at the start of a logical line;
 * arguments are words or double-quoted strings where \" is a quote).
 */

export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  readonly file: string;
  readonly line: number;
}

export class SecLangError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
  }
}

/** The logical lines of a file: continuation lines joined, comments and blanks dropped. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  let current = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (current === '') {
      start = i + 1;
      const trimmed = raw.trimStart();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
    }
    if (raw.endsWith('\\') && !raw.endsWith('\\\\')) {
      current += raw.slice(0, -1);
      continue;
    }
    current += raw;
    out.push({ text: current.trim(), line: start });
    current = '';
  }
  if (current.trim() !== '') out.push({ text: current.trim(), line: start });
  return out;
}

/** Splits a directive line into its words; a quoted argument keeps its backslashes except before a quote. */
export function splitArgs(text: string, file: string, line: number): string[] {
  const args: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i >= n) break;
    if (text[i] === '"' || text[i] === "'") {
      const quote = text[i]!;
      i++;
      let value = '';
      let closed = false;
      while (i < n) {
        const c = text[i]!;
        if (c === '\\' && text[i + 1] === quote) {
          value += quote;
          i += 2;
          continue;
        }
        if (c === quote) {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) throw new SecLangError(file, line, 'unterminated quoted argument');
      args.push(value);
    } else {
      let value = '';
      while (i < n && text[i] !== ' ' && text[i] !== '\t') value += text[i++];
      args.push(value);
    }
  }
  return args;
}

export function parseSecLang(text: string, file: string): Directive[] {
  const out: Directive[] = [];
  for (const { text: lineText, line } of logicalLines(text)) {
    const args = splitArgs(lineText, file, line);
    const name = args.shift()!;
    out.push({ name, args, file, line });
  }
  return out;
}

export interface ParsedAction {
  readonly name: string;
  readonly value: string | undefined;
}

/** The actions list: "id:1,phase:2,msg:'a, b',t:none". Single quotes protect commas; \' is a quote. */
export function parseActions(text: string, file: string, line: number): ParsedAction[] {
  const out: ParsedAction[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === ',')) i++;
    if (i >= n) break;
    let name = '';
    while (i < n && text[i] !== ':' && text[i] !== ',') name += text[i++];
    name = name.trim();
    let value: string | undefined;
    if (text[i] === ':') {
      i++;
      while (i < n && text[i] === ' ') i++;
      if (text[i] === "'") {
        i++;
        value = '';
        let closed = false;
        while (i < n) {
          if (text[i] === '\\' && text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          if (text[i] === "'") {
            closed = true;
            i++;
            break;
          }
          value += text[i++];
        }
        if (!closed) throw new SecLangError(file, line, `unterminated quote in action ${name}`);
      } else {
        value = '';
        while (i < n && text[i] !== ',') value += text[i++];
        value = value.trim();
      }
    }
    if (name === '') throw new SecLangError(file, line, 'empty action');
    out.push({ name, value });
  }
  return out;
}

export interface ParsedVariable {
  readonly name: string;
  readonly key: string | undefined;
  /** The key is /regex/. */
  readonly keyIsRegex: boolean;
  /** "!" before it: an exclusion from the rule's targets. */
  readonly exclude: boolean;
  /** "&" before it: the number of values, not the values. */
  readonly count: boolean;
}

/** The targets: "ARGS|!ARGS:foo|&TX:x|REQUEST_HEADERS:/^x-/|XML:/*". */
export function parseVariables(text: string, file: string, line: number): ParsedVariable[] {
  const out: ParsedVariable[] = [];
  const parts: string[] = [];
  let current = '';
  let inRegex = false;
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" && !inRegex) inQuote = !inQuote;
    if (c === '/' && !inQuote && (current.endsWith(':') || inRegex) && !current.startsWith('XML')) {
      if (inRegex && text[i - 1] !== '\\') inRegex = false;
      else if (!inRegex) inRegex = true;
    }
    if (c === '|' && !inRegex && !inQuote) {
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current);
  for (let part of parts) {
    part = part.trim();
    if (part === '') throw new SecLangError(file, line, 'empty variable');
    let exclude = false;
    let count = false;
    if (part.startsWith('!')) {
      exclude = true;
      part = part.slice(1);
    }
    if (part.startsWith('&')) {
      count = true;
      part = part.slice(1);
    }
    const colon = part.indexOf(':');
    const name = (colon === -1 ? part : part.slice(0, colon)).toUpperCase();
    let key = colon === -1 ? undefined : part.slice(colon + 1);
    let keyIsRegex = false;
    if (key !== undefined) {
      if (key.startsWith("'") && key.endsWith("'") && key.length >= 2) key = key.slice(1, -1);
      if (name !== 'XML' && key.length >= 2 && key.startsWith('/') && key.endsWith('/')) {
        keyIsRegex = true;
        key = key.slice(1, -1);
      }
    }
    out.push({ name, key, keyIsRegex, exclude, count });
  }
  return out;
}

export interface ParsedOperator {
  readonly name: string;
  readonly argument: string;
  readonly negated: boolean;
}

export function parseOperator(text: string): ParsedOperator {
  let s = text;
  let negated = false;
  if (s.startsWith('!')) {
    negated = true;
    s = s.slice(1);
  }
  if (!s.startsWith('@')) return { name: 'rx', argument: s, negated };
  const space = s.search(/\s/);
  const name = space === -1 ? s.slice(1) : s.slice(1, space);
  const argument = space === -1 ? '' : s.slice(space + 1).replace(/^\s+/, '');
  return { name, argument, negated };
}
