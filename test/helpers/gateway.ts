/** Starts a real gateway on port 0 from YAML text, capturing its log lines. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from 'undici';
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

export async function startGateway(yaml: string, options: { env?: NodeJS.ProcessEnv; dir?: string } = {}): Promise<TestGateway> {
  const configFile = writeConfig(yaml, options.dir);
  const capture = new LineCapture();
  const gateway = await Gateway.start({ configFile, logDestination: capture, env: options.env ?? process.env });
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
      writeFileSync(configFile, next);
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
