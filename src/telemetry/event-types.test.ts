/**
 * The event type registry against the code and the docs: every type a
 * decision site names is registered (the compiler checks the typed sites;
 * this walk also catches names built at run time), every registered type is
 * emitted somewhere, and docs/events.md is the registry's table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENTS_DOC, regenerateEvents } from '../../scripts/events-docs.js';
import { CATEGORIES as WAF_CATEGORIES } from '../policies/waf/rules.js';
import { EVENT_TYPES, eventSpec, type EventTypeSpec } from './event-types.js';

const SRC = fileURLToPath(new URL('..', import.meta.url));
const REGISTRY = fileURLToPath(new URL('./event-types.ts', import.meta.url));
const KINDS = new Set(['id', 'text', 'number', 'bool', 'sample', 'record']);
const CATEGORIES = new Set(['authentication', 'authorization', 'traffic', 'threat', 'validation', 'network', 'tls', 'protocol', 'overload', 'config', 'certificate', 'store', 'audit', 'defense']);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && path !== REGISTRY) out.push(path);
  }
  return out;
}

/** Every place an event type is named: `type: '…'`, `refuse('…'`, MISSING_CREDENTIALS and NAMESPACE_EVENT, and type templates. */
function emissionSites(): { literals: Map<string, string[]>; templates: Array<{ file: string; template: string }> } {
  const literals = new Map<string, string[]>();
  const templates: Array<{ file: string; template: string }> = [];
  const add = (name: string, file: string) => literals.set(name, [...(literals.get(name) ?? []), file]);
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const rel = relative(SRC, file);
    for (const m of text.matchAll(/\btype: '([a-z0-9_]+\.[a-z0-9_]+)'/g)) add(m[1]!, rel);
    for (const m of text.matchAll(/\b(?:refuse|invalid|malformed)\(\s*'([a-z0-9_]+\.[a-z0-9_]+)'/g)) add(m[1]!, rel);
    for (const m of text.matchAll(/\b(?:MISSING_CREDENTIALS|NAMESPACE_EVENT) = '([a-z0-9_.]+)'/g)) add(m[1]!, rel);
    for (const m of text.matchAll(/\btype: `([^`]*)`/g)) templates.push({ file: rel, template: m[1]! });
  }
  return { literals, templates };
}

describe('event type registry', () => {
  it('gives every type a category, severity, actions, a description, token reasons and known detail kinds', () => {
    for (const [type, spec] of Object.entries(EVENT_TYPES) as Array<[string, EventTypeSpec]>) {
      assert.match(type, /^[a-z0-9_]+\.[a-z0-9_]+$/, type);
      assert.ok(CATEGORIES.has(spec.category), `${type}: ${spec.category}`);
      assert.ok(['info', 'low', 'medium', 'high', 'critical'].includes(spec.severity), type);
      assert.ok(spec.actions.length > 0, type);
      assert.ok(spec.description.length > 20, type);
      for (const reason of spec.reasons ?? []) assert.match(reason, /^[a-z0-9_]{1,64}$/, `${type}: ${reason}`);
      for (const [name, kind] of Object.entries(spec.details)) {
        assert.match(name, /^[a-z0-9_]+$/, `${type}.${name}`);
        assert.ok(KINDS.has(kind), `${type}.${name}: ${kind}`);
      }
      assert.ok(!Object.keys(spec.details).some((n) => /token|password|secret|cookie|authorization|api_?key/.test(n)), `${type} declares no credential-shaped field`);
    }
  });

  it('registers every type an emission site names, literal or built from a template', () => {
    const { literals, templates } = emissionSites();
    assert.ok(literals.size > 30, `found ${literals.size} named types: the walk still sees the sites`);
    for (const [name, files] of literals) assert.ok(eventSpec(name), `${name} (${files.join(', ')}) is not in telemetry/event-types.ts`);
    const known = new Set(templates.map((t) => `${t.file}: ${t.template}`));
    // The templates the code builds types with, and what they expand to: a new template must be added here and checked.
    assert.deepEqual(known, new Set(['policies/waf/index.ts: waf.${category}', 'server/screens.ts: request.${tooBig.code}']));
    for (const category of WAF_CATEGORIES) assert.ok(eventSpec(`waf.${category}`), `waf.${category}`);
    for (const code of ['uri_too_long', 'too_many_headers']) assert.ok(eventSpec(`request.${code}`), code);
  });

  it('emits every registered type somewhere (the docs list nothing that cannot happen)', () => {
    const { literals } = emissionSites();
    for (const type of Object.keys(EVENT_TYPES)) {
      const built = type.startsWith('waf.') || type === 'request.uri_too_long' || type === 'request.too_many_headers';
      assert.ok(literals.has(type) || built, `${type} is registered but nothing emits it`);
    }
  });
});

describe('docs/events.md', () => {
  it('holds the registry\'s table (run `npm run docs` after changing the registry)', () => {
    const current = readFileSync(EVENTS_DOC, 'utf8');
    assert.equal(current, regenerateEvents(current));
  });
});
