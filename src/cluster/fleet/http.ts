/** The few HTTP pieces both ends share: a bounded body reader and the data plane's client calls. */
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { checkControlPlane } from './protocol.js';

/** Reads a whole body, refusing (and dropping the connection) past `limit` bytes. */
export function readBody(stream: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error(`body larger than ${limit} bytes`));
        stream.destroy();
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
    stream.on('aborted', () => reject(new Error('aborted')));
  });
}

export interface ClientTls {
  /** The fleet CA: the control plane must chain to it. */
  readonly ca: string;
  /** The node's certificate and key; none while enrolling. */
  readonly cert?: string;
  readonly key?: string;
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

/** A keep-alive agent that trusts only the fleet CA and only the control plane's certificate. */
export function fleetAgent(tls: ClientTls): Agent {
  return new Agent({
    keepAlive: true,
    maxSockets: 4,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.3',
    checkServerIdentity: checkControlPlane,
  });
}

/** One call to the control plane: bounded in time (`timeoutMs`, the whole exchange) and in size. */
export function call(
  agent: Agent,
  base: URL,
  method: 'GET' | 'POST',
  path: string,
  options: { headers?: Record<string, string>; body?: string; timeoutMs: number; limit: number },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        protocol: 'https:',
        hostname: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port || 443,
        method,
        path,
        headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      },
      (res) => {
        readBody(res, options.limit).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer from the control plane within ${options.timeoutMs} ms`)), options.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(options.body);
  });
}
