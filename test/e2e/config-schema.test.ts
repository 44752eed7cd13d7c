/**
 * `portcullis schema` (issue 13, item 9): the JSON Schema editors use. It is
 * the committed docs/portcullis.schema.json (npm run docs), every example
 * points its editor at it and passes it, and so does every YAML snippet of
 * the docs that is a whole config (it has `listeners:`), checked with ajv as
 * an editor's validator would; and it refuses what validate refuses in shape.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { cli, ROOT } from '../helpers/cli.js';
import { renderSchema, SCHEMA_FILE } from '../../scripts/schema-docs.js';
import { isCidr } from '../../src/net/ip.js';
import { isDuration, isSize, isTimer } from '../../src/config/units.js';

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => join(e.parentPath, e.name));
}

/** A fresh ajv, as a CI tool or editor would hold: the schema's own formats given by name, nothing of the gateway's validator. */
function validator(schema: object) {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
  const formats: Record<string, (s: string) => boolean> = {
    duration: isDuration,
    timer: isTimer,
    size: (s) => isSize(s),
    cidr: isCidr,
    'listen-address': (s) => /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):\d{1,5}$/.test(s),
    'upstream-url': (s) => /^https?:\/\//.test(s),
    'route-host': () => true,
    'route-path': (s) => /^\s*[/=~]/.test(s),
    uri: (s) => URL.canParse(s),
  };
  for (const [name, check] of Object.entries(formats)) ajv.addFormat(name, { type: 'string', validate: check });
  return ajv.compile(schema);
}

describe('portcullis schema', () => {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
  const validate = validator(schema);
  const explain = () => JSON.stringify(validate.errors?.slice(0, 5), null, 1);

  it('prints the committed docs/portcullis.schema.json (npm run docs keeps it in step)', async () => {
    const result = await cli(['schema']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, renderSchema());
    assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), result.stdout, 'docs/portcullis.schema.json is stale: run npm run docs');
  });

  it('holds descriptions, defaults and every policy\'s settings', () => {
    const text = JSON.stringify(schema);
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    const route = (schema.properties as Record<string, { items: { properties: Record<string, { items: { properties: Record<string, unknown> } }> } }>).routes!.items;
    const policies = route.properties.policies!.items.properties;
    for (const name of ['key-auth', 'jwt', 'rate-limit', 'waf', 'quota', 'cors']) assert.ok(policies[name], name);
    assert.match(JSON.stringify(policies.jwt ?? null), /"description":"the exact \\"iss\\" value tokens carry"/);
    assert.match(text, /"default":"5s"/);
  });

  it('is the yaml-language-server schema of every example, and every example passes it', () => {
    const examples = filesUnder(join(ROOT, 'examples'), '.yaml');
    assert.ok(examples.length >= 3);
    for (const file of examples) {
      const text = readFileSync(file, 'utf8');
      const first = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
      assert.ok(first, `${relative(ROOT, file)}: first line names the schema`);
      assert.equal(resolve(dirname(file), first[1]!), SCHEMA_FILE, relative(ROOT, file));
      assert.ok(validate(parse(text)), `${relative(ROOT, file)}: ${explain()}`);
    }
  });

  it('passes every YAML snippet of the docs that is a whole config', () => {
    let checked = 0;
    for (const file of filesUnder(join(ROOT, 'docs'), '.md')) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
        const snippet = match[1]!;
        if (!/^listeners:/m.test(snippet)) continue;
        const line = text.slice(0, match.index).split('\n').length + 1;
        let data: unknown;
        try {
          data = parse(snippet);
        } catch (err) {
          assert.fail(`${relative(ROOT, file)}:${line}: not YAML: ${(err as Error).message}`);
        }
        checked++;
        assert.ok(validate(data), `${relative(ROOT, file)}:${line}: ${explain()}`);
      }
    }
    assert.ok(checked >= 3, `${checked} snippets`);
  });

  it('refuses the shape mistakes validate refuses: an unknown key, a misspelt policy, a wrong type', () => {
    const base = { listeners: [{ name: 'main', address: '127.0.0.1:8080' }], services: [{ name: 's', targets: [{ url: 'http://127.0.0.1:9' }] }] };
    assert.ok(validate({ ...base, routes: [{ name: 'r', service: 's', policies: [{ 'key-auth': {} }, { jwt: { issuers: [{ issuer: 'https://i', algorithms: ['RS256'], jwks_url: '${env:JWKS_URL}' }] } }] }] }), explain());
    assert.ok(!validate({ ...base, routes: [{ name: 'r', service: 's', policies: [{ 'rate-limitt': {} }] }] }));
    assert.ok(!validate({ ...base, routes: [{ name: 'r', service: 's', policies: [{ 'key-auth': { hedaer: 'x' } }] }] }));
    assert.ok(!validate({ ...base, services: [{ name: 's', targets: [{ url: 'http://127.0.0.1:9' }], timeouts: { connect: 5 } }] }));
    assert.ok(!validate({ ...base, listners: [] }));
    assert.ok(!validate({ ...base, consumers: [{ name: 'c', credentials: { 'key-auth': [{ kee: 'x' }] } }] }));
  });
});
