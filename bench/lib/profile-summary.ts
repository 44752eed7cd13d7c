/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went:
 * self time per function, and grouped by what the code is (node http, undici,
 * our handler, pino, crypto...). Native frames without a script (the HTTP
 * parser, writev, the SHA-256 digest) are charged to the group of the JS
 * function that called them, so "crypto" includes the digest itself.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Row {
  name: string;
  group: string;
  selfMs: number;
  /** Share of the busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  groups: Row[];
  functions: Row[];
  /** Our own functions by inclusive time (self + what they call). */
  oursInclusive: Row[];
}

/** Groups by script URL; "ours" is the repo's dist/, told apart from node_modules/<pkg>/dist. */
function groupsFor(repoDist: string): Array<[(url: string) => boolean, string]> {
  const re = (pattern: RegExp) => (url: string) => pattern.test(url);
  const ours = (sub: string) => (url: string) => url.startsWith(repoDist + sub);
  return [
    [re(/\/node_modules\/undici\//), 'undici (upstream client)'],
    [re(/\/node_modules\/(pino|sonic-boom|fast-redact|@pinojs|quick-format-unescaped|safe-stable-stringify|thread-stream|on-exit-leak-free|atomic-sleep|fast-safe-stringify)\//), 'pino (logging)'],
    [re(/\/node_modules\//), 'other packages'],
    [ours('telemetry/'), 'ours: telemetry (access log)'],
    [ours('policies/'), 'ours: policies (key-auth)'],
    [ours('pipeline/'), 'ours: pipeline'],
    [ours('routing/'), 'ours: routing + normalization'],
    [ours('upstream/'), 'ours: upstream (Exchange, headers)'],
    [ours('server/'), 'ours: server (handler, framing)'],
    [ours(''), 'ours: other (config, startup)'],
    [re(/^node:(internal\/)?crypto/), 'node crypto (sha256, randomUUID)'],
    [re(/^node:(_http_|http$|internal\/http)/), 'node http (parse, headers, write)'],
    [re(/^node:(net|internal\/net|internal\/stream_base_commons|internal\/streams|stream)/), 'node net + streams (socket writes)'],
    [re(/^node:(fs|internal\/fs)/), 'node fs (log file writes)'],
    [re(/^node:(buffer|internal\/buffer)/), 'node buffer'],
    [re(/^node:(events|internal\/events)/), 'node events'],
    [re(/^node:(internal\/process\/task_queues|internal\/timers|timers|internal\/async_hooks|async_hooks)/), 'node event loop (ticks, timers)'],
    [re(/^node:internal\/(modules|vm)|^node:vm/), 'module loading (startup)'],
    [re(/^node:/), 'node: other'],
  ];
}

// A Map, not an object literal: a function may be called "toString" or "constructor".
const SPECIAL = new Map<string, string>([
  ['(garbage collector)', 'GC'],
  ['(program)', 'V8/native, unattributed (program)'],
  ['(idle)', 'idle'],
  ['(root)', 'V8/native, unattributed (program)'],
]);


function shortUrl(url: string): string {
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return url.slice(dist + 1);
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) return url.slice(modules + '/node_modules/'.length);
  return url;
}

export function summarizeProfile(file: string, repoRoot: string, top = 30): ProfileSummary {
  const groups_ = groupsFor(pathToFileURL(repoRoot).href.replace(/\/?$/, '/') + 'dist/');
  const groupOfUrl = (url: string): string | undefined => {
    if (!url) return undefined;
    for (const [test, group] of groups_) if (test(url)) return group;
    return 'other JS';
  };
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  // Self time per node: each sample's time delta is charged to the node it hit.
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }

  const groupCache = new Map<number, string>();
  const groupOf = (id: number): string => {
    const cached = groupCache.get(id);
    if (cached) return cached;
    const frame = byId.get(id)!.callFrame;
    let group = SPECIAL.get(frame.functionName) ?? groupOfUrl(frame.url);
    if (!group) {
      const up = parent.get(id);
      group = up === undefined ? 'V8/native, unattributed (program)' : groupOf(up);
    }
    groupCache.set(id, group);
    return group;
  };
  const nameOf = (id: number): string => {
    const frame = byId.get(id)!.callFrame;
    if (frame.url) return `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    if (SPECIAL.has(frame.functionName)) return frame.functionName;
    const up = parent.get(id);
    if (up === undefined) return `native ${frame.functionName || '(anonymous)'}`;
    const caller = byId.get(up)!.callFrame;
    let text = `native ${frame.functionName || '(anonymous)'} ← ${caller.functionName || '(anonymous)'}`;
    // And the first caller outside node's own code: who asked for this.
    for (let at = parent.get(up); at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (f.url && !f.url.startsWith('node:')) {
        text += ` … ← ${f.functionName || '(anonymous)'} ${shortUrl(f.url)}`;
        break;
      }
    }
    return text;
  };

  let totalUs = 0;
  let idleUs = 0;
  const groups = new Map<string, number>();
  const functions = new Map<string, { group: string; us: number }>();
  for (const [id, us] of self) {
    totalUs += us;
    const group = groupOf(id);
    if (group === 'idle') {
      idleUs += us;
      continue;
    }
    groups.set(group, (groups.get(group) ?? 0) + us);
    const name = nameOf(id);
    const entry = functions.get(name) ?? { group, us: 0 };
    entry.us += us;
    functions.set(name, entry);
  }

  // Inclusive time of our functions: self time of every sample under them, each function counted once per stack.
  const inclusive = new Map<string, { group: string; us: number }>();
  for (const [id, us] of self) {
    if (groupOf(id) === 'idle') continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (!groupOf(at).startsWith('ours:')) continue;
      const name = nameOf(at);
      if (seen.has(name)) continue;
      seen.add(name);
      const entry = inclusive.get(name) ?? { group: groupOf(at), us: 0 };
      entry.us += us;
      inclusive.set(name, entry);
    }
  }

  const busyUs = totalUs - idleUs;
  const row = (name: string, group: string, us: number): Row => ({ name, group, selfMs: us / 1000, percent: (100 * us) / busyUs });
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    groups: [...groups].sort((a, b) => b[1] - a[1]).map(([name, us]) => row(name, name, us)),
    functions: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, { group, us }]) => row(name, group, us)),
    oursInclusive: [...inclusive]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, { group, us }]) => row(name, group, us)),
  };
}

export function formatSummary(summary: ProfileSummary, requests?: number): string {
  const perRequest = (ms: number) => (requests ? ` ${((ms * 1000) / requests).toFixed(2).padStart(7)} µs/req` : '');
  const lines: string[] = [];
  lines.push(`profile: ${(summary.totalMs / 1000).toFixed(1)} s sampled, ${(summary.busyMs / 1000).toFixed(1)} s busy (not idle)${requests ? `, ${requests} requests` : ''}`);
  lines.push('', 'Self time by group (% of busy time):');
  for (const g of summary.groups) lines.push(`  ${g.percent.toFixed(1).padStart(5)}%  ${g.selfMs.toFixed(0).padStart(7)} ms${perRequest(g.selfMs)}  ${g.name}`);
  lines.push('', 'Top functions by self time:');
  for (const f of summary.functions) lines.push(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  [${f.group}]  ${f.name}`);
  lines.push('', 'Our functions by inclusive time (self + callees):');
  for (const f of summary.oursInclusive) lines.push(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms${perRequest(f.selfMs)}  ${f.name}`);
  return lines.join('\n');
}
