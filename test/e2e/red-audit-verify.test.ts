/**
 * Red team (issue 12): tampering with an audit file that `portcullis audit
 * verify` must name. The hash covers the record as JSON.parse reads it, so a
 * line can be changed in ways that leave that reading alone: a duplicate key
 * put before the real one (JSON.parse keeps the last; a reader that keeps the
 * first, or a person reading the file, sees the forged value). The gateway
 * writes every line as JSON.stringify of the record: any other bytes are a
 * modification. And a hostile line (deep nesting) is reported, not a crash.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { cli } from '../helpers/cli.js';

const config = (limit: number) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes:
  - { name: api, service: s, public: true, match: { paths: [/] }, policies: [{ rate-limit: { limit: ${limit}, window: 1m } }] }
telemetry:
  audit: { file: trail.jsonl, key: "\${file:audit.key}" }
`;

describe('red: audit verify and lines the gateway did not write', () => {
  let gw: TestGateway;
  let dir: string;
  let trail: string;
  let key: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-red-verify-'));
    key = join(dir, 'audit.key');
    writeFileSync(key, 'v'.repeat(40));
    trail = join(dir, 'trail.jsonl');
    gw = await startGateway(config(5), { dir });
    assert.equal((await gw.reload(config(10))).ok, true);
  });
  after(async () => gw.close());

  function tampered(edit: (lines: string[]) => string[]): string {
    const copy = join(mkdtempSync(join(tmpdir(), 'portcullis-red-verify-copy-')), 'trail.jsonl');
    copyFileSync(`${trail}.head`, `${copy}.head`);
    writeFileSync(copy, `${edit(readFileSync(trail, 'utf8').trim().split('\n')).join('\n')}\n`);
    return copy;
  }

  it('the untouched file is intact', async () => {
    const r = await cli(['audit', 'verify', trail, '--key', key]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('names a record given a duplicate key that JSON.parse discards (a forged actor and diff before the real ones)', async () => {
    const copy = tampered((lines) =>
      lines.map((line, i) => (i === 1 ? line.replace('{', '{"actor":{"kind":"admin","name":"mallory"},"changes":[],') : line)),
    );
    assert.ok(readFileSync(copy, 'utf8').includes('mallory'));
    const r = await cli(['audit', 'verify', copy, '--key', key]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`${copy}:2: seq 2: `));
  });

  it('reports a deeply nested line as a problem at its line, and goes on', async () => {
    const copy = tampered((lines) => [lines[0]!, `{"seq":2,"prev":"x","hash":"y","sig":"z","kid":"k","deep":${'['.repeat(200_000)}${']'.repeat(200_000)}}`, ...lines.slice(1)]);
    const r = await cli(['audit', 'verify', copy, '--key', key]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${copy}:2: `));
  });
});

describe('red: audit verify output and a hostile file', () => {
  it('prints no control character from the file: a forged line cannot repaint the terminal as "intact"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-red-verify-tty-'));
    const key = join(dir, 'audit.key');
    writeFileSync(key, 'w'.repeat(40));
    const gw = await startGateway(config(5), { dir });
    await gw.close();
    const trail = join(dir, 'trail.jsonl');
    const paint = '\u001b[1A\u001b[2K\r\u001b[32mtrail.jsonl: intact\u001b[8m';
    const forged = { seq: 2, prev: 'x', hash: 'y', sig: 'z', kid: `k${paint}`, kind: 'segment', reason: paint, broken_line: paint };
    writeFileSync(trail, `${readFileSync(trail, 'utf8')}${JSON.stringify(forged)}\n`);
    const r = await cli(['audit', 'verify', trail, '--key', key]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NOT intact/);
    assert.doesNotMatch(r.stderr + r.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, JSON.stringify(r.stderr));
  });
});

describe('red: the gateway taking up a hostile audit file', () => {
  it('a deeply nested last line is a broken tail (a new segment, an event), not a gateway that cannot start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-red-tail-'));
    writeFileSync(join(dir, 'audit.key'), 'q'.repeat(40));
    const first = await startGateway(config(5), { dir });
    await first.close();
    const trail = join(dir, 'trail.jsonl');
    const deep = `{"seq":3,"prev":"x","hash":"y","sig":"z","kid":"k","deep":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    writeFileSync(trail, `${readFileSync(trail, 'utf8')}${deep}\n`);
    const second = await startGateway(config(5), { dir });
    try {
      const last = JSON.parse(readFileSync(trail, 'utf8').trim().split('\n').at(-2)!) as { kind: string; broken_line: number };
      assert.equal(last.kind, 'segment');
      assert.equal(last.broken_line, 3);
    } finally {
      await second.close();
    }
  });
});
