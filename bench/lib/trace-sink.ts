/**
 * An OTLP/HTTP receiver for `--tracing RATIO`: answers every export with 200
 * and counts what arrived. It runs in the bench runner's process, so its CPU
 * is not charged to Portcullis; the gateway's own export work (serializing,
 * sending) is.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Supervisor } from './processes.js';

export async function startTraceSink(supervisor: Supervisor): Promise<{ url: string }> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    requests++;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  supervisor.onCleanup(() => {
    process.stderr.write(`bench: the OTLP sink received ${requests} export requests, ${Math.round(bytes / 1024)} KiB\n`);
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces` };
}
