/**
 * A WebSocket tunnel once the 101 is sent: the client and upstream
 * connections spliced, bytes counted both ways, both closed together.
 */
import type { Duplex } from 'node:stream';
import type { ExchangeContext, Tunnel } from './contract.js';

/** `closed` runs once, when either side closes or fails. */
export function splice(ctx: ExchangeContext, tunnel: Tunnel, upstreamSocket: Duplex, closed: () => void): void {
  const client = tunnel.socket;
  if (tunnel.head.length > 0) upstreamSocket.write(tunnel.head);
  let done = false;
  const close = (): void => {
    if (done) return;
    done = true;
    client.destroy();
    upstreamSocket.destroy();
    closed();
  };
  client.on('error', close).on('close', close);
  upstreamSocket.on('error', close).on('close', close);
  client.on('data', (chunk: Buffer) => {
    ctx.bytesReceived += chunk.length;
  });
  upstreamSocket.on('data', (chunk: Buffer) => {
    ctx.bytesSent += chunk.length;
  });
  client.pipe(upstreamSocket);
  upstreamSocket.pipe(client);
}
