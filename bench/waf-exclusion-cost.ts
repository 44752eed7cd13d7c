/**
 * What an exclusion costs in detection: the attack lists' payloads sent in
 * the field the exclusion names (a JSON body `{"<field>": payload}`), on a
 * route with and without it, CRS engine at paranoia 1. An exclusion by field
 * name costs nothing where attacks are elsewhere (the query parameter the
 * attack corpora use), so the figure that matters is this one.
 *
 *   node --import tsx bench/waf-exclusion-cost.ts [--engine crs|both]
 */
import waf from '../src/policies/waf/index.js';
import type { PolicyInstance } from '../src/pipeline/policy.js';
import { percentDecode } from '../src/policies/waf/decode.js';
import { compilePolicy, decide, requestContext } from '../test/helpers/policy.js';
import { corpora } from './corpora/waf-corpora.js';

const args = process.argv.slice(2);
const engine = args.includes('--engine') ? args[args.indexOf('--engine') + 1]! : 'crs';

/** The exclusions docs/policies/waf.md proposes for JSON APIs, each with the field it is measured in. */
const CANDIDATES: Array<{ name: string; field: string; exclusions: Array<Record<string, string[]>> }> = [
  { name: 'free text: { rules: [rce], targets: [body:description] }', field: 'description', exclusions: [{ rules: ['rce'], targets: ['body:description'] }] },
  { name: 'passwords: { targets: [body:password] }', field: 'password', exclusions: [{ targets: ['body:password'] }] },
  { name: 'non-Latin names: { rules: ["942100"], targets: [body:company.*] }', field: 'company', exclusions: [{ rules: ['942100'], targets: ['body:company', 'body:company.*'] }] },
];

const instances = new Map<string, PolicyInstance>();
function instance(exclusions: Array<Record<string, string[]>>): PolicyInstance {
  const key = JSON.stringify(exclusions);
  let found = instances.get(key);
  if (!found) instances.set(key, (found = compilePolicy(waf, { engine, paranoia: 1, body: { max_size: '1MiB' }, exclusions })));
  return found;
}

/** The payload as the attack corpora's query parameter carries it, decoded once (what the upstream reads). */
function payloadOf(query: string | undefined): string {
  const raw = (query ?? '').replace(/^[a-z]+=/, '');
  return percentDecode(raw, false);
}

console.log(`engine ${engine}, paranoia 1: attack payloads sent as {"<field>": payload}, blocked without / with the exclusion\n`);
console.log('| exclusion | attack lists | requests | blocked without | blocked with |');
console.log('|---|---|---:|---:|---:|');
for (const c of CANDIDATES) {
  for (const split of ['dev', 'held-out'] as const) {
    let total = 0;
    let before = 0;
    let after = 0;
    for (const corpus of corpora) {
      if (corpus.kind !== 'attack' || corpus.split !== split) continue;
      for (const { request } of corpus.requests()) {
        const body = JSON.stringify({ [c.field]: payloadOf(request.query) });
        const req = { path: '/v1/objects', body, headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0' } };
        total++;
        if ((await decide(instance([]), requestContext(req))) !== undefined) before++;
        if ((await decide(instance(c.exclusions), requestContext(req))) !== undefined) after++;
      }
    }
    const pct = (n: number) => `${n} (${((100 * n) / total).toFixed(1)}%)`;
    console.log(`| ${c.name} | ${split} | ${total} | ${pct(before)} | ${pct(after)} |`);
  }
}
