/** The configuration reference is generated from the schemas: it must match what the gateway accepts. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DOC, regenerate } from '../scripts/config-docs.js';

describe('docs/configuration.md', () => {
  it('is in step with the schemas (run `npm run docs` after changing one)', () => {
    const current = readFileSync(DOC, 'utf8');
    assert.equal(current, regenerate(current));
  });
});
