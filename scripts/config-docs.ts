/**
 * Renders the configuration reference from the schemas themselves, so the
 * docs cannot drift from what the gateway accepts. `npm run docs` rewrites
 * the generated part of docs/configuration.md; a test fails when it is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../src/config/schema.js';
import { CommonPolicyFields } from '../src/config/types.js';
import { builtinPolicies } from '../src/policies/index.js';

export const DOC = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
const BEGIN = '<!-- generated:begin (npm run docs) -->';
const END = '<!-- generated:end -->';

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  const?: unknown;
  default?: unknown;
  description?: string;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | Schema;
  'x-secret'?: boolean;
}

function typeOf(s: Schema): string {
  if (s.anyOf) {
    if (s.anyOf.every((b) => b.const !== undefined)) return s.anyOf.map((b) => `\`${b.const as string}\``).join(' \\| ');
    return s.anyOf.map(typeOf).join(' or ');
  }
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.format === 'duration') return 'duration';
  if (s.format === 'size') return 'size';
  if (s.format) return `string (${s.format})`;
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'values'}`;
  if (s.type === 'object' && !s.properties) return 'map';
  if (s.type === 'object') return 'object';
  if (s['x-secret']) return 'secret string';
  return String(s.type ?? 'value');
}

function describe(s: Schema): string {
  const parts: string[] = [];
  if (s.description) parts.push(s.description);
  if (s.minimum !== undefined || s.maximum !== undefined) parts.push(`range ${s.minimum ?? '…'}–${s.maximum ?? '…'}`);
  if (s['x-secret']) parts.push('secret: never logged or shown');
  return parts.join('; ').replace(/\|/g, '\\|');
}

function defaultOf(s: Schema, required: boolean): string {
  if (s.default !== undefined) {
    const d = JSON.stringify(s.default);
    return d === '{}' || d === '[]' ? '' : `\`${d}\``;
  }
  return required ? 'required' : '';
}

/** Rows for every key of an object schema, nested objects and lists of objects flattened with dotted keys. */
function rows(s: Schema, prefix: string): string[] {
  const out: string[] = [];
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    const name = prefix + key;
    const required = (s.required ?? []).includes(key) && child.default === undefined;
    out.push(`| \`${name}\` | ${typeOf(child)} | ${defaultOf(child, required)} | ${describe(child)} |`);
    if (child.type === 'object' && child.properties) out.push(...rows(child, `${name}.`));
    if (child.type === 'array' && child.items?.type === 'object' && child.items.properties) out.push(...rows(child.items, `${name}[].`));
  }
  return out;
}

const HEADER = ['| key | type | default | meaning |', '|---|---|---|---|'];

export function renderReference(): string {
  const config = ConfigSchema as unknown as Schema;
  const out: string[] = [BEGIN, ''];
  for (const [key, child] of Object.entries(config.properties ?? {})) {
    out.push(`### \`${key}\``, '');
    if (child.description) out.push(child.description, '');
    const body = child.type === 'array' ? child.items! : child;
    if (body.properties) out.push(...HEADER, ...rows(body, child.type === 'array' ? `${key}[].` : `${key}.`), '');
    else out.push(`${typeOf(child)}`, '');
  }
  out.push('### Policies', '', 'Every policy also takes the common settings:', '', ...HEADER, ...rows({ properties: CommonPolicyFields }, ''), '');
  for (const policy of [...builtinPolicies].sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(`#### \`${policy.name}\` (${policy.phase})`, '', `${policy.description} See [policies/${policy.name}.md](policies/${policy.name}.md).`, '');
    const settings = rows(policy.config, '');
    out.push(...(settings.length > 0 ? [...HEADER, ...settings] : ['No settings of its own.']), '');
    if (policy.credentials) out.push(`Consumer credentials (\`consumers[].credentials.${policy.name}[]\`):`, '', ...HEADER, ...rows(policy.credentials, ''), '');
  }
  out.push(END);
  return out.join('\n');
}

export function regenerate(text: string): string {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start === -1 || end === -1) throw new Error(`${DOC} lacks the generated-section markers`);
  return text.slice(0, start) + renderReference() + text.slice(end + END.length);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DOC, regenerate(readFileSync(DOC, 'utf8')));
  process.stdout.write(`updated ${DOC}\n`);
}
