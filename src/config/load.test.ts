import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSource } from './load.js';
import { parseDuration, parseSize } from './units.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-load-'));
const source = (text: string, file = 'gateway.yaml') => ({ file, text, baseDir: dir });

describe('config loading', () => {
  it('resolves ${env:NAME} and ${file:PATH}, alone or inside a string, and $$ as a literal $', () => {
    writeFileSync(join(dir, 'secret.txt'), 's3cret\n');
    const result = parseSource(source('a: ${env:TOKEN}\nb: "Bearer ${env:TOKEN}"\nc: ${file:secret.txt}\nd: "cost: $$5"\n'), { TOKEN: 'abc' });
    assert.ok(result.ok);
    assert.deepEqual(result.source.data, { a: 'abc', b: 'Bearer abc', c: 's3cret', d: 'cost: $5' });
  });

  it('names the line and path of a missing variable or file', () => {
    const result = parseSource(source('x: 1\nconsumers:\n  - key: ${env:NOPE}\n  - key: ${file:missing.txt}\n'), {});
    // The source comes back beside the issues, so that the schema checks the rest in the same run.
    assert.ok(result.ok);
    assert.deepEqual(
      result.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`),
      ['3: consumers[0].key: environment variable NOPE is not set (referenced as ${env:NOPE})', '4: consumers[1].key: cannot read missing.txt (referenced as ${file:missing.txt}): ENOENT'],
    );
  });

  it('refuses to read a ${file:} that is not a regular file, or is larger than 16 MiB', () => {
    const big = join(dir, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, 17 * 1024 * 1024); // sparse: costs no disk
    const result = parseSource(source('a: ${file:/dev/null}\nb: ${file:big.bin}\n'), {});
    assert.ok(result.ok);
    assert.deepEqual(
      result.issues.map((i) => `${i.path}: ${i.message}`),
      ['a: cannot read /dev/null (referenced as ${file:/dev/null}): not a regular file', 'b: cannot read big.bin (referenced as ${file:big.bin}): larger than 16 MiB'],
    );
  });

  it('reads JSON with line numbers too, and reports bad JSON with its line', () => {
    const broken = parseSource(source('{\n  "a": 1,\n  "b": [1, 2\n}\n', 'gateway.json'));
    assert.ok(!broken.ok);
    assert.equal(broken.issues[0]!.path, '(syntax)');
    const result = parseSource(source('{\n  "listeners": [\n    {"name": "a"}\n  ]\n}\n', 'gateway.json'));
    assert.ok(result.ok);
    assert.equal(result.source.lineOf(['listeners', 0, 'name']), 3);
    assert.equal(result.source.lineOf(['listeners', 0, 'missing']), 3, 'falls back to the closest ancestor');
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    const bad = parseSource(source('a: 1\nb: [1, 2\nc: 3\n'));
    assert.ok(!bad.ok);
    assert.equal(bad.issues[0]!.path, '(syntax)');
    const dup = parseSource(source('a: 1\nb: 2\na: 3\n'));
    assert.ok(!dup.ok);
    assert.equal(dup.issues[0]!.line, 3);
    // Prose is no YAML: the parser reports some of its errors only when it closes a block; they are listed top to bottom.
    const several = parseSource(source('`public: true` answers only to a caller.\n- Proxying over pools, retries, timeouts,\n- Request smuggling defenses: framing is refused\n'));
    assert.ok(!several.ok);
    const lines = several.issues.map((i) => i.line);
    assert.ok(lines.length > 1, JSON.stringify(several.issues));
    assert.deepEqual(lines, [...lines].sort((x, y) => x - y));
  });

  it('parses durations and sizes as users write them', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseSize('512KiB'), 524_288);
    assert.equal(parseSize('1MB'), 1_000_000);
    assert.equal(parseSize(42), 42);
    assert.throws(() => parseDuration('1 minute'), /expected a duration like "1m", got "1 minute"/);
  });

  it('offline, names every reference without resolving it, and checks each one\'s syntax', () => {
    const text = 'a: ${env:TOKEN}\nb: "Bearer ${env:UNSET_HERE} and ${file:certs/none.pem}"\nc: ${env:not a name}\nd: ${file:}\n';
    const result = parseSource(source(text), {}, { offline: true });
    assert.ok(result.ok);
    assert.deepEqual(result.source.data, { a: '${env:TOKEN}', b: 'Bearer ${env:UNSET_HERE} and ${file:certs/none.pem}', c: '${env:not a name}', d: '${file:}' });
    assert.deepEqual(
      result.source.references.map((r) => `${r.kind}:${r.name} at ${r.path.join('.')}`),
      ['env:TOKEN at a', 'env:UNSET_HERE at b', 'file:certs/none.pem at b'],
    );
    assert.deepEqual(
      result.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`),
      ['3: c: ${env:not a name} does not name an environment variable (letters, digits, _, . and -, not starting with a digit)', '4: d: ${file:} names no file'],
    );
  });
});
