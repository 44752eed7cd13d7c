/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1 that decodes what arrives with
 * the OpenTelemetry project's own protobuf definitions: the static module
 * generated from opentelemetry-proto that @opentelemetry/otlp-transformer
 * shipped (installed as the dev dependency otlp-proto-root, a version from
 * before the exporter's hand-written encoder, so the gateway's exporter is
 * checked against the official schema, not against itself).
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

interface Decoder {
  decode(bytes: Uint8Array): unknown;
}
const root = createRequire(import.meta.url)('otlp-proto-root/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: Decoder } } } } };
};
const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

type AttributeValue = string | number | boolean | undefined;

interface RawAnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: number | { toString(): string } | null;
  doubleValue?: number | null;
}
interface RawKeyValue {
  key: string;
  value?: RawAnyValue | null;
}
interface RawSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId?: Uint8Array | null;
  name: string;
  kind: number;
  attributes?: RawKeyValue[];
  status?: { code?: number } | null;
}
interface RawRequest {
  resourceSpans?: { resource?: { attributes?: RawKeyValue[] } | null; scopeSpans?: { spans?: RawSpan[] }[] }[];
}

/** One span as it arrived, ids in hex. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's enum: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, AttributeValue>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  resource: Record<string, AttributeValue>;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Export requests received (each a batch), whatever their answer. */
  requests: number;
  /** The status the receiver answers with (200 unless a test changes it). */
  answer: number;
  /** Headers of the last export request. */
  lastHeaders: IncomingMessage['headers'] | undefined;
  waitFor(match: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
export { SPAN_KIND };

function hex(bytes: Uint8Array | null | undefined): string {
  return bytes ? Buffer.from(bytes).toString('hex') : '';
}

function attributesOf(list: RawKeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) {
    if (!value) continue;
    if (value.stringValue != null) out[key] = value.stringValue;
    else if (value.boolValue != null) out[key] = value.boolValue;
    else if (value.intValue != null) out[key] = Number(value.intValue.toString());
    else if (value.doubleValue != null) out[key] = value.doubleValue;
  }
  return out;
}

function decode(body: Buffer): ReceivedSpan[] {
  const request = ExportTraceServiceRequest.decode(body) as RawRequest;
  const spans: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind,
          attributes: attributesOf(s.attributes),
          statusCode: s.status?.code ?? 0,
          resource,
        });
      }
    }
  }
  return spans;
}

/** `tls`: serve https with this certificate, and ask for a client certificate chaining to `ca`. */
export async function startOtlpReceiver(tls?: { cert: string; key: string; ca: string }): Promise<OtlpReceiver> {
  const receiver: Omit<OtlpReceiver, 'url' | 'close'> = {
    spans: [],
    requests: 0,
    answer: 200,
    lastHeaders: undefined,
    async waitFor(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!match(receiver.spans)) {
        if (Date.now() > deadline) throw new Error(`spans not received in time (${receiver.spans.length} so far)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  const handler: RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.requests++;
      receiver.lastHeaders = req.headers;
      if (req.method !== 'POST' || req.url !== '/v1/traces' || req.headers['content-type'] !== 'application/x-protobuf') {
        res.writeHead(404).end();
        return;
      }
      if (receiver.answer !== 200) {
        res.writeHead(receiver.answer).end();
        return;
      }
      receiver.spans.push(...decode(Buffer.concat(chunks)));
      // An empty ExportTraceServiceResponse: zero bytes of protobuf.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  };
  const server: Server = tls ? createHttpsServer({ ...tls, requestCert: true, rejectUnauthorized: true }, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(receiver, {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/v1/traces`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as OtlpReceiver;
}
