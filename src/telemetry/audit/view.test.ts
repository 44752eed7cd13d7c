/**
 * The audit view masks by schema: every field any schema marks x-secret (the
 * top-level config's, each policy's settings and each method's consumer
 * credentials) is masked wherever it sits, found by walking the schemas
 * themselves, so a secret field added tomorrow is covered by this test the
 * day its schema marks it. Names decide nothing: a metadata label called
 * "password" is shown.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema, type Config } from '../../config/schema.js';
import { policiesByName } from '../../policies/index.js';
import { diffViews } from './diff.js';
import { configView, MASK } from './view.js';

type Node = TSchema & Record<string, unknown>;
/** A key, or '[]' for a list's items. */
type Segment = string;

/** Every path (keys, '[]' for list items) at which the schema marks a secret. */
function secretPaths(schema: Node, path: Segment[] = [], out: Segment[][] = [], depth = 0): Segment[][] {
  if (depth > 12) return out;
  if (schema['x-secret'] === true) {
    out.push(path);
    return out;
  }
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) for (const b of (schema[k] as Node[] | undefined) ?? []) secretPaths(b, path, out, depth + 1);
  for (const [key, sub] of Object.entries((schema.properties as Record<string, Node> | undefined) ?? {})) secretPaths(sub, [...path, key], out, depth + 1);
  for (const sub of Object.values((schema.patternProperties as Record<string, Node> | undefined) ?? {})) secretPaths(sub, [...path, 'some-key'], out, depth + 1);
  if (schema.items && !Array.isArray(schema.items)) secretPaths(schema.items as Node, [...path, '[]'], out, depth + 1);
  return out;
}

/** A value with `leaf` at path, lists of one item where the path has '[]'. */
function build(path: Segment[], leaf: string): unknown {
  if (path.length === 0) return leaf;
  const [head, ...rest] = path;
  return head === '[]' ? [build(rest, leaf)] : { [head!]: build(rest, leaf) };
}

function view(config: unknown) {
  return configView(config as Config, policiesByName);
}

describe('audit view: secrets masked by schema', () => {
  it('masks every x-secret field of the top-level schema', () => {
    const paths = secretPaths(ConfigSchema as Node);
    assert.ok(paths.length >= 5, `found ${paths.length}: ${paths.map((p) => p.join('.')).join(', ')}`);
    paths.forEach((path, i) => {
      const secret = `top-secret-${i}-value`;
      const text = JSON.stringify(view(build(path, secret)));
      assert.ok(!text.includes(secret), `${path.join('.')} leaked: ${text}`);
      assert.ok(text.includes(MASK), path.join('.'));
    });
  });

  it('masks every x-secret field of every policy\'s settings and consumer credentials', () => {
    let settings = 0;
    let credentials = 0;
    for (const policy of policiesByName.values()) {
      for (const path of secretPaths(policy.config as Node)) {
        const secret = `${policy.name}-setting-${settings++}`;
        const config = { global_policies: [{ [policy.name]: build(path, secret) }], routes: [{ name: 'r', policies: [{ [policy.name]: build(path, secret) }] }] };
        const text = JSON.stringify(view(config));
        assert.ok(!text.includes(secret), `${policy.name}: ${path.join('.')} leaked: ${text}`);
      }
      if (!policy.credentials) continue;
      for (const path of secretPaths(policy.credentials as Node)) {
        const secret = `${policy.name}-credential-${credentials++}`;
        const config = { consumers: [{ name: 'c', credentials: { [policy.name]: [build(path, secret)] } }] };
        const text = JSON.stringify(view(config));
        assert.ok(!text.includes(secret), `${policy.name} credential ${path.join('.')} leaked: ${text}`);
      }
    }
    // key-auth key, basic-auth password_hash, hmac-auth secret at least; jwt/oidc/ldap/introspection secrets in settings.
    assert.ok(credentials >= 3, `credential secrets found: ${credentials}`);
    assert.ok(settings >= 4, `settings secrets found: ${settings}`);
  });

  it('shows what no schema marks secret, whatever its name, and masks what it cannot place', () => {
    const v = view({
      consumers: [{ name: 'c', metadata: { password: 'shown-label' }, credentials: { 'no-such-method': [{ id: 'x', anything: 'hidden' }] } }],
      routes: [{ name: 'r', policies: [{ 'no-such-policy': { token: 'hidden-too' } }, { 'rate-limit': { limit: 5 } }] }],
    });
    const text = JSON.stringify(v);
    assert.ok(text.includes('shown-label'), text);
    assert.ok(!text.includes('hidden'), text);
    assert.ok(text.includes('"limit":5'), text);
  });

  it('a changed secret shows as changed and masked; an unchanged one does not show; plain values show old and new', () => {
    const config = (key: string, limit: number) => ({
      consumers: [{ name: 'alice', credentials: { 'key-auth': [{ id: 'k1', key }] } }, { name: 'bob', credentials: { 'key-auth': [{ key: 'bob-key-unchanged' }] } }],
      routes: [{ name: 'api', policies: [{ 'key-auth': {} }, { 'rate-limit': { limit } }] }],
    });
    const { changes } = diffViews(view(config('alice-old-key', 5)), view(config('alice-new-key', 10)));
    assert.deepEqual(changes, [
      { op: 'changed', path: 'consumers[name=alice].credentials.key-auth[0].key', before: MASK, after: MASK },
      { op: 'changed', path: 'routes[name=api].policies[1].rate-limit.limit', before: 5, after: 10 },
    ]);
    assert.deepEqual(diffViews(view(config('same', 5)), view(config('same', 5))).changes, []);
  });

  it('matches named lists by name: an inserted route is one change, not a shift of every route after it', () => {
    const before = view({ routes: [{ name: 'a', service: 's' }, { name: 'b', service: 's' }] });
    const after = view({ routes: [{ name: 'a', service: 's' }, { name: 'new', service: 't' }, { name: 'b', service: 's' }] });
    assert.deepEqual(diffViews(before, after).changes, [{ op: 'added', path: 'routes[name=new]', after: { name: 'new', service: 't' } }]);
  });

  it('bounds a diff: at most 200 changes listed, the rest counted', () => {
    const many = (n: number) => view({ consumers: Array.from({ length: 300 }, (_, i) => ({ name: `c${i}`, groups: [`g${n}`] })) });
    const { changes, omitted } = diffViews(many(1), many(2));
    assert.equal(changes.length, 200);
    assert.equal(omitted, 100);
  });
});
