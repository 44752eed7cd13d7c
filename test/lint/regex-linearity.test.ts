/**
 * Every regular expression in the gateway's source must run in linear time.
 * Patterns users write go through RE2; the built-in ones are JavaScript
 * RegExp literals, and this test proves each of them free of catastrophic
 * (exponential or polynomial) backtracking with recheck's ReDoS checker (its
 * native agent, in a child process: the synchronous API's synckit worker
 * thread sometimes died with an error of its own, not a verdict). It
 * finds the literals with the TypeScript parser, so a new one cannot slip in
 * unchecked, and refuses `new RegExp(...)` built from strings in src/.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { check } from 'recheck';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

interface Found {
  file: string;
  line: number;
  source: string;
  flags: string;
}

function regexLiterals(): { literals: Found[]; dynamic: string[] } {
  const literals: Found[] = [];
  const dynamic: string[] = [];
  for (const file of sources(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (ts.isRegularExpressionLiteral(node)) {
        const raw = node.text;
        const slash = raw.lastIndexOf('/');
        literals.push({ file: relative(root, file), line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1, source: raw.slice(1, slash), flags: raw.slice(slash + 1) });
      }
      if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
        dynamic.push(`${relative(root, file)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return { literals, dynamic };
}

describe('regular expressions in src/', () => {
  const { literals, dynamic } = regexLiterals();

  it('builds no RegExp from strings at run time (user patterns use RE2)', () => {
    assert.deepEqual(dynamic, []);
  });

  it('finds the literals to check', () => {
    assert.ok(literals.length > 10, `only ${literals.length} found: the scan is broken`);
  });

  it('has no literal that can backtrack catastrophically', async () => {
    const unsafe: string[] = [];
    for (const found of literals) {
      // A generous budget: recheck answers "unknown" when it runs out, which a loaded machine did at 10 s.
      const result = await check(found.source, found.flags.replace('g', ''), { timeout: 60_000 });
      if (result.status !== 'safe') unsafe.push(`${found.file}:${found.line} /${found.source}/${found.flags}: ${result.status}${result.status === 'vulnerable' ? ` (${result.complexity.type}, attack ${JSON.stringify(result.attack.pattern)})` : ''}`);
    }
    assert.deepEqual(unsafe, []);
  });
});
