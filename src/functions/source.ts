/**
 * A function's file as the sandbox runs it: read, TypeScript or JavaScript
 * compiled by esbuild to a CommonJS body (QuickJS evaluates it as a script,
 * with no module loader: an `import` of anything is refused at load), wrapped
 * so its body becomes `__portcullis_factory`, which returns its exports. Errors carry the file and
 * line, as config errors do.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { transformSync, type Message } from 'esbuild';

export interface FunctionSource {
  readonly file: string;
  /** The script evaluated in each sandbox after the shim. */
  readonly script: string;
  /** sha256 of the compiled script: a reload keeps a function's warm pool when it is unchanged. */
  readonly digest: string;
}

/** The most a function file may hold: the sandbox evaluates it for every call. */
export const MAX_SOURCE_BYTES = 1024 * 1024;

export class SourceError extends Error {
  constructor(
    message: string,
    readonly line: number | undefined,
  ) {
    super(message);
  }
}

function where(file: string, m: Message): string {
  return m.location ? `${file}:${m.location.line}:${m.location.column + 1}: ${m.text}` : `${file}: ${m.text}`;
}

export function compileSource(file: string, text?: string): FunctionSource {
  let code = text;
  if (code === undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw new SourceError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, undefined);
    }
    if (bytes.length > MAX_SOURCE_BYTES) throw new SourceError(`${file} is larger than ${MAX_SOURCE_BYTES} bytes`, undefined);
    code = bytes.toString('utf8');
  }
  const loader = /\.(m|c)?tsx?$/.test(file) ? 'ts' : 'js';
  let out: string;
  try {
    out = transformSync(code, { loader, format: 'cjs', target: 'es2020', sourcefile: file, logLevel: 'silent' }).code;
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors ?? [];
    const first = errors[0];
    throw new SourceError(first ? where(file, first) : `${file}: ${(err as Error).message}`, first?.location?.line);
  }
  // `require` is defined only to refuse: the compiled module calls it for every import.
  // The module's body becomes a factory the shim runs afresh for every call (sandbox.ts): its top-level state is the call's own.
  // Strict, as an ES module is (the CommonJS output drops it): a write to a frozen global throws rather than being lost silently.
  const script =
    `globalThis.__portcullis_factory=function(){'use strict';var module={exports:{}};var exports=module.exports;` +
    `var require=function(name){throw new Error('functions cannot import modules ('+name+')')};\n${out}\n` +
    `return module.exports;};`;
  return { file, script, digest: createHash('sha256').update(script).digest('hex') };
}
