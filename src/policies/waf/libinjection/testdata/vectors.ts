/**
 * The reference vectors in this folder: inputs with the verdicts and
 * fingerprints of the real libinjection 3.9.2 (bench/libinjection-oracle/).
 * Each line is [input, sqli, fingerprint, [five context fingerprints], xss].
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Vector {
  input: string;
  sqli: boolean;
  fingerprint: string;
  /** As-is ANSI, as-is MySQL, single quote ANSI, single quote MySQL, double quote MySQL. */
  contexts: string[];
  xss: boolean;
}

const dir = fileURLToPath(new URL('./', import.meta.url));

export function vectorFiles(): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort();
}

export function readVectors(file: string): Vector[] {
  return readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [input, sqli, fingerprint, contexts, xss] = JSON.parse(l) as [string, boolean, string, string[], boolean];
      return { input, sqli, fingerprint, contexts, xss };
    });
}
