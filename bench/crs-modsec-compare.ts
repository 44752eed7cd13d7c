/**
 * Our CRS engine against a real ModSecurity: replays the waf corpora's
 * requests through Apache + mod_security2 (ModSecurity 2.9, Debian's
 * apache2 and libapache2-mod-security2) loading the same vendored CRS with
 * the same setup SecLang our engine writes (src/policies/waf/crs/setup.ts),
 * and through our engine, and lists per request the rule ids each fired.
 *
 *   node --import tsx bench/crs-modsec-compare.ts [--kind benign|attack] [--only NAME] [--paranoia 1|2]
 *        [--out FILE.jsonl] [--diff] [--limit N] [--unicode low-byte|letter]
 *   node --import tsx bench/crs-modsec-compare.ts --serve     (ModSecurity alone, to try requests with curl)
 *
 * Needs: apt-get install apache2 libapache2-mod-security2. Not part of the
 * test suite (it starts an Apache of its own on a free local port, in a
 * temporary folder, and stops it at the end).
 *
 * Both engines see the same bytes: the request line, the headers (host,
 * user-agent, content-type, content-length as bench/waf-corpus.ts sends
 * them) and the body. Apache answers each with its UNIQUE_ID (a response
 * header), which keys the rule ids ModSecurity's audit log (parts A, H) names.
 *
 * Output: per corpus, each engine's blocked count, and per rule id how many
 * requests it fired on in each engine; with --diff, the requests where the
 * detection rules fired differ; --out writes one JSON line per request.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrsTransaction, loadCrs, processBody, VENDORED_CRS } from '../src/policies/waf/crs/index.js';
import { setupText } from '../src/policies/waf/crs/setup.js';
import type { FakeRequest } from '../test/helpers/policy.js';
import { corpora } from './corpora/waf-corpora.js';
import { freePort } from './lib/ports.js';

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const kind = opt('--kind') ?? 'benign';
const only = opt('--only');
const paranoia = Number(opt('--paranoia') ?? 1);
const out = opt('--out');
const showDiff = args.includes('--diff');
const limit = Number(opt('--limit') ?? Infinity);
/** Our engine's unmapped_unicode: low-byte by default here, ModSecurity's own reading, so that a difference is a divergence. */
const unicode = opt('--unicode') === 'letter' ? 'letter' : 'low-byte';

const MODULES = '/usr/lib/apache2/modules';
if (!existsSync(join(MODULES, 'mod_security2.so'))) {
  console.error('needs apache2 and libapache2-mod-security2 (apt-get install apache2 libapache2-mod-security2)');
  process.exit(2);
}

/** The same settings the waf gives our engine (bench/waf-corpus.ts: body max_size 1MiB, defaults otherwise). */
const SETUP = { paranoia, threshold: 5, monitor: false };
const MAX_BODY = 1024 * 1024;

interface Wire {
  method: string;
  target: string;
  headers: [string, string][];
  body: Buffer | undefined;
}

/** A bench FakeRequest as the bytes both engines see (what test/helpers/policy.ts's requestContext builds). */
function wire(r: FakeRequest): Wire {
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  const headers: [string, string][] = [['host', r.host ?? 'api.example.com']];
  for (const [k, v] of Object.entries(r.headers ?? {})) for (const one of Array.isArray(v) ? v : [v]) headers.push([k, one]);
  if (body && !headers.some(([k]) => k === 'content-length')) headers.push(['content-length', String(body.length)]);
  const path = r.path ?? '/';
  return { method: r.method ?? (body ? 'POST' : 'GET'), target: r.query ? `${path}?${r.query}` : path, headers, body };
}

// ---- ModSecurity (Apache) --------------------------------------------------

async function startApache(): Promise<{ port: number; dir: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'crs-modsec-'));
  for (const d of ['www', 'tmp', 'data']) mkdirSync(join(dir, d));
  chmodSync(dir, 0o755); // Apache's workers walk it (a 403 from the directory walk would skip phase 2)
  chmodSync(join(dir, 'tmp'), 0o777);
  chmodSync(join(dir, 'data'), 0o777);
  const port = await freePort();
  writeFileSync(join(dir, 'setup.conf'), setupText(SETUP));
  const conf = `
ServerRoot ${dir}
ServerName localhost
Listen 127.0.0.1:${port}
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule unique_id_module ${MODULES}/mod_unique_id.so
LoadModule headers_module ${MODULES}/mod_headers.so
LoadFile libxml2.so.2
LoadModule security2_module ${MODULES}/mod_security2.so
DocumentRoot ${dir}/www
LimitRequestLine 1048576
LimitRequestFieldSize 1048576
KeepAlive Off
# the audit entry's key, on every answer (a response header: no request rule sees it)
Header always set X-Unique-Id "%{UNIQUE_ID}e"
<Directory />
  AllowOverride None
  Require all granted
</Directory>
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit ${MAX_BODY}
SecRequestBodyNoFilesLimit ${MAX_BODY}
SecRequestBodyInMemoryLimit ${MAX_BODY}
SecRequestBodyLimitAction Reject
SecRequestBodyJsonDepthLimit 64
SecArgumentsLimit 10000
SecPcreMatchLimit 1000000
SecPcreMatchLimitRecursion 1000000
SecUnicodeMapFile /etc/modsecurity/unicode.mapping 20127
SecResponseBodyAccess Off
SecTmpDir ${dir}/tmp
SecDataDir ${dir}/data
SecAuditEngine On
SecAuditLogParts ABHZ
SecAuditLogType Serial
SecAuditLog ${dir}/audit.log
Include ${dir}/setup.conf
Include ${VENDORED_CRS}REQUEST-*.conf
`;
  writeFileSync(join(dir, 'httpd.conf'), conf);
  const child = spawn('/usr/sbin/apache2', ['-f', join(dir, 'httpd.conf'), '-DFOREGROUND'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`apache2 exited (${child.exitCode}); see ${dir}/error.log:\n${readFileSync(join(dir, 'error.log'), 'utf8').slice(-2000)}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    dir,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Sends one request on its own connection; resolves with Apache's UNIQUE_ID (the audit log's key) and the status. */
function send(port: number, w: Wire): Promise<{ uniqueId: string; status: number }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    s.on('connect', () => {
      const head = `${w.method} ${w.target} HTTP/1.1\r\n${w.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
      s.write(Buffer.concat([Buffer.from(head, 'latin1'), w.body ?? Buffer.alloc(0)]));
    });
    s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    s.on('error', reject);
    s.on('close', () => {
      const text = got.toString('latin1');
      const m = /^HTTP\/1\.\d (\d{3})/.exec(text);
      const id = /\r\nX-Unique-Id: ([^\r]*)\r\n/i.exec(text);
      resolve({ uniqueId: id?.[1] ?? '', status: m ? Number(m[1]) : 0 });
    });
  });
}

/** The audit log's entries: UNIQUE_ID → the rule ids of its "Message:" lines (part H). */
function auditEntries(file: string): Map<string, { ids: number[]; blocked: boolean; messages: string[] }> {
  const text = existsSync(file) ? readFileSync(file, 'latin1') : '';
  const map = new Map<string, { ids: number[]; blocked: boolean; messages: string[] }>();
  for (const entry of text.split(/\n--[0-9a-f]+-A--\n/).slice(1)) {
    const a = /^\[[^\]]+\] (\S+) /.exec(entry);
    if (!a) continue;
    const h = entry.split(/\n--[0-9a-f]+-H--\n/)[1] ?? '';
    const ids: number[] = [];
    const messages: string[] = [];
    for (const line of h.split('\n')) {
      if (!line.startsWith('Message:')) continue;
      const id = /\[id "(\d+)"\]/.exec(line);
      if (id) ids.push(Number(id[1]));
      const data = /\[data "((?:[^"\\]|\\.)*)"\]/.exec(line);
      if (id && data) messages.push(`${id[1]} ${(data[1] ?? '').slice(0, 300)}`);
    }
    map.set(a[1]!, { ids, blocked: /Action: Intercepted/.test(h), messages });
  }
  return map;
}

// ---- our engine -------------------------------------------------------------

const ruleSet = loadCrs({ ...SETUP, unmappedUnicode: unicode });

function ours(w: Wire): { ids: number[]; blocked: boolean; data: string[] } {
  const tx = new CrsTransaction(ruleSet, {
    method: w.method,
    target: w.target,
    protocol: 'HTTP/1.1',
    headers: w.headers,
    remoteAddr: '127.0.0.1',
    remotePort: 40000,
    serverPort: 80,
    uniqueId: 'x',
  });
  tx.runPhase(1);
  if (!tx.interruption && w.body) {
    const ct = w.headers.find(([k]) => k === 'content-type')?.[1] ?? '';
    processBody(tx, w.body, ct, { maxArgs: 10_000, maxDepth: 64 });
  }
  if (!tx.interruption) tx.runPhase(2);
  return { ids: tx.matches.map((m) => m.id), blocked: tx.interruption !== undefined, data: tx.matches.map((m) => `${m.id} ${m.variable}: ${m.data.slice(0, 200)}`) };
}

// ---- run --------------------------------------------------------------------

/** Rules that add up or report (949/959/980) are not detections: compared apart. */
const isDetection = (id: number) => !(id >= 949000 && id < 950000) && !(id >= 980000 && id < 981000);

interface Row {
  corpus: string;
  split: string;
  label: string;
  ours: number[];
  modsec: number[];
  oursData: string[];
  modsecData: string[];
  oursBlocked: boolean;
  modsecBlocked: boolean;
  status: number;
  audited: boolean;
}

const apache = await startApache();
if (args.includes('--serve')) {
  // a ModSecurity to try requests on by hand (curl); its audit log is in the folder
  console.log(`ModSecurity on http://127.0.0.1:${apache.port}/ (audit log ${apache.dir}/audit.log); Ctrl-C stops it`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await apache.stop();
  process.exit(0);
}
const rows: Row[] = [];
try {
  for (const corpus of corpora) {
    if (corpus.kind !== kind || corpus.exclusions) continue;
    if (only && !corpus.name.toLowerCase().includes(only.toLowerCase())) continue;
    const requests = corpus.requests().slice(0, limit);
    const sent: Array<{ label: string; w: Wire; uniqueId: string; status: number }> = [];
    const queue = requests.map((r) => ({ label: r.label, w: wire(r.request) }));
    // a few connections at a time: Apache's UNIQUE_ID keys each audit entry, so order does not matter
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < queue.length) {
          const item = queue[next++]!;
          const { uniqueId, status } = await send(apache.port, item.w);
          sent.push({ ...item, uniqueId, status });
        }
      }),
    );
    // the last entries' logging phase runs after the response: wait until every request has its entry
    let audit = auditEntries(join(apache.dir, 'audit.log'));
    for (let i = 0; i < 50 && sent.some((s) => !audit.has(s.uniqueId)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      audit = auditEntries(join(apache.dir, 'audit.log'));
    }
    for (const s of sent) {
      const m = audit.get(s.uniqueId);
      const o = ours(s.w);
      rows.push({ corpus: corpus.name, split: corpus.split, label: s.label, oursData: o.data, modsecData: m?.messages ?? [], ours: o.ids, modsec: m?.ids ?? [], oursBlocked: o.blocked, modsecBlocked: m?.blocked ?? false, status: s.status, audited: m !== undefined });
    }
  }
} finally {
  await apache.stop();
  if (!process.env.KEEP_APACHE_DIR) rmSync(apache.dir, { recursive: true, force: true });
  else console.error(`apache folder kept: ${apache.dir}`);
}

const missing = rows.filter((r) => !r.audited).length;
if (missing > 0) console.error(`${missing} requests have no audit entry (ModSecurity did not see them)`);
if (out) writeFileSync(out, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

const pct = (n: number, total: number) => (total === 0 ? '-' : `${((100 * n) / total).toFixed(1)}%`);
const names = [...new Set(rows.map((r) => r.corpus))];
console.log(`paranoia ${paranoia}, ${kind}: blocked (anomaly score ≥ 5) by each engine\n`);
console.log('| corpus | split | requests | ModSecurity 2.9 | ours | same rule ids fired |');
console.log('|---|---|---:|---:|---:|---:|');
for (const name of [...names, 'all']) {
  const sub = name === 'all' ? rows : rows.filter((r) => r.corpus === name);
  if (sub.length === 0) continue;
  const ms = sub.filter((r) => r.modsecBlocked).length;
  const ou = sub.filter((r) => r.oursBlocked).length;
  const same = sub.filter((r) => sameIds(r)).length;
  console.log(`| ${name === 'all' ? '**all**' : name} | ${name === 'all' ? '' : sub[0]!.split} | ${sub.length} | ${ms} (${pct(ms, sub.length)}) | ${ou} (${pct(ou, sub.length)}) | ${same} (${pct(same, sub.length)}) |`);
}

function sameIds(r: Row): boolean {
  const a = [...new Set(r.ours.filter(isDetection))].sort().join(',');
  const b = [...new Set(r.modsec.filter(isDetection))].sort().join(',');
  return a === b;
}

const perRule = new Map<number, { ours: number; modsec: number; oursOnly: number; modsecOnly: number }>();
for (const r of rows) {
  const o = new Set(r.ours.filter(isDetection));
  const m = new Set(r.modsec.filter(isDetection));
  for (const id of new Set([...o, ...m])) {
    const e = perRule.get(id) ?? { ours: 0, modsec: 0, oursOnly: 0, modsecOnly: 0 };
    if (o.has(id)) e.ours++;
    if (m.has(id)) e.modsec++;
    if (o.has(id) && !m.has(id)) e.oursOnly++;
    if (m.has(id) && !o.has(id)) e.modsecOnly++;
    perRule.set(id, e);
  }
}
console.log('\n| rule | requests it fired on, ModSecurity | ours | ours only | ModSecurity only |');
console.log('|---|---:|---:|---:|---:|');
for (const [id, e] of [...perRule].sort((a, b) => b[1].modsec + b[1].ours - (a[1].modsec + a[1].ours))) console.log(`| ${id} | ${e.modsec} | ${e.ours} | ${e.oursOnly} | ${e.modsecOnly} |`);

if (showDiff) {
  console.log('\nrequests where the detection rules differ (ours vs ModSecurity):');
  for (const r of rows) {
    // held-out requests stay unread line by line: they measure, they do not steer
    if (sameIds(r) || (r.split === 'held-out' && !args.includes('--show-held-out'))) continue;
    const o = [...new Set(r.ours.filter(isDetection))];
    const m = [...new Set(r.modsec.filter(isDetection))];
    console.log(`  [${r.corpus}] ours ${o.join(',') || '-'} | modsec ${m.join(',') || '-'} | ${JSON.stringify(r.label).slice(0, 160)}`);
  }
}
