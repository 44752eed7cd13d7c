/** Starts a real gateway on port 0 from YAML text, capturing its log lines. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from 'undici';
import { isMap, parseDocument } from 'yaml';
import { Gateway, type ReloadResult } from '../../src/gateway.js';

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface TestGateway {
  gateway: Gateway;
  /** The first listener's base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  configFile: string;
  logs: LogLine[];
  /** Access log lines only. */
  accessLogs(): LogLine[];
  /** Rewrites the config file and reloads. */
  reload(yaml: string): Promise<ReloadResult>;
  /** Waits until a log line matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  close(): Promise<void>;
}

class LineCapture extends Writable {
  readonly lines: LogLine[] = [];
  private partial = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    const text = this.partial + chunk.toString();
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const part of parts) if (part) this.lines.push(JSON.parse(part) as LogLine);
    done();
  }
}

export function writeConfig(yaml: string, dir = mkdtempSync(join(tmpdir(), 'portcullis-test-'))): string {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, yaml);
  return file;
}

/**
 * The gateways of the suite share one process and one event loop, which no
 * gateway does in production: a synchronous stall in one file's test (an RSA
 * key generated with openssl, a big scan) was lag to every gateway running
 * beside it, and they shed requests their tests never asked about. So a test
 * gateway sheds on event-loop lag only when its test sets
 * max_event_loop_delay (test/e2e/overload.test.ts does); max_in_flight and
 * everything else stay as written. The line numbers of what the test wrote
 * are kept (the setting is appended, or set in place when a gateway section
 * exists), so config errors still point where the test expects.
 */
export function withoutLagShedding(yaml: string): string {
  if (yaml.includes('max_event_loop_delay')) return yaml;
  const doc = parseDocument(yaml);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return yaml;
  if (!doc.has('gateway')) return `${yaml}\ngateway: { limits: { max_event_loop_delay: 0s } }\n`;
  if (!isMap(doc.get('gateway')) || (doc.hasIn(['gateway', 'limits']) && !isMap(doc.getIn(['gateway', 'limits'])))) return yaml;
  doc.setIn(['gateway', 'limits', 'max_event_loop_delay'], '0s');
  return doc.toString();
}

export async function startGateway(yaml: string, options: { env?: NodeJS.ProcessEnv; dir?: string; logLevel?: string } = {}): Promise<TestGateway> {
  const configFile = writeConfig(withoutLagShedding(yaml), options.dir);
  const capture = new LineCapture();
  const gateway = await Gateway.start({ configFile, logDestination: capture, env: options.env ?? process.env, ...(options.logLevel ? { logLevel: options.logLevel } : {}) });
  const url = gateway.url();
  const port = Number(new URL(url).port);
  return {
    gateway,
    url,
    port,
    configFile,
    logs: capture.lines,
    accessLogs: () => capture.lines.filter((l) => l.type === 'access'),
    async reload(next: string) {
      writeFileSync(configFile, withoutLagShedding(next));
      return gateway.reload();
    },
    async waitForLog(match, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = capture.lines.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error('log line not seen in time');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => gateway.shutdown(),
  };
}

export interface SimpleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = any>(): T;
}

/**
 * Sends one request with the path exactly as given (no URL normalization on
 * the client side, unlike fetch).
 */
export async function send(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<SimpleResponse> {
  const client = new Client(base);
  try {
    const res = await client.request({
      path,
      method: (options.method ?? 'GET'),
      headers: options.headers,
      body: options.body,
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      text,
      json: () => JSON.parse(text),
    };
  } finally {
    await client.close();
  }
}
