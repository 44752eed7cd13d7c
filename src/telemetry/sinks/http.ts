/**
 * HTTP batches: a POST per batch, to Splunk's HTTP Event Collector, an
 * Elasticsearch _bulk endpoint, or any receiver of JSON lines. A 2xx answer
 * is the confirmation; anything else (a wrong token's 401/403, a 503, a
 * timeout) fails the batch, which is retried and waits in the spool.
 *
 * Elasticsearch: each record is a `create` with an id derived from its
 * content, so a batch retried after a lost answer never indexes a record
 * twice (the repeat gets 409, which counts as delivered); a 200 whose items
 * hold other errors fails the whole batch, safely retried for the same reason.
 * Splunk HEC has no such id: a batch whose answer is lost is sent again.
 *
 * Tokens and header values are secrets: they go in headers only, and no error
 * message or log line repeats a request header.
 */
import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import type { ConnectionOptions } from 'node:tls';
import type { SinkRecord } from '../formats/record.js';
import type { Formatter } from '../formats/record.js';
import type { Transport } from './delivery.js';

export type HttpPreset = 'splunk-hec' | 'elasticsearch-bulk' | 'json-lines';

export interface HttpOptions {
  readonly url: string;
  readonly preset: HttpPreset;
  readonly token?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly tls?: ConnectionOptions;
}

/** Answers are read up to this much (an error body is logged in part, a bulk answer parsed). */
const MAX_ANSWER = 4 * 1024 * 1024;

/**
 * One unit per record, ready for its preset: a HEC event object, an
 * Elasticsearch document, or the line itself. Formats that write JSON are
 * embedded as JSON; CEF lines become a string field.
 */
export function httpEncoder(format: Formatter, formatName: string, preset: HttpPreset, node: string, index: string | undefined): (record: SinkRecord) => string {
  const json = formatName !== 'cef';
  return (record) => {
    const line = format(record);
    const time = record.stream === 'events' ? record.event.time : record.access.time;
    if (preset === 'splunk-hec') {
      const meta = `"time":${Date.parse(time) / 1000},"host":${JSON.stringify(node)},"source":"portcullis","sourcetype":"portcullis:${record.stream}:${formatName}"${index ? `,"index":${JSON.stringify(index)}` : ''}`;
      return `{${meta},"event":${json ? line : JSON.stringify(line)}}`;
    }
    if (preset === 'elasticsearch-bulk') return json ? line : JSON.stringify({ '@timestamp': time, message: line });
    return line;
  };
}

export class HttpTransport implements Transport {
  private readonly agent: Agent;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly options: HttpOptions,
    private readonly index: string,
  ) {
    this.agent = new Agent({ connect: { ...options.tls, timeout: options.timeoutMs }, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
    const auth = options.token === undefined ? undefined : options.preset === 'splunk-hec' ? `Splunk ${options.token}` : options.preset === 'elasticsearch-bulk' ? `ApiKey ${options.token}` : `Bearer ${options.token}`;
    this.headers = {
      'content-type': options.preset === 'splunk-hec' ? 'application/json' : 'application/x-ndjson',
      ...(auth ? { authorization: auth } : {}),
      ...options.headers,
    };
  }

  private body(units: readonly string[]): string {
    if (this.options.preset === 'splunk-hec') return units.join('\n');
    if (this.options.preset === 'json-lines') return units.join('\n') + '\n';
    let body = '';
    for (const doc of units) {
      const id = createHash('sha256').update(doc).digest('base64url').slice(0, 32);
      body += `{"create":{"_index":${JSON.stringify(this.index)},"_id":"${id}"}}\n${doc}\n`;
    }
    return body;
  }

  async send(units: readonly string[]): Promise<void> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    const res = await request(this.options.url, { method: 'POST', headers: this.headers, body: this.body(units), dispatcher: this.agent, signal });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= MAX_ANSWER) chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`${this.options.url} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    if (this.options.preset === 'elasticsearch-bulk') checkBulkAnswer(text);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** A _bulk 200 may still hold failed items: 409 (already created by an earlier try) is fine, anything else fails the batch. */
function checkBulkAnswer(text: string): void {
  let answer: { errors?: boolean; items?: Array<Record<string, { status?: number; error?: { type?: string; reason?: string } }>> };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new Error('the _bulk answer is not JSON');
  }
  if (!answer.errors) return;
  for (const item of answer.items ?? []) {
    const result = Object.values(item)[0];
    if (result?.status !== undefined && result.status !== 409 && (result.status < 200 || result.status > 299)) {
      throw new Error(`_bulk item failed: ${result.status} ${result.error?.type ?? ''} ${(result.error?.reason ?? '').slice(0, 200)}`);
    }
  }
}
