/**
 * Which CRS rules make the benign corpora's requests blocked, rule by rule:
 * the tool behind docs/policies/waf.md's false-positive analysis. Runs the
 * CRS engine alone (no gateway, no native detectors) on each request of the
 * corpora bench/waf-corpus.ts sends, and counts, per detection rule id, the
 * blocked requests it fired on.
 *
 *   node --import tsx bench/waf-fp-rules.ts [--only NAME] [--paranoia 1|2] [--unicode letter|low-byte]
 *        [--verbose [--show-held-out]] [--kind benign|attack]
 *
 * --unicode chooses how urlDecodeUni reads a code point ModSecurity's best-fit
 * table lacks (the waf's `crs.unmapped_unicode`); --verbose lists each
 * blocked request's rule ids and matched data (held-out splits only with
 * --show-held-out: they are measured, never read while tuning). With --kind
 * attack it lists the attack payloads that are NOT blocked instead.
 */
import { CrsTransaction, loadCrs, processBody } from '../src/policies/waf/crs/index.js';
import type { UnmappedUnicode } from '../src/policies/waf/crs/transforms.js';
import type { FakeRequest } from '../test/helpers/policy.js';
import { corpora } from './corpora/waf-corpora.js';

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const only = opt('--only');
const kind = opt('--kind') ?? 'benign';
const paranoia = Number(opt('--paranoia') ?? 1);
const unicode = (opt('--unicode') ?? 'letter') as UnmappedUnicode;
const verbose = args.includes('--verbose');
const showHeldOut = args.includes('--show-held-out');

const ruleSet = loadCrs({ paranoia, threshold: 5, monitor: false, unmappedUnicode: unicode });
const isDetection = (id: number) => !(id >= 949000 && id < 950000) && !(id >= 980000 && id < 981000);

function run(r: FakeRequest): { ids: number[]; blocked: boolean; data: string[] } {
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  const headers: [string, string][] = [['host', r.host ?? 'api.example.com']];
  for (const [k, v] of Object.entries(r.headers ?? {})) for (const one of Array.isArray(v) ? v : [v]) headers.push([k, one]);
  if (body && !headers.some(([k]) => k === 'content-length')) headers.push(['content-length', String(body.length)]);
  const path = r.path ?? '/';
  const tx = new CrsTransaction(ruleSet, {
    method: r.method ?? (body ? 'POST' : 'GET'),
    target: r.query ? `${path}?${r.query}` : path,
    protocol: 'HTTP/1.1',
    headers,
    remoteAddr: '127.0.0.1',
    remotePort: 40000,
    serverPort: 80,
    uniqueId: 'x',
  });
  tx.runPhase(1);
  if (!tx.interruption && body) {
    const ct = headers.find(([k]) => k === 'content-type')?.[1] ?? '';
    processBody(tx, body, ct, { maxArgs: 10_000, maxDepth: 64 });
  }
  if (!tx.interruption) tx.runPhase(2);
  const detections = tx.matches.filter((m) => isDetection(m.id));
  return {
    ids: [...new Set(detections.map((m) => m.id))],
    blocked: tx.interruption !== undefined,
    data: detections.map((m) => `${m.id} ${m.variable}: ${JSON.stringify(m.data.slice(0, 160))}`),
  };
}

console.log(`CRS alone, paranoia ${paranoia}, unmapped unicode read as ${unicode === 'letter' ? 'a letter' : 'its low byte'}`);
for (const corpus of corpora) {
  if (corpus.kind !== kind) continue;
  if (only && !corpus.name.toLowerCase().includes(only.toLowerCase())) continue;
  if (corpus.exclusions && corpus.exclusions.length > 0) continue; // the exclusions are the waf's (bench/waf-corpus.ts measures them)
  const requests = corpus.requests();
  const byRule = new Map<number, number>();
  let blocked = 0;
  const listed: string[] = [];
  for (const { label, request } of requests) {
    const got = run(request);
    if (got.blocked) {
      blocked++;
      for (const id of got.ids) byRule.set(id, (byRule.get(id) ?? 0) + 1);
    }
    const interesting = kind === 'attack' ? !got.blocked : got.blocked;
    if (verbose && interesting && (corpus.split !== 'held-out' || showHeldOut)) listed.push(`  [${got.ids.join(' ')}] ${JSON.stringify(label).slice(0, 160)}\n${got.data.map((d) => `      ${d}`).join('\n')}`);
  }
  const rules = [...byRule].sort((a, b) => b[1] - a[1]).map(([id, n]) => `${id}:${n}`).join(' ');
  console.log(`${corpus.name} [${corpus.split}]: ${blocked}/${requests.length} blocked (${((100 * blocked) / requests.length).toFixed(1)}%)${kind === 'benign' ? `; per rule ${rules}` : ''}`);
  if (listed.length > 0) console.log(listed.join('\n'));
}
