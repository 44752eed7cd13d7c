/**
 * Sink config as `portcullis validate` reports it: each kind's required keys,
 * keys given to the wrong kind, duplicate names, with file:line; a secret
 * (an HEC token) is never repeated in an error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cli } from '../../../test/helpers/cli.js';
import { writeConfig } from '../../../test/helpers/gateway.js';

const base = 'listeners: [{ name: main, address: "127.0.0.1:0" }]\n';

describe('telemetry sinks config', () => {
  it('refuses what each kind misses or does not take, with file:line', async () => {
    const file = writeConfig(`${base}telemetry:
  events:
    sinks:
      - kind: syslog
        url: http://collector:8080
      - kind: file
        name: one
      - kind: http
        url: http://collector:8080/services/collector/event
        preset: splunk-hec
        name: one
  access_log:
    sinks:
      - kind: stdout
        spool: { dir: /tmp/x }
`);
    const result = await cli(['validate', file]);
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trim().split('\n'), [
      `${file}:5: telemetry.events.sinks[0].address: a syslog sink needs address (host:port)`,
      `${file}:6: telemetry.events.sinks[0].url: url is for http sinks, not syslog`,
      `${file}:7: telemetry.events.sinks[1].path: a file sink needs path`,
      `${file}:9: telemetry.events.sinks[2].token: a splunk-hec sink needs token (the HEC token)`,
      `${file}:12: telemetry.events.sinks[2].name: "one" is already the name of telemetry.events.sinks[1]`,
      `${file}:16: telemetry.access_log.sinks[0].spool: spool is for file, syslog and http sinks, not stdout`,
    ]);
  });

  it('never repeats a secret in an error, and accepts a complete config', async () => {
    const bad = writeConfig(`${base}telemetry:
  events:
    sinks:
      - { kind: http, url: "http://c:8088/services/collector/event", preset: splunk-hec, token: 12345678, headers: { X-Key: 87654321 } }
`);
    const refused = await cli(['validate', bad]);
    assert.equal(refused.code, 1);
    assert.doesNotMatch(refused.stderr, /12345678|87654321/);
    assert.match(refused.stderr, /token: expected string, got a number \(the value is secret and not shown\)/);
    const good = writeConfig(`${base}telemetry:
  events:
    sinks:
      - { kind: syslog, address: "siem:6514", format: cef, spool: { dir: spool, max_size: 1GiB } }
      - { kind: file, path: events.log, rotate: { max_size: 100MiB, interval: 1d, keep: 7 } }
  access_log:
    sinks:
      - { kind: stdout }
      - { kind: http, url: "https://es:9200/_bulk", preset: elasticsearch-bulk, format: ecs, token: "k" }
`);
    const accepted = await cli(['validate', good]);
    assert.equal(accepted.code, 0, accepted.stderr);
  });
});
