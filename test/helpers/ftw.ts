/**
 * A runner for OWASP CRS's regression suite (tests/regression/tests/**.yaml),
 * the way go-ftw runs it: each stage's request written on a raw socket (so an
 * encoded_request or a malformed request line reaches the gateway as is),
 * and the rule ids that matched (the gateway's waf.rule events for the
 * request id it answered with) compared with expect_ids / no_expect_ids.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { TelemetryEvent } from '../../src/telemetry/event.js';
import type { TestGateway } from './gateway.js';
import type { UpstreamHandler } from './upstream.js';

/**
 * The backend CRS's suite runs against (albedo): POST /reflect answers with the
 * status, headers and body (or base64 encodedBody) its JSON names, which is how the
 * response rules' stages get their responses; anything else gets a short 200.
 */
export const albedo: UpstreamHandler = (req, res, seen) => {
  if (seen.url.split('?')[0] === '/reflect' && seen.method === 'POST') {
    let spec: { status?: number; headers?: Record<string, string>; body?: string; encodedBody?: string } = {};
    try {
      spec = JSON.parse(seen.body) as typeof spec;
    } catch {
      // albedo answers an unreadable spec as an empty one
    }
    const body = spec.encodedBody !== undefined ? Buffer.from(spec.encodedBody, 'base64') : Buffer.from(spec.body ?? '', 'utf8');
    // albedo is a Go server: a body without a Content-Type is sniffed, text/plain for text
    const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8', ...spec.headers, 'content-length': body.length };
    res.writeHead(spec.status ?? 200, headers);
    res.end(body);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 2 });
  res.end('ok');
};

interface StageInput {
  dest_addr?: string;
  port?: number;
  method?: string;
  uri?: string;
  version?: string;
  headers?: Record<string, string | number>;
  data?: string;
  encoded_request?: string;
  autocomplete_headers?: boolean;
}

interface StageOutput {
  log?: { expect_ids?: number[]; no_expect_ids?: number[] };
  status?: number;
}

export interface Stage {
  readonly ruleId: number;
  readonly testId: number;
  readonly index: number;
  readonly input: StageInput;
  readonly output: StageOutput;
}

export interface Override {
  readonly rule_id: number;
  readonly test_ids?: number[];
  readonly reason: string;
}

export function loadStages(dir: string): Stage[] {
  const out: Stage[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, name.name);
      if (name.isDirectory()) walk(p);
      else if (name.name.endsWith('.yaml')) {
        const doc = parse(readFileSync(p, 'utf8')) as { rule_id: number; tests: { test_id: number; stages: { input: StageInput; output: StageOutput }[] }[] };
        if (!doc?.tests) continue;
        for (const t of doc.tests) t.stages.forEach((s, i) => out.push({ ruleId: doc.rule_id, testId: t.test_id, index: i, input: s.input, output: s.output }));
      }
    }
  };
  walk(dir);
  return out;
}

/** The bytes go-ftw would send for this stage. */
export function requestBytes(input: StageInput, port: number): Buffer {
  if (input.encoded_request) return Buffer.from(input.encoded_request, 'base64');
  const method = input.method ?? 'GET';
  const uri = input.uri ?? '/';
  const version = input.version ?? 'HTTP/1.1';
  const headers: [string, string][] = Object.entries(input.headers ?? {}).map(([k, v]) => [k, String(v)]);
  const data = input.data === undefined ? undefined : Buffer.from(input.data, 'latin1');
  const has = (n: string): boolean => headers.some(([k]) => k.toLowerCase() === n);
  if (input.autocomplete_headers !== false) {
    if (data && !has('content-length') && !has('transfer-encoding')) headers.push(['Content-Length', String(data.length)]);
    // go-ftw completes a body without a type as a form, as a browser would send it
    if (data && data.length > 0 && !has('content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
    if (!has('connection')) headers.push(['Connection', 'close']);
  }
  const hostIndex = headers.findIndex(([k]) => k.toLowerCase() === 'host');
  void hostIndex;
  void port;
  const line = version === '' ? `${method} ${uri}` : `${method} ${uri} ${version}`;
  const head = `${line}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return data ? Buffer.concat([Buffer.from(head, 'latin1'), data]) : Buffer.from(head, 'latin1');
}

/** Writes the bytes, reads the answer until the gateway closes (or a second's quiet), returns its status and request id. */
export function exchange(port: number, bytes: Buffer, requestIdHeader = 'x-request-id'): Promise<{ status: number; requestId: string | undefined }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text)?.[1] ?? 0);
      const id = new RegExp(`\\r\\n${requestIdHeader}:\\s*([^\\r\\n]+)`, 'i').exec(text)?.[1]?.trim();
      resolve({ status, requestId: id });
    };
    socket.setTimeout(3000, finish);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // a complete response with Content-Length: done without waiting for the close
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end !== -1) {
        const len = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
        if (len && Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(len[1])) finish();
      }
    });
    socket.on('end', finish);
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(bytes);
  });
}

export interface StageResult {
  readonly stage: Stage;
  readonly pass: boolean;
  readonly matched: number[];
  readonly why: string;
}

export async function runStage(gw: TestGateway, events: TelemetryEvent[], stage: Stage): Promise<StageResult> {
  const { requestId, status } = await exchange(gw.port, requestBytes(stage.input, gw.port));
  await new Promise((r) => setTimeout(r, 2));
  const matched =
    requestId === undefined ? [] : events.filter((e) => e.type === 'waf.rule' && e.request?.id === requestId).map((e) => Number(e.details?.rule));
  const expect = stage.output.log?.expect_ids ?? [];
  const forbid = stage.output.log?.no_expect_ids ?? [];
  const missing = expect.filter((id) => !matched.includes(id));
  const unwanted = forbid.filter((id) => matched.includes(id));
  const pass = missing.length === 0 && unwanted.length === 0;
  return { stage, pass, matched, why: pass ? '' : `status ${status} missing ${missing.join(',')} unwanted ${unwanted.join(',')} (matched ${matched.join(',')})` };
}

export function loadOverrides(file: string): Override[] {
  const doc = parse(readFileSync(file, 'utf8')) as { test_overrides?: Override[] };
  return doc.test_overrides ?? [];
}

export function overridden(stage: Stage, overrides: readonly Override[]): Override | undefined {
  return overrides.find((o) => o.rule_id === stage.ruleId && (o.test_ids === undefined || o.test_ids.includes(stage.testId)));
}

/** The settings CRS's own CI runs its regression suite with (tests/regression/README.md). */
export const CRS_TEST_SETUP = `SecAction "id:900005,phase:1,nolog,pass,ctl:ruleEngine=DetectionOnly,ctl:ruleRemoveById=910000,setvar:tx.blocking_paranoia_level=4,setvar:tx.crs_validate_utf8_encoding=1,setvar:tx.arg_name_length=100,setvar:tx.arg_length=400,setvar:tx.total_arg_length=64000,setvar:tx.max_num_args=255,setvar:tx.max_file_size=64100,setvar:tx.combined_file_sizes=65535"
SecRule REQUEST_HEADERS:X-CRS-Test "@rx ^.*$" "id:999999,phase:1,pass,t:none,log,msg:'X-CRS-Test %{MATCHED_VAR}'"
`;
