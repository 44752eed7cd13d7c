/**
 * Differential check of the CRS engine: two source trees side by side in one
 * process, the same requests through both, and every request whose matched
 * rules differ listed. For engine changes that must not change a decision
 * (speed work): the rule ids, in order, with the variable each matched and
 * the sample the event carries, and the refusal.
 *
 *   node --import tsx bench/waf-crs-diff.ts --base /tmp/old-tree [--corpora] [--regression] [--paranoia 1]
 *
 * --corpora: every request of bench/corpora (waf-corpus.ts's), engine crs at the paranoia given, in-process.
 * --regression: CRS's regression stages sent over sockets to a gateway of each tree (paranoia 4, monitor, the
 * suite's settings, as bench/crs-regression.ts).
 * The base tree's node_modules must be a symlink to this tree's (one re2 addon per process).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PolicyInstance } from '../src/pipeline/policy.js';
import type { RequestContext } from '../src/pipeline/context.js';
import type { TelemetryEvent } from '../src/telemetry/event.js';
import type { FakeRequest } from '../test/helpers/policy.js';
import type { TestGateway } from '../test/helpers/gateway.js';
import type * as Ftw from '../test/helpers/ftw.js';
import type * as Upstream from '../test/helpers/upstream.js';
import type * as Gateway from '../test/helpers/gateway.js';
import type { Corpus } from './corpora/waf-corpora.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const base = resolve(opt('--base', '/tmp/crsfast8-base'));
const here = resolve(import.meta.dirname, '..');
const paranoia = Number(opt('--paranoia', '1'));
const doCorpora = args.includes('--corpora') || !args.includes('--regression');
const doRegression = args.includes('--regression') || !args.includes('--corpora');
const show = Number(opt('--show', '20'));

const load = async <T>(dir: string, path: string): Promise<T> => (await import(pathToFileURL(`${dir}/${path}`).href)) as T;

interface Differences {
  compared: number;
  differing: string[];
}

function note(d: Differences, label: string, a: string, b: string): void {
  d.compared++;
  if (a !== b) d.differing.push(`${label}\n    before ${a.slice(0, 600)}\n    after  ${b.slice(0, 600)}`);
}

/** What a request's run said: each waf.rule event's rule, target and sample, then the refusal's rule. */
function outcome(ctx: RequestContext, result: unknown): string {
  const rules = (ctx.events ?? []).filter((e) => e.type === 'waf.rule').map((e) => `${String(e.data?.rule)}@${String(e.data?.target)}=${JSON.stringify(e.data?.sample)}`);
  const refusal = (result as { event?: { data?: Record<string, unknown> } } | undefined)?.event?.data;
  return `${rules.join(' ')} | ${refusal ? `refused ${String(refusal.rule)} score ${String(refusal.score)}` : 'passed'}`;
}

async function corpora(): Promise<Differences> {
  const d: Differences = { compared: 0, differing: [] };
  const trees = await Promise.all(
    [base, here].map(async (dir) => {
      const waf = await load<{ default: unknown }>(dir, 'src/policies/waf/index.ts');
      const helpers = await load<{ compilePolicy: (p: unknown, c: Record<string, unknown>) => PolicyInstance; requestContext: (r: FakeRequest) => RequestContext }>(dir, 'test/helpers/policy.ts');
      const instances = new Map<string, PolicyInstance>();
      return {
        run: async (request: FakeRequest, exclusions: Corpus['exclusions']): Promise<string> => {
          const key = JSON.stringify(exclusions ?? []);
          let inst = instances.get(key);
          if (!inst) instances.set(key, (inst = helpers.compilePolicy(waf.default, { engine: 'crs', paranoia, body: { max_size: '1MiB' }, exclusions: exclusions ?? [] })));
          const ctx = helpers.requestContext(request);
          const result = inst.onRequest ? await inst.onRequest(ctx) : undefined;
          return outcome(ctx, result);
        },
      };
    }),
  );
  const { corpora: list } = await load<{ corpora: Corpus[] }>(here, 'bench/corpora/waf-corpora.ts');
  for (const corpus of list) {
    for (const { label, request } of corpus.requests()) {
      // twice through each: the second run is served from the engine's memory of values (memo.ts)
      for (const pass of [1, 2]) {
        const [a, b] = [await trees[0]!.run(request, corpus.exclusions), await trees[1]!.run(request, corpus.exclusions)];
        note(d, `${corpus.name} #${pass} ${JSON.stringify(label).slice(0, 120)}`, a, b);
      }
    }
  }
  return d;
}

async function regression(): Promise<Differences> {
  const d: Differences = { compared: 0, differing: [] };
  const ftw = await load<typeof Ftw>(here, 'test/helpers/ftw.ts');
  const dir = mkdtempSync(join(tmpdir(), 'crs-diff-'));
  writeFileSync(join(dir, 'ftw-setup.conf'), ftw.CRS_TEST_SETUP);
  const { startUpstream } = await load<typeof Upstream>(here, 'test/helpers/upstream.ts');
  const upstream = await startUpstream(ftw.albedo);
  const gateways: { gw: TestGateway; events: TelemetryEvent[] }[] = [];
  for (const tree of [base, here]) {
    const { startGateway } = await load<typeof Gateway>(tree, 'test/helpers/gateway.ts');
    const gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] }, policies: [{ waf: { engine: crs, mode: monitor, paranoia: 4, response: { enabled: true }, include: ["${dir}/ftw-setup.conf"] } }] }]
`);
    const events: TelemetryEvent[] = [];
    gw.gateway.telemetry.events.subscribe((e) => {
      if (e.type === 'waf.rule') events.push(e);
    });
    gateways.push({ gw, events });
  }
  const suite = process.env.CRS_TESTS ?? join(here, 'vendor/crs/tests/regression/tests');
  for (const stage of ftw.loadStages(suite)) {
    const seen: string[] = [];
    for (const { gw, events } of gateways) {
      const r = await ftw.runStage(gw, events, stage);
      events.length = 0;
      seen.push(`${r.matched.join(',')} ${r.pass ? 'pass' : 'fail'}`);
    }
    note(d, `${stage.ruleId}-${stage.testId}`, seen[0]!, seen[1]!);
  }
  for (const { gw } of gateways) await gw.close();
  await upstream.close();
  return d;
}

console.log(`node ${process.version}; before ${base}, after ${here}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
let differing = 0;
for (const [name, run, wanted] of [['corpora', corpora, doCorpora], ['regression', regression, doRegression]] as const) {
  if (!wanted) continue;
  const d = await run();
  differing += d.differing.length;
  console.log(`${name}: ${d.compared} requests compared, ${d.differing.length} differ`);
  for (const line of d.differing.slice(0, show)) console.log(`  ${line}`);
}
process.exitCode = differing === 0 ? 0 : 1;
