/**
 * Red team (issue 12): log forging through line separators other than CR and
 * LF. A Host header may carry byte 0x85, which Node reads as U+0085 (NEL); it
 * reached the CEF, JSON and ECS sinks and the stdout access line raw. Readers
 * that split lines the Unicode way (Python's str.splitlines, Java's \R, many
 * log shippers) then read what follows it as a line of its own, starting
 * with the client's text. Every record must stay one line for them too.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { writeConfig } from '../helpers/gateway.js';
import { Gateway } from '../../src/gateway.js';

/** The gateway keeps the Host up to its first colon, lower-cased: what follows the NEL has neither. */
const FORGED = 'portcullis|portcullis|0.1.0|auth.login_complete|login complete|10|suser=admin act=allowed';
/** What Unicode-aware line splitters treat as a line end (Python's str.splitlines). */
const LINE_BREAKS = /[\n\r\u000b\u000c\u001c-\u001e\u0085\u2028\u2029]/;

function rawRequest(port: number, head: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(head));
    s.on('data', () => {});
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

describe('red: log forging with NEL in a header', () => {
  let gw: Gateway | undefined;
  after(async () => gw?.shutdown());

  it('no record of any format holds a Unicode line separator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-red-forge-'));
    // The raw stdout text, before any JSON parsing (which would turn an escape back into the character).
    let stdout = '';
    const logDestination = new Writable({
      write(chunk: Buffer, _enc, done) {
        stdout += chunk.toString('utf8');
        done();
      },
    });
    const configFile = writeConfig(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
telemetry:
  events:
    sinks:
      - { name: cef, kind: file, path: ${dir}/events.cef, format: cef }
      - { name: json, kind: file, path: ${dir}/events.json, format: json }
      - { name: ocsf, kind: file, path: ${dir}/events.ocsf, format: ocsf }
  access_log:
    sinks:
      - { kind: stdout }
      - { name: acef, kind: file, path: ${dir}/access.cef, format: cef }
      - { name: aecs, kind: file, path: ${dir}/access.ecs, format: ecs }
`);
    gw = await Gateway.start({ configFile, logDestination, env: process.env });
    const port = Number(new URL(gw.url()).port);
    const head = Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nHost: h'), Buffer.from([0x85]), Buffer.from(`${FORGED}\r\nConnection: close\r\n\r\n`, 'latin1')]);
    await rawRequest(port, head);
    await gw.shutdown();
    gw = undefined;
    const files: Array<readonly [string, string]> = ['events.cef', 'events.json', 'events.ocsf', 'access.cef', 'access.ecs'].map((f) => [f, readFileSync(join(dir, f), 'utf8')] as const);
    const access = stdout.split('\n').filter((l) => l.includes('"type":"access"'));
    assert.equal(access.length, 1, 'the request has its access line');
    files.push(['stdout', access[0]!]);
    for (const [name, text] of files) {
      assert.ok(text.includes('auth.login_complete'), `${name}: the header is recorded (escaped), not dropped`);
      const records = text.split('\n').filter((l) => l !== '');
      assert.equal(records.length, 1, `${name}: one record`);
      assert.doesNotMatch(records[0]!, LINE_BREAKS, `${name}: ${JSON.stringify(records[0])}`);
    }
  });
});
