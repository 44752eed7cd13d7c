/**
 * Renders deploy/helm/portcullis without helm, which is neither in Debian's
 * packages nor on the npm registry here. It understands only the subset the
 * chart uses — {{ .Values.x }}, .Release.Name/Namespace, .Chart.*, if/else/end,
 * and the functions not, add, quote, toYaml, nindent, indent — with Go
 * template's whitespace trimming ({{- and -}}). Anything else throws, so a
 * template that outgrows the subset fails the test instead of rendering wrong.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';

type Value = unknown;
interface Scope {
  Values: Record<string, unknown>;
  Release: { Name: string; Namespace: string };
  Chart: Record<string, unknown>;
}
type Node = { text: string } | { expr: string } | { cond: string; then: Node[]; else: Node[] };

function tokenize(src: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    out.push({ text });
    out.push({ action: m[2]! });
    trimNext = m[3] === '-';
    last = re.lastIndex;
  }
  let rest = src.slice(last);
  if (trimNext) rest = rest.replace(/^\s+/, '');
  out.push({ text: rest });
  return out;
}

function build(tokens: Array<{ text: string } | { action: string }>): Node[] {
  let i = 0;
  const block = (): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i++]!;
      if ('text' in t) nodes.push({ text: t.text });
      else if (t.action.startsWith('if ')) {
        const then = block();
        const otherwise = then.end === 'else' ? block() : { nodes: [], end: then.end };
        if (otherwise.end !== 'end') throw new Error(`if ${t.action} has no end`);
        nodes.push({ cond: t.action.slice(3), then: then.nodes, else: otherwise.nodes });
      } else if (t.action === 'else' || t.action === 'end') return { nodes, end: t.action };
      else if (t.action.startsWith('/*')) continue;
      else nodes.push({ expr: t.action });
    }
    return { nodes, end: 'eof' };
  };
  const { nodes, end } = block();
  if (end !== 'eof') throw new Error(`unexpected {{ ${end} }}`);
  return nodes;
}

function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function lookup(path: string, scope: Scope): Value {
  let v: unknown = scope;
  for (const part of path.slice(1).split('.')) v = v === undefined || v === null ? undefined : (v as Record<string, unknown>)[part];
  return v;
}

function arg(token: string, scope: Scope): Value {
  if (token.startsWith('.')) return lookup(token, scope);
  if (/^-?\d+$/.test(token)) return Number(token);
  if (/^"(?:[^"\\]|\\.)*"$/.test(token)) return JSON.parse(token) as string;
  throw new Error(`unsupported argument: ${token}`);
}

const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  not: (v) => !truthy(v),
  add: (...n) => n.reduce<number>((a, b) => a + Number(b), 0),
  quote: (v) => JSON.stringify(typeof v === 'string' ? v : JSON.stringify(v ?? '')),
  toYaml: (v) => stringify(v).replace(/\n$/, ''),
  nindent: (n, s) => '\n' + indent(Number(n), String(s)),
  indent: (n, s) => indent(Number(n), String(s)),
};
const indent = (n: number, s: string) =>
  s
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

function evaluate(expr: string, scope: Scope): Value {
  let piped: Value[] | undefined;
  for (const command of expr.split('|').map((c) => c.trim())) {
    const words = command.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    const [head, ...rest] = words;
    if (head === undefined) throw new Error(`empty command in {{ ${expr} }}`);
    let value: Value;
    if (head in FUNCTIONS) value = FUNCTIONS[head]!(...rest.map((w) => arg(w, scope)), ...(piped ?? []));
    else if (rest.length === 0 && piped === undefined) value = arg(head, scope);
    else throw new Error(`unsupported function: ${head}`);
    piped = [value];
  }
  return piped![0];
}

function render(nodes: Node[], scope: Scope): string {
  return nodes
    .map((n) => {
      if ('text' in n) return n.text;
      if ('expr' in n) {
        const v = evaluate(n.expr, scope);
        if (v === undefined) throw new Error(`{{ ${n.expr} }} has no value`);
        return typeof v === 'string' ? v : JSON.stringify(v);
      }
      return render(truthy(evaluate(n.cond, scope)) ? n.then : n.else, scope);
    })
    .join('');
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** Every manifest the chart renders, as parsed objects, with `overrides` merged over values.yaml (as `--set` would). */
export function renderChart(chartDir: string, overrides: Record<string, unknown> = {}, release = { Name: 'edge', Namespace: 'default' }): Array<Record<string, unknown>> {
  const values = merge(parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>, overrides);
  const scope: Scope = { Values: values, Release: release, Chart: parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown> };
  const manifests: Array<Record<string, unknown>> = [];
  for (const file of readdirSync(join(chartDir, 'templates')).filter((f) => f.endsWith('.yaml')).sort()) {
    const text = render(build(tokenize(readFileSync(join(chartDir, 'templates', file), 'utf8'))), scope);
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}\n${text}`);
      const object = doc.toJS() as Record<string, unknown> | null;
      if (object) manifests.push(object);
    }
  }
  return manifests;
}
