/**
 * Renders the event reference table of docs/events.md from the event type
 * registry (src/telemetry/event-types.ts), so the page cannot drift from
 * what the gateway emits. `npm run docs` rewrites the generated part; a test
 * fails when it is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES, type EventTypeSpec } from '../src/telemetry/event-types.js';

export const EVENTS_DOC = fileURLToPath(new URL('../docs/events.md', import.meta.url));
const BEGIN = '<!-- generated:begin (npm run docs) -->';
const END = '<!-- generated:end -->';

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function row(type: string, spec: EventTypeSpec): string {
  const details = Object.entries(spec.details).map(([name, kind]) => `\`${name}\` ${kind}`).join(', ') || '—';
  const reasons = spec.reasons && spec.reasons.length > 0 ? spec.reasons.map((r) => `\`${r}\``).join(', ') : '—';
  return `| \`${type}\` | ${spec.category} | ${spec.severity} | ${spec.actions.join(', ')} | ${cell(details)} | ${cell(reasons)} | ${cell(spec.description)} |`;
}

export function renderEventTable(): string {
  const lines = [
    BEGIN,
    '',
    '| type | category | severity | action | details | reasons | when |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const [type, spec] of Object.entries(EVENT_TYPES) as Array<[string, EventTypeSpec]>) lines.push(row(type, spec));
  lines.push('', END);
  return lines.join('\n');
}

export function regenerateEvents(text: string): string {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start === -1 || end === -1) throw new Error(`${EVENTS_DOC} lacks the generated-section markers`);
  return text.slice(0, start) + renderEventTable() + text.slice(end + END.length);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(EVENTS_DOC, regenerateEvents(readFileSync(EVENTS_DOC, 'utf8')));
  process.stdout.write(`updated ${EVENTS_DOC}\n`);
}
