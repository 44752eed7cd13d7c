/**
 * Detection and false-positive rates of the waf policy on public corpora.
 *
 *   node --import tsx bench/waf-corpus.ts [--engine native|crs|both] [--verbose [--level 2] [--show-held-out]] [--only NAME] [--kind attack|benign] [--paranoia 1|2] [--json]
 *        [--unicode letter|low-byte]   (the waf's unmapped_unicode: how CRS reads characters ModSecurity's best-fit table lacks)
 *
 * Attack corpora: each payload is sent as the value of a query parameter (the
 * line as it appears in the list is the raw query value; the WAF sees it
 * URL-decoded, as the upstream would). Benign corpora: search strings the
 * same way, generated API traffic as JSON bodies, forms and query strings
 * with a realistic User-Agent, and real JSON documents as bodies.
 *
 * Sources and licenses: bench/corpora/README.md. sqlmap's payloads are
 * generated from the Debian package's data (apt-get install sqlmap, or set
 * SQLMAP_DATA to its data/xml directory); without it that corpus is skipped
 * and the run says so.
 */
import waf from '../src/policies/waf/index.js';
import type { PolicyInstance } from '../src/pipeline/policy.js';
import { compilePolicy, decide, requestContext } from '../test/helpers/policy.js';
import { corpora, sqlmapDir, type Corpus } from './corpora/waf-corpora.js';

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const asJson = args.includes('--json');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
/** Only the attack or only the benign corpora (the benign ones alone take minutes, not twenty, with CRS). */
const kind = args.includes('--kind') ? args[args.indexOf('--kind') + 1] : undefined;
/** Paranoia levels measured (default both). */
const onlyLevel = args.includes('--paranoia') ? Number(args[args.indexOf('--paranoia') + 1]) : undefined;
const showHeldOut = args.includes('--show-held-out');
/** Which waf engine runs: native (default), crs or both. */
const engine = args.includes('--engine') ? args[args.indexOf('--engine') + 1] : 'native';
/** The paranoia level whose misses and false positives --verbose lists. */
const verboseLevel = args.includes('--level') ? Number(args[args.indexOf('--level') + 1]) : 1;
/** The waf's unmapped_unicode (CRS only): letter (the default) or low-byte (ModSecurity's reading). */
const unicode = args.includes('--unicode') ? args[args.indexOf('--unicode') + 1] : 'letter';

const levels: Array<1 | 2> = onlyLevel === 1 || onlyLevel === 2 ? [onlyLevel] : [1, 2];
const instances = new Map<string, PolicyInstance>();
function instance(level: 1 | 2, exclusions: Corpus['exclusions'] = []): PolicyInstance {
  const key = `${level} ${JSON.stringify(exclusions)}`;
  let found = instances.get(key);
  if (!found) instances.set(key, (found = compilePolicy(waf, { engine, paranoia: level, unmapped_unicode: unicode, body: { max_size: '1MiB' }, exclusions })));
  return found;
}

interface Row {
  corpus: string;
  headline: boolean;
  kind: string;
  split: string;
  source: string;
  total: number;
  blocked: Record<number, number>;
}

const rows: Row[] = [];
for (const corpus of corpora) {
  if (only && !corpus.name.toLowerCase().includes(only.toLowerCase())) continue;
  if (kind && corpus.kind !== kind) continue;
  const requests = corpus.requests();
  const row: Row = { corpus: corpus.name, headline: corpus.headline !== false, kind: corpus.kind, split: corpus.split, source: corpus.source, total: requests.length, blocked: { 1: 0, 2: 0 } };
  const notable: string[] = [];
  for (const { label, request } of requests) {
    for (const level of levels) {
      const ctx = requestContext(request);
      const result = await decide(instance(level, corpus.exclusions), ctx);
      const blocked = result !== undefined;
      if (blocked) row.blocked[level]!++;
      // held-out lists stay unread line by line unless asked for: their misses must not steer the tuning
      const interesting = level === verboseLevel && (corpus.split !== 'held-out' || showHeldOut) && (corpus.kind === 'attack' ? !blocked : blocked);
      if (verbose && interesting) {
        const data = result?.event?.data;
        const why = data ? `[${String(data.rule)} ${String(data.target)} ${JSON.stringify(data.sample)}]` : '[missed]';
        notable.push(`  ${why} ${JSON.stringify(label).slice(0, blocked ? 100 : 240)}`);
      }
    }
  }
  rows.push(row);
  if (verbose && notable.length > 0) console.error(`${corpus.name}: ${corpus.kind === 'attack' ? 'missed' : 'blocked'} at paranoia ${verboseLevel}\n${notable.join('\n')}`);
}

const pct = (n: number, total: number) => (total === 0 ? '-' : `${((100 * n) / total).toFixed(1)}%`);
if (asJson) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log('| corpus | kind | split | requests | blocked, paranoia 1 | blocked, paranoia 2 |');
  console.log('|---|---|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.corpus} | ${r.kind} | ${r.split} | ${r.total} | ${r.blocked[1]} (${pct(r.blocked[1]!, r.total)}) | ${r.blocked[2]} (${pct(r.blocked[2]!, r.total)}) |`);
  const totals: Array<[string, Row[]]> = [
    ['all attack', rows.filter((r) => r.kind === 'attack' && r.headline)],
    ['all benign', rows.filter((r) => r.kind === 'benign' && r.headline)],
    ['benign held-out (not in "all benign")', rows.filter((r) => r.kind === 'benign' && r.split === 'held-out' && !r.corpus.includes('excluded'))],
    ['benign held-out, free-text and password exclusions', rows.filter((r) => r.kind === 'benign' && r.split === 'held-out' && r.corpus.includes('excluded'))],
    ['later held-out attack lists (not in "all attack")', rows.filter((r) => r.kind === 'attack' && !r.headline)],
    ['all benign, manifests with their documented exclusion (not in "all benign")', rows.filter((r) => r.kind === 'benign' && (r.headline ? r.corpus !== 'package.json documents' : r.corpus === 'package.json documents, scripts excluded'))],
    ['all benign, manifests with the body LFI/RCE exclusion (not in "all benign")', rows.filter((r) => r.kind === 'benign' && (r.headline ? r.corpus !== 'package.json documents' : r.corpus === 'package.json documents, body LFI/RCE excluded'))],
    [
      'all benign, every documented exclusion (manifests body LFI/RCE, free text, passwords; not in "all benign")',
      rows.filter((r) => r.kind === 'benign' && r.split !== 'held-out' && (r.headline ? !['package.json documents', 'generated API traffic (7 locales)'].includes(r.corpus) : r.corpus !== 'package.json documents, scripts excluded')),
    ],
  ];
  for (const [label, subset] of totals) {
    if (subset.length === 0) continue;
    const total = subset.reduce((n, r) => n + r.total, 0);
    const b1 = subset.reduce((n, r) => n + r.blocked[1]!, 0);
    const b2 = subset.reduce((n, r) => n + r.blocked[2]!, 0);
    console.log(`| **${label}** | | | ${total} | ${b1} (${pct(b1, total)}) | ${b2} (${pct(b2, total)}) |`);
  }
  if (!sqlmapDir) console.log('\nsqlmap payloads skipped: install the Debian package sqlmap or set SQLMAP_DATA.');
}
