/**
 * The audit trail of config changes on a real gateway: start and reloads
 * (accepted and refused) become hash-chained, signed records with a diff
 * whose secrets are masked; the event bus gets a copy; `portcullis audit
 * verify` (run in-process through main) passes an intact file and names each
 * kind of tampering; a restart continues the chain, and a broken tail is
 * never continued silently.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { cli, runCli, startCli } from '../helpers/cli.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

const ALICE_OLD = 'alice-old-key-0123456789abcdef';
const ALICE_NEW = 'alice-new-key-fedcba9876543210';
const BOB = 'bob-key-that-never-changes-0000';

const config = (upstream: string, o: { aliceKey?: string; limit?: number; audit?: string } = {}) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream}" }] }]
routes:
  - name: api
    service: s
    match: { paths: [/] }
    policies:
      - key-auth: {}
      - rate-limit: { limit: ${o.limit ?? 5}, window: 1m }
consumers:
  - { name: alice, credentials: { key-auth: [{ id: alice-key, key: "${o.aliceKey ?? ALICE_OLD}" }] } }
  - { name: bob, credentials: { key-auth: [{ key: "${BOB}" }] } }
telemetry:
  audit: ${o.audit ?? '{ file: audit/trail.jsonl, key: "${file:audit.key}", checkpoint_every: 3 }'}
`;

interface Line {
  seq: number;
  kind: string;
  action?: string;
  prev: string;
  hash: string;
  actor?: { kind: string; file?: string; signal?: string };
  origin?: { host: string; pid: number };
  version?: { before: number | null; after: number | null };
  digest?: { before: string | null; after: string | null };
  changes?: Array<{ op: string; path: string; before?: unknown; after?: unknown }>;
  issues?: string[];
  count?: number;
  reason?: string;
}

function lines(file: string): Line[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
}

/** A copy of the trail and its head in a fresh directory, for one tampering. */
function copyTrail(trail: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-audit-copy-'));
  const copy = join(dir, 'trail.jsonl');
  copyFileSync(trail, copy);
  copyFileSync(`${trail}.head`, `${copy}.head`);
  return copy;
}

function rewriteLines(file: string, edit: (lines: string[]) => string[]): void {
  const text = readFileSync(file, 'utf8').trim().split('\n');
  writeFileSync(file, `${edit(text).join('\n')}\n`);
}

describe('audit trail', () => {
  let upstream: TestUpstream;
  let dir: string;
  let trail: string;
  let publicKey: string;
  let gw: TestGateway;
  const events: TelemetryEvent[] = [];

  before(async () => {
    upstream = await startUpstream(echo);
    dir = mkdtempSync(join(tmpdir(), 'portcullis-audit-'));
    const keygen = await cli(['audit', 'keygen', join(dir, 'audit.key')]);
    assert.equal(keygen.code, 0, keygen.stderr);
    assert.match(keygen.stdout, /key id [0-9a-f]{16}/);
    publicKey = join(dir, 'audit.key.pub');
    trail = join(dir, 'audit', 'trail.jsonl');
    gw = await startGateway(config(upstream.url), { dir });
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('records the start: who, from where, the version and the config digest', () => {
    const [load] = lines(trail);
    assert.equal(load!.seq, 1);
    assert.equal(load!.kind, 'change');
    assert.equal(load!.action, 'config.load');
    assert.deepEqual(load!.version, { before: null, after: 1 });
    assert.equal(load!.actor!.kind, 'start');
    assert.equal(load!.origin!.pid, process.pid);
    assert.match(load!.digest!.after!, /^sha256:[0-9a-f]{64}$/);
    assert.equal(load!.prev, '0'.repeat(64));
  });

  it('records a reload with a diff: a changed key shows as changed and masked, a rate-limit change shows old and new', async () => {
    const result = await gw.reload(config(upstream.url, { aliceKey: ALICE_NEW, limit: 10 }));
    assert.deepEqual(result, { ok: true, version: 2 });
    const reload = lines(trail).at(-1)!;
    assert.equal(reload.action, 'config.reload');
    assert.deepEqual(reload.version, { before: 1, after: 2 });
    assert.deepEqual(reload.changes, [
      { op: 'changed', path: 'routes[name=api].policies[1].rate-limit.limit', before: 5, after: 10 },
      { op: 'changed', path: 'consumers[name=alice].credentials.key-auth[0].key', before: '[secret]', after: '[secret]' },
    ]);
    assert.notEqual(reload.digest!.before, reload.digest!.after);
    const text = readFileSync(trail, 'utf8');
    for (const secret of [ALICE_OLD, ALICE_NEW, BOB]) assert.ok(!text.includes(secret), `${secret} in the audit file`);
  });

  it('puts the record on the event bus (category audit, action changed), secrets masked there too', () => {
    const event = events.find((e) => e.type === 'audit.config_reload');
    assert.ok(event, events.map((e) => e.type).join(', '));
    assert.equal(event.category, 'audit');
    assert.equal(event.action, 'changed');
    assert.equal(event.details?.version_before, 1);
    assert.equal(event.details?.version_after, 2);
    assert.equal(event.details?.seq, 2);
    // The event carries the signed line itself: a SIEM's copy can be verified like the file.
    assert.equal(event.details?.record, readFileSync(trail, 'utf8').split('\n')[1]);
    const text = JSON.stringify(events);
    for (const secret of [ALICE_OLD, ALICE_NEW, BOB]) assert.ok(!text.includes(secret), `${secret} in an event`);
  });

  it('records a refused reload with its issues; then a checkpoint after every third record', async () => {
    const result = await gw.reload(config(upstream.url, { limit: 0 }));
    assert.equal(result.ok, false);
    const all = lines(trail);
    const refused = all[2]!;
    assert.equal(refused.action, 'config.refused');
    assert.deepEqual(refused.version, { before: 2, after: null });
    assert.ok(refused.issues!.some((i) => i.includes('rate-limit.limit')), refused.issues!.join('\n'));
    const checkpoint = all[3]!;
    assert.equal(checkpoint.kind, 'checkpoint');
    assert.equal(checkpoint.count, 4);
    assert.equal(checkpoint.prev, refused.hash);
    assert.ok(events.some((e) => e.type === 'audit.config_refused' && e.severity === 'medium'));
  });

  it('verify passes an intact trail with a summary (exit 0)', async () => {
    // Two more reloads: 6 records, so tampering has room on both sides of the checkpoint.
    assert.equal((await gw.reload(config(upstream.url, { limit: 20 }))).ok, true);
    assert.equal((await gw.reload(config(upstream.url, { limit: 30 }))).ok, true);
    assert.equal(lines(trail).length, 6);
    const result = await cli(['audit', 'verify', trail, '--key', publicKey]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /intact: 6 records \(5 config changes, 1 checkpoint\), seq 1-6, .* to .*; last checkpoint at seq 4; signed head at seq 6; keys [0-9a-f]{16}\n$/);
  });

  const verify = (file: string, key = publicKey) => cli(['audit', 'verify', file, '--key', key]);

  it('names a modified record (line and seq)', async () => {
    const copy = copyTrail(trail);
    rewriteLines(copy, (l) => l.map((line, i) => (i === 1 ? line.replace('"after":10', '"after":1000') : line)));
    const result = await verify(copy);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`${copy}:2: seq 2: modified: its content does not match its hash`));
    assert.match(result.stderr, /NOT intact: 1 problem/);
  });

  it('names a deleted record', async () => {
    const copy = copyTrail(trail);
    rewriteLines(copy, (l) => l.filter((_, i) => i !== 2));
    const result = await verify(copy);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /:3: seq 4: seq 3 missing before it: deleted/);
  });

  it('names an inserted record, even one hashed and linked correctly (it cannot be signed)', async () => {
    const copy = copyTrail(trail);
    const { canonicalJson, sha256Hex } = await import('../../src/telemetry/audit/record.js');
    rewriteLines(copy, (l) => {
      const previous = JSON.parse(l[1]!) as Line & { sig: string };
      const { hash: _h, sig: _s, ...body } = { ...previous, seq: 3, prev: previous.hash, changes: [], action: 'config.reload' };
      const forged = { ...body, hash: sha256Hex(canonicalJson(body)), sig: previous.sig };
      return [...l.slice(0, 2), JSON.stringify(forged), ...l.slice(2)];
    });
    const result = await verify(copy);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /:3: seq 3: the signature does not verify: a forged or re-hashed record/);
    assert.match(result.stderr, /:4: seq 3: out of order: seq 3 after seq 3 \(seq 3 is also at line 3\)/);
  });

  it('names two swapped records', async () => {
    const copy = copyTrail(trail);
    rewriteLines(copy, (l) => [l[0]!, l[2]!, l[1]!, ...l.slice(3)]);
    const result = await verify(copy);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /:2: seq 3: out of order: seq 3 where seq 2 was due \(seq 2 is at line 3\): records reordered/);
    assert.match(result.stderr, /:3: seq 2: out of order/);
  });

  it('detects a tail cut after a checkpoint, against the signed head', async () => {
    const copy = copyTrail(trail);
    rewriteLines(copy, (l) => l.slice(0, 4)); // ends at the checkpoint, seq 4
    const result = await verify(copy);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /truncated: the file ends at seq 4 but the signed head .* names seq 6: 2 record\(s\) cut from the end; the last checkpoint in the file is seq 4/);
  });

  it('refuses to call a trail intact without its signed head, unless told to check the chain alone', async () => {
    const copy = copyTrail(trail);
    rewriteLines(copy, (l) => l.slice(0, 4));
    writeFileSync(`${copy}.head`, '');
    const garbled = await verify(copy);
    assert.equal(garbled.code, 2);
    assert.match(garbled.stderr, /not a signed head/);
    const alone = await cli(['audit', 'verify', copy, '--key', publicKey, '--no-head']);
    assert.equal(alone.code, 0, alone.stderr);
    assert.match(alone.stdout, /tail not checked \(--no-head\)/);
  });

  it('fails with the wrong key, naming the key it was not given', async () => {
    const other = join(mkdtempSync(join(tmpdir(), 'portcullis-audit-other-')), 'other.key');
    assert.equal((await cli(['audit', 'keygen', other])).code, 0);
    const result = await verify(trail, `${other}.pub`);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /records signed with key [0-9a-f]{16}, which was not given \(--key\)/);
    const noKey = await cli(['audit', 'verify', trail]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /needs --key KEYFILE/);
  });

  it('a restart continues the chain: a shutdown checkpoint, then the load links to it and says whether the config changed', async () => {
    const before = lines(trail);
    await gw.close();
    const afterStop = lines(trail);
    const shutdown = afterStop.at(-1)!;
    assert.equal(shutdown.kind, 'checkpoint');
    assert.equal(shutdown.reason, 'shutdown');
    assert.equal(shutdown.seq, before.length + 1);
    gw = await startGateway(config(upstream.url, { aliceKey: ALICE_NEW, limit: 30 }), { dir });
    const load = lines(trail).at(-1)!;
    assert.equal(load.action, 'config.load');
    assert.equal(load.seq, shutdown.seq + 1);
    assert.equal(load.prev, shutdown.hash);
    assert.equal(load.digest!.before, load.digest!.after, 'the same config as before the restart');
    const result = await verify(trail);
    assert.equal(result.code, 0, result.stderr);
  });

  it('does not continue a broken chain silently: logs, emits, and starts a segment that names the break', async () => {
    await gw.close();
    const copyDir = mkdtempSync(join(tmpdir(), 'portcullis-audit-broken-'));
    copyFileSync(join(dir, 'audit.key'), join(copyDir, 'audit.key'));
    const copy = join(copyDir, 'trail.jsonl');
    copyFileSync(trail, copy);
    copyFileSync(`${trail}.head`, `${copy}.head`);
    rewriteLines(copy, (l) => l.slice(0, -2)); // the tail cut
    gw = await startGateway(config(upstream.url, { audit: '{ file: trail.jsonl, key: "${file:audit.key}" }' }), { dir: copyDir });
    const logged = await gw.waitForLog((l) => l.msg.startsWith('the audit trail is broken'));
    assert.equal(logged.level, 'error');
    const all = lines(copy);
    const segment = all.at(-2)!;
    assert.equal(segment.kind, 'segment');
    assert.match(segment.reason!, /the tail was cut/);
    assert.equal(all.at(-1)!.action, 'config.load');
    const result = await verify(copy);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the gateway found the trail broken at line \d+ and started a new segment here: the file ends at seq \d+ but its signed head names seq \d+/);
  });

  it('works with an HMAC key too (the verifier then holds the same key)', async () => {
    await gw.close();
    const hmacDir = mkdtempSync(join(tmpdir(), 'portcullis-audit-hmac-'));
    writeFileSync(join(hmacDir, 'hmac.key'), 'a'.repeat(64) + '\n');
    gw = await startGateway(config(upstream.url, { audit: '{ file: trail.jsonl, key: "${file:hmac.key}" }' }), { dir: hmacDir });
    assert.equal((await gw.reload(config(upstream.url, { limit: 7, audit: '{ file: trail.jsonl, key: "${file:hmac.key}" }' }))).ok, true);
    const ok = await verify(join(hmacDir, 'trail.jsonl'), join(hmacDir, 'hmac.key'));
    assert.equal(ok.code, 0, ok.stderr);
    writeFileSync(join(hmacDir, 'wrong.key'), 'b'.repeat(64));
    const wrong = await verify(join(hmacDir, 'trail.jsonl'), join(hmacDir, 'wrong.key'));
    assert.equal(wrong.code, 1);
  });

  it('refuses a short HMAC key or a public key as the signing key, at its line, without showing it', async () => {
    const badDir = mkdtempSync(join(tmpdir(), 'portcullis-audit-bad-'));
    writeFileSync(join(badDir, 'short.key'), 'too-short');
    copyFileSync(publicKey, join(badDir, 'audit.pub'));
    for (const [file, message] of [
      ['short.key', /telemetry\.audit\.key: an HMAC key must be at least 32 bytes \(got 9\)/],
      ['audit.pub', /telemetry\.audit\.key: expected an Ed25519 private key in PEM, got a PEM "PUBLIC KEY" block/],
    ] as const) {
      const yaml = config(upstream.url, { audit: `{ file: trail.jsonl, key: "\${file:${file}}" }` });
      writeFileSync(join(badDir, 'gateway.yaml'), yaml);
      const result = await cli(['validate', join(badDir, 'gateway.yaml')]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /gateway\.yaml:\d+: /);
      assert.match(result.stderr, message);
      assert.ok(!result.stderr.includes('too-short'));
    }
  });

  it('records a reload asked with `portcullis reload` as a signal (its sender cannot be known)', async () => {
    const procDir = mkdtempSync(join(tmpdir(), 'portcullis-audit-cli-'));
    writeFileSync(join(procDir, 'hmac.key'), 'c'.repeat(40));
    const yaml = config(upstream.url, { audit: '{ file: trail.jsonl, key: "${file:hmac.key}" }' });
    const file = join(procDir, 'gateway.yaml');
    writeFileSync(file, yaml);
    const child = startCli(['start', '-c', file]);
    try {
      await child.waitFor('listening on', 60_000);
      writeFileSync(file, config(upstream.url, { limit: 9, audit: '{ file: trail.jsonl, key: "${file:hmac.key}" }' }));
      const reload = await runCli(['reload', '-c', file], { timeoutMs: 60_000 });
      assert.equal(reload.code, 0, reload.stderr);
      const last = lines(join(procDir, 'trail.jsonl')).at(-1)!;
      assert.equal(last.action, 'config.reload');
      assert.deepEqual(last.actor, { kind: 'signal', signal: 'SIGHUP' });
    } finally {
      child.child.kill('SIGTERM');
      await child.exited;
    }
    const last = lines(join(procDir, 'trail.jsonl')).at(-1)!;
    assert.equal(last.reason, 'shutdown');
  });
});

describe('audit trail: when it cannot be written, and who a file change is', () => {
  let upstream: TestUpstream;
  before(async () => {
    upstream = await startUpstream(echo);
  });
  after(() => upstream.close());

  const withKey = () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-audit-io-'));
    writeFileSync(join(dir, 'hmac.key'), 'k'.repeat(48));
    return dir;
  };
  const audit = '{ file: trail.jsonl, key: "${file:hmac.key}" }';

  it('a record that cannot be written does not stop the change: logged, emitted, and the gap shows in verify', async () => {
    const dir = withKey();
    const gw = await startGateway(config(upstream.url, { audit }), { dir });
    const events: TelemetryEvent[] = [];
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
    const trail = join(dir, 'trail.jsonl');
    try {
      // The file replaced by a directory: appending fails (EISDIR) whoever the tests run as.
      renameSync(trail, `${trail}.aside`);
      mkdirSync(trail);
      const result = await gw.reload(config(upstream.url, { limit: 11, audit }));
      assert.deepEqual(result, { ok: true, version: 2 }, 'the change applies');
      const logged = await gw.waitForLog((l) => l.msg === 'an audit record could not be written; the change still applies');
      assert.equal(logged.level, 'error');
      const failed = events.find((e) => e.type === 'audit.write_failed');
      assert.ok(failed, events.map((e) => e.type).join(', '));
      assert.equal(failed.severity, 'high');
      assert.match(String(failed.details?.record), /"action":"config.reload"/, 'the sinks still get the record');
      rmdirSync(trail);
      renameSync(`${trail}.aside`, trail);
      assert.equal((await gw.reload(config(upstream.url, { limit: 12, audit }))).ok, true);
      const last = lines(trail).at(-1)! as Line & { missed?: number };
      assert.equal(last.seq, 3);
      assert.equal(last.missed, 1);
    } finally {
      await gw.close();
    }
    const result = await cli(['audit', 'verify', trail, '--key', join(dir, 'hmac.key')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /:2: seq 3: 1 record\(s\) \(seq 2\) the gateway could not write, as this record says/);
  });

  it('a start whose audit file cannot be opened fails, saying so', async () => {
    const dir = withKey();
    writeFileSync(join(dir, 'not-a-dir'), '');
    await assert.rejects(
      startGateway(config(upstream.url, { audit: '{ file: not-a-dir/trail.jsonl, key: "${file:hmac.key}" }' }), { dir }),
      /telemetry\.audit\.file: cannot open .*not-a-dir\/trail\.jsonl: (ENOTDIR|EEXIST)/,
    );
  });

  it('a key rotated at restart: the chain goes on under the new key, and verify needs both', async () => {
    const dir = withKey();
    const first = await startGateway(config(upstream.url, { audit }), { dir });
    await first.close();
    assert.equal((await cli(['audit', 'keygen', join(dir, 'new.key')])).code, 0);
    const rotated = '{ file: trail.jsonl, key: "${file:new.key}" }';
    const second = await startGateway(config(upstream.url, { audit: rotated }), { dir });
    try {
      const warned = await second.waitForLog((l) => l.msg === 'the audit trail continues under a new key: verify it with both keys');
      assert.equal(warned.level, 'warn');
    } finally {
      await second.close();
    }
    const trail = join(dir, 'trail.jsonl');
    const both = await cli(['audit', 'verify', trail, '--key', join(dir, 'hmac.key'), '--key', join(dir, 'new.key.pub')]);
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stdout, /intact: 4 records/);
    const one = await cli(['audit', 'verify', trail, '--key', join(dir, 'new.key.pub')]);
    assert.equal(one.code, 1);
    assert.match(one.stderr, /records signed with key [0-9a-f]{16}, which was not given/);
  });

  it('a reload because the file changed names the file and its owner', async () => {
    const dir = withKey();
    const gw = await startGateway(config(upstream.url, { audit }).replace('listeners:', 'gateway: { watch: true }\nlisteners:'), { dir });
    try {
      writeFileSync(gw.configFile, config(upstream.url, { limit: 13, audit }).replace('listeners:', 'gateway: { watch: true }\nlisteners:'));
      await gw.waitForLog((l) => l.msg === 'config reloaded', 10_000);
      const last = lines(join(dir, 'trail.jsonl')).at(-1)! as Line & { actor: { file_uid?: number } };
      assert.equal(last.action, 'config.reload');
      assert.equal(last.actor.kind, 'file');
      assert.equal(last.actor.file, gw.configFile);
      assert.equal(last.actor.file_uid, statSync(gw.configFile).uid);
    } finally {
      await gw.close();
    }
  });
});
