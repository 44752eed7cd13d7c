/**
 * Router benchmark: compiling 10,000 routes, and the cost of one match, with
 * the Router from src/routing/router.ts; then the same 10,000 routes through
 * the whole config load (YAML parse, validation, compile). Timing lives here,
 * never in a pass/fail test. Run: npm run bench:router [-- ROUTES]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import RE2 from 're2';
import { Router, type RouteEntry } from '../src/routing/router.js';
import { compileConfig } from '../src/compile.js';
import { parseSource, readSource } from '../src/config/load.js';
import { validateConfig } from '../src/config/validate.js';
import { policiesByName } from '../src/policies/index.js';
import { createLogger } from '../src/telemetry/logger.js';
import { UpstreamRegistry } from '../src/upstream/registry.js';
import { memoryStores } from '../src/stores/memory.js';
import { median } from './lib/stats.js';

const ROUTES = Number(process.argv[2] ?? process.env.BENCH_ROUTES ?? 10_000);
const REGEX_ROUTES = 50;
const REPEATS = 7;

interface Spec {
  name: string;
  hosts?: string[];
  paths: string[];
  methods?: string[];
  headers?: Record<string, string>;
}

/**
 * A mix like a large real config: mostly prefixes under a few hundred
 * services, exact paths, exact and wildcard hosts, methods, a few header
 * matches and a handful of regexes (which are tried in order after the trie).
 */
function routeSpecs(count: number): Spec[] {
  const specs: Spec[] = [];
  for (let i = 0; specs.length < count; i++) {
    const name = `r${i}`;
    const kind = i % 10;
    if (i < REGEX_ROUTES) specs.push({ name, paths: [`~ ^/re${i}/[0-9]+/items$`] });
    else if (kind < 5) specs.push({ name, paths: [`/svc${i % 300}/v${i % 3}/res${i}`], methods: i % 2 === 0 ? ['GET', 'POST'] : undefined });
    else if (kind < 7) specs.push({ name, paths: [`= /api/exact/${i}`] });
    else if (kind < 8) specs.push({ name, hosts: [`h${i}.example.com`], paths: [`/app${i % 50}`] });
    else if (kind < 9) specs.push({ name, hosts: [`*.t${i}.example.com`], paths: ['/'] });
    else specs.push({ name, paths: [`/hdr/${i}`], headers: { 'x-tenant': `t${i}` } });
  }
  return specs;
}

function toEntry(spec: Spec): RouteEntry<string> {
  return {
    route: spec.name,
    hosts: spec.hosts,
    paths: spec.paths,
    methods: spec.methods,
    headers: spec.headers ? Object.entries(spec.headers).map(([name, value]) => ({ name, exact: value, regex: undefined as RE2 | undefined })) : undefined,
  };
}

interface Probe {
  method: string;
  host: string;
  path: string;
  headers: Record<string, string>;
  expect: string | undefined;
}

/** Requests of one kind, each with the route it must reach (checked before timing). */
function probes(specs: Spec[]): Record<string, Probe[]> {
  const groups: Record<string, Probe[]> = {
    'exact path': [],
    'prefix, 2 segments deeper': [],
    'exact host + prefix': [],
    'wildcard host': [],
    'header match': [],
    'regex (after trie misses)': [],
    'no route (404: trie + every regex)': [],
  };
  const probe = (path: string, expect: string | undefined, host = 'api.example.org', headers: Record<string, string> = {}, method = 'GET'): Probe => ({ method, host, path, headers, expect });
  for (const [i, spec] of specs.entries()) {
    const path = spec.paths[0]!;
    if (path.startsWith('~')) groups['regex (after trie misses)']!.push(probe(`/re${i}/42/items`, spec.name));
    else if (path.startsWith('= ')) groups['exact path']!.push(probe(path.slice(2), spec.name));
    else if (spec.headers) groups['header match']!.push(probe(path, spec.name, 'api.example.org', spec.headers));
    else if (spec.hosts?.[0]?.startsWith('*.')) groups['wildcard host']!.push(probe('/anything', spec.name, `a.b${spec.hosts[0].slice(1)}`));
    else if (spec.hosts) groups['exact host + prefix']!.push(probe(`${path}/x`, spec.name, spec.hosts[0]));
    else groups['prefix, 2 segments deeper']!.push(probe(`${path}/123/details`, spec.name));
    groups['no route (404: trie + every regex)']!.push(probe(`/nothing/${i}/here`, undefined));
  }
  return groups;
}

function time<T>(run: () => T): [number, T] {
  const start = process.hrtime.bigint();
  const result = run();
  return [Number(process.hrtime.bigint() - start) / 1e6, result];
}

let sink = 0; // keeps V8 from dropping the matches

/** ns per call of fn over items, each sample running ~100 ms so slow and fast cases take the same time. */
function nsPerCall<T>(items: readonly T[], fn: (item: T) => unknown): number {
  const pass = () => {
    const start = process.hrtime.bigint();
    for (const item of items) if (fn(item) !== undefined) sink++;
    return Number(process.hrtime.bigint() - start);
  };
  const once = Math.max(pass(), 1);
  const passes = Math.max(1, Math.round(100e6 / once));
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    let elapsed = 0;
    for (let k = 0; k < passes; k++) elapsed += pass();
    samples.push(elapsed / (passes * items.length));
  }
  return median(samples);
}

function nsPerMatch(router: Router<string>, list: readonly Probe[]): number {
  return nsPerCall(list, (p) => router.match(p.method, p.host, p.path, p.headers));
}

function configYaml(specs: Spec[]): string {
  const lines = [
    'listeners: [{ name: bench, address: 127.0.0.1:0 }]',
    'services: [{ name: upstream, targets: [{ url: "http://127.0.0.1:9" }] }]',
    'consumers: [{ name: bench, credentials: { key-auth: [{ key: bench-key }] } }]',
    'routes:',
  ];
  for (const [i, s] of specs.entries()) {
    const match: string[] = [`paths: ${JSON.stringify(s.paths)}`];
    if (s.hosts) match.push(`hosts: ${JSON.stringify(s.hosts)}`);
    if (s.methods) match.push(`methods: ${JSON.stringify(s.methods)}`);
    if (s.headers) match.push(`headers: ${JSON.stringify(s.headers)}`);
    // Every other route authenticates; the rest are public.
    const auth = i % 2 === 0 ? ', policies: [{ key-auth: { header: x-api-key } }]' : ', public: true';
    lines.push(`  - { name: ${s.name}, service: upstream, match: { ${match.join(', ')} }${auth} }`);
  }
  return lines.join('\n') + '\n';
}

function main(): void {
  const specs = routeSpecs(ROUTES);
  const entries = specs.map(toEntry);
  process.stdout.write(`Router benchmark: ${ROUTES} routes (${REGEX_ROUTES} regex), Node ${process.version}\n\n`);

  const compileMs: number[] = [];
  let router!: Router<string>;
  for (let r = 0; r < REPEATS; r++) {
    const [ms, built] = time(() => new Router(entries));
    compileMs.push(ms);
    router = built;
  }
  process.stdout.write(`compile ${ROUTES} routes (new Router): median ${median(compileMs).toFixed(1)} ms, first ${compileMs[0]!.toFixed(1)} ms (cold), min ${Math.min(...compileMs).toFixed(1)} ms\n\n`);

  const groups = probes(specs);
  for (const [kind, list] of Object.entries(groups)) {
    for (const p of list) {
      const got = router.match(p.method, p.host, p.path, p.headers)?.route;
      if (got !== p.expect) throw new Error(`router bench is wrong: ${kind} ${p.host}${p.path} matched ${got}, expected ${p.expect}`);
    }
  }
  process.stdout.write('match, ns per call (median):\n');
  for (const [kind, list] of Object.entries(groups)) {
    process.stdout.write(`  ${nsPerMatch(router, list).toFixed(0).padStart(7)} ns  ${kind} (${list.length} distinct requests)\n`);
  }

  // For reference: what the regex fallback pays per request that reaches it.
  const regexes = specs.filter((sp) => sp.paths[0]!.startsWith('~')).map((sp) => new RE2(sp.paths[0]!.slice(1).trim()));
  const paths = groups['no route (404: trie + every regex)']!.map((p) => p.path);
  const one = regexes[0]!;
  const set = new RE2.Set(regexes);
  process.stdout.write(
    `\nfor reference: one RE2 test ${nsPerCall(paths, (p) => one.test(p) || undefined).toFixed(0)} ns; ` +
      `${regexes.length} RE2 tests ${nsPerCall(paths, (p) => regexes.some((r) => r.test(p)) || undefined).toFixed(0)} ns; ` +
      `one RE2.Set of ${regexes.length} ${nsPerCall(paths, (p) => set.test(p) || undefined).toFixed(0)} ns\n`,
  );

  // The whole path a config takes: YAML → validation → compiled snapshot.
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-router-bench-'));
  try {
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, configYaml(specs));
    const { logger } = createLogger({ level: 'silent' });
    const stages: Record<'parse' | 'validate' | 'compile' | 'total', number[]> = { parse: [], validate: [], compile: [], total: [] };
    for (let r = 0; r < 3; r++) {
      const upstreams = new UpstreamRegistry(logger);
      const [parseMs, parsed] = time(() => parseSource(readSource(file)));
      if (!parsed.ok) throw new Error(`generated config does not parse: ${parsed.issues[0]?.message}`);
      const [validateMs, validated] = time(() => validateConfig(parsed.source, policiesByName));
      if (!validated.ok) throw new Error(`generated config is invalid: ${validated.issues.slice(0, 3).map((i) => `${i.path}: ${i.message}`).join('; ')}`);
      const [compileMs_, compiled] = time(() => compileConfig(validated.config, parsed.source, { policies: policiesByName, upstreams, logger, version: 1, stores: memoryStores(logger) }));
      if (!compiled.ok) throw new Error(`generated config does not compile: ${compiled.issues[0]?.message}`);
      upstreams.discard(compiled.snapshot.services);
      stages.parse.push(parseMs);
      stages.validate.push(validateMs);
      stages.compile.push(compileMs_);
      stages.total.push(parseMs + validateMs + compileMs_);
    }
    const m = (k: keyof typeof stages) => median(stages[k]).toFixed(0);
    process.stdout.write(
      `\nwhole config load of ${ROUTES} routes (half with key-auth), median of 3: ${m('total')} ms = ` +
        `YAML parse + refs ${m('parse')} ms, validation ${m('validate')} ms, compile (router + pipelines) ${m('compile')} ms\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (sink < 0) process.stdout.write(String(sink));
}

main();
