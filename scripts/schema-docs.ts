/**
 * Writes docs/portcullis.schema.json, the JSON Schema `portcullis schema`
 * prints, so that examples/ and users' files can point their editor at it
 * (`# yaml-language-server: $schema=...`). `npm run docs` runs it; a test
 * fails when the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/config/json-schema.js';
import { policiesByName } from '../src/policies/index.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../docs/portcullis.schema.json', import.meta.url));

export function renderSchema(): string {
  return `${JSON.stringify(configJsonSchema(policiesByName), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) writeFileSync(SCHEMA_FILE, renderSchema());
