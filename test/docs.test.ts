/** The configuration reference is generated from the schemas: it must match what the gateway accepts. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DOC, POLICY_INDEX, regenerate, renderPolicyIndex } from '../scripts/config-docs.js';

describe('docs/configuration.md', () => {
  it('is in step with the schemas (run `npm run docs` after changing one)', () => {
    const current = readFileSync(DOC, 'utf8');
    assert.equal(current, regenerate(current));
  });
});

describe('docs/policies/README.md', () => {
  it('lists every policy the gateway ships (run `npm run docs` after adding one)', () => {
    assert.equal(readFileSync(POLICY_INDEX, 'utf8'), renderPolicyIndex());
  });
});
