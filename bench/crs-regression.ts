/**
 * CRS's regression suite against a real gateway running the CRS engine, by
 * rule family: `npx tsx bench/crs-regression.ts [filter]` (CRS_UNICODE=low-byte
 * runs it with the waf's unmapped_unicode: low-byte, ModSecurity's reading). The CI test
 * (test/e2e/crs-regression.test.ts) runs the same and holds the pass rate.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '../test/helpers/gateway.js';
import { startUpstream } from '../test/helpers/upstream.js';
import { albedo, CRS_TEST_SETUP, loadOverrides, loadStages, overridden, runStage } from '../test/helpers/ftw.js';
import type { TelemetryEvent } from '../src/telemetry/event.js';

const SUITE = process.env.CRS_TESTS ?? join(import.meta.dirname, '../vendor/crs/tests/regression/tests');
const filter = process.argv[2];
const unicode = process.env.CRS_UNICODE === 'low-byte' ? 'low-byte' : 'letter';
const dir = mkdtempSync(join(tmpdir(), 'crs-ftw-'));
writeFileSync(join(dir, 'ftw-setup.conf'), CRS_TEST_SETUP);
const upstream = await startUpstream(albedo);
const gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] }, policies: [{ waf: { engine: crs, mode: monitor, paranoia: 4, unmapped_unicode: ${unicode}, response: { enabled: true }, include: ["${dir}/ftw-setup.conf"] } }] }]
`);
const events: TelemetryEvent[] = [];
gw.gateway.telemetry.events.subscribe((e) => {
  if (e.type === 'waf.rule') events.push(e);
});
const overrides = loadOverrides(join(import.meta.dirname, '../test/e2e/crs-regression-overrides.yaml'));
const families = new Map<string, { pass: number; total: number; over: number }>();
const failures: string[] = [];
let pass = 0, total = 0, over = 0;
for (const stage of loadStages(SUITE)) {
  if (filter && !String(stage.ruleId).startsWith(filter)) continue;
  const fam = String(stage.ruleId).slice(0, 3);
  const f = families.get(fam) ?? { pass: 0, total: 0, over: 0 };
  families.set(fam, f);
  const r = await runStage(gw, events, stage);
  events.length = 0;
  if (overridden(stage, overrides)) {
    f.over++;
    over++;
    continue;
  }
  f.total++;
  total++;
  if (r.pass) {
    f.pass++;
    pass++;
  } else failures.push(`${stage.ruleId}-${stage.testId}: ${r.why}`);
}
for (const [fam, f] of [...families].sort()) console.log(`${fam}: ${f.pass}/${f.total} ${((100 * f.pass) / Math.max(1, f.total)).toFixed(1)}%  (overridden ${f.over})`);
console.log(`total: ${pass}/${total} ${((100 * pass) / total).toFixed(2)}% (overridden ${over})`);
if (process.env.SHOW_FAILURES) for (const l of failures) console.log(l);
writeFileSync(join(dir, 'failures.txt'), failures.join('\n'));
console.log('failures in', join(dir, 'failures.txt'));
await gw.close();
await upstream.close();
