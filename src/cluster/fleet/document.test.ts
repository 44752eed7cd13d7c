/**
 * What a control plane pushes and what a data plane runs of it: the
 * node-local sections (listeners, admin, fleet, telemetry.node_id) never
 * travel and always come from the node's own file; the fleet settings are
 * checked per role, with file:line like every config error.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cli } from '../../../test/helpers/cli.js';
import { composeForNode, forDataPlanes, hashText } from './document.js';

const CONTROL_PLANE = `
# the control plane's file
listeners: [{ name: main, address: "0.0.0.0:443" }]
admin: { address: "127.0.0.1:9901", metrics_token: "\${env:METRICS_TOKEN}" }
gateway: { watch: true }
telemetry: { node_id: cp-1 }
routes: []
consumers: [{ name: alice, credentials: { key-auth: [{ key: "\${env:ALICE_KEY}" }] } }]
fleet: { role: control_plane, address: "0.0.0.0:7443", state_dir: /var/lib/p, ca: { cert: /ca.crt, key: /ca.key } }
`;

const LOCAL = `
listeners: [{ name: edge, address: "0.0.0.0:8080" }]
telemetry: { node_id: edge-1 }
fleet: { role: data_plane, control_plane: "https://cp:7443", ca: { cert: /ca.crt }, state_dir: /var/lib/p }
`;

describe('fleet documents', () => {
  it('pushes the control plane\'s config without its listeners, admin and fleet sections, references as written', () => {
    const pushed = forDataPlanes(CONTROL_PLANE);
    const data = parse(pushed.text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(data).sort(), ['consumers', 'gateway', 'routes', 'telemetry']);
    assert.match(pushed.text, /\$\{env:ALICE_KEY\}/);
    assert.doesNotMatch(pushed.text, /METRICS_TOKEN|ca\.key|control_plane/);
    assert.equal(pushed.hash, hashText(pushed.text));
    assert.equal(forDataPlanes(CONTROL_PLANE).hash, pushed.hash, 'the same text, the same version');
  });

  it('runs the pushed config with the node\'s own listeners, admin, fleet and node_id, and no file watch', () => {
    const composed = parse(composeForNode(forDataPlanes(CONTROL_PLANE).text, LOCAL)) as Record<string, Record<string, unknown>>;
    assert.deepEqual(composed.listeners, [{ name: 'edge', address: '0.0.0.0:8080' }]);
    assert.equal(composed.admin, undefined, 'the node has no admin section: none');
    assert.equal(composed.fleet!.role, 'data_plane');
    assert.equal(composed.telemetry!.node_id, 'edge-1');
    assert.equal(composed.gateway!.watch, false);
    assert.ok(Array.isArray(composed.consumers));
  });

  it('keeps the node\'s own gateway.workers (its cores), and the pushed one when the node sets none', () => {
    const pushed = forDataPlanes(CONTROL_PLANE.replace('gateway: { watch: true }', 'gateway: { watch: true, workers: 8 }')).text;
    const own = parse(composeForNode(pushed, `${LOCAL}gateway: { workers: 2 }\n`)) as Record<string, Record<string, unknown>>;
    assert.equal(own.gateway!.workers, 2);
    assert.equal(own.gateway!.watch, false);
    const theirs = parse(composeForNode(pushed, LOCAL)) as Record<string, Record<string, unknown>>;
    assert.equal(theirs.gateway!.workers, 8);
  });

  it('refuses a pushed text that is no mapping', () => {
    assert.throws(() => composeForNode('- a list', LOCAL), /pushed config: not a mapping/);
  });

  it('checks the fleet settings each role needs, with file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-fleet-config-'));
    const file = join(dir, 'dp.yaml');
    writeFileSync(file, `listeners: [{ name: main, address: "127.0.0.1:0" }]\nfleet:\n  role: data_plane\n  ca: { cert: ca.crt, key: ca.key }\n`);
    const dp = await cli(['validate', file]);
    assert.equal(dp.code, 1);
    assert.match(dp.stderr, /dp\.yaml:\d+: fleet\.control_plane: data_plane needs "control_plane"/);
    assert.match(dp.stderr, /dp\.yaml:4: fleet\.ca\.key: a data plane must not hold the CA key/);
    writeFileSync(file, `listeners: [{ name: main, address: "127.0.0.1:0" }]\nfleet:\n  role: control_plane\n  poll_timeout: 2m\n`);
    const cp = await cli(['validate', file]);
    assert.equal(cp.code, 1);
    assert.match(cp.stderr, /fleet\.address: control_plane needs "address"/);
    assert.match(cp.stderr, /dp\.yaml:4: fleet\.poll_timeout: at most 60s/);
    writeFileSync(file, `listeners: [{ name: main, address: "127.0.0.1:0" }]\nfleet: { control_plane: "https://cp:7443" }\n`);
    assert.match((await cli(['validate', file])).stderr, /fleet\.role: fleet settings are given but role is standalone/);
  });

  it('portcullis fleet token refuses a file that is no control plane\'s, and an endless token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-fleet-token-'));
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, `listeners: [{ name: main, address: "127.0.0.1:0" }]\n`);
    const plain = await cli(['fleet', 'token', '-c', file]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /no control plane's config/);
    assert.equal(plain.stdout, '');
    const endless = await cli(['fleet', 'token', '-c', file, '--ttl', '30d']);
    assert.equal(endless.code, 2);
    assert.match(endless.stderr, /at most 7d/);
  });
});
