/**
 * The client sockets of open WebSocket tunnels: once upgraded, the HTTP
 * server no longer tracks them, so a graceful shutdown cuts them from here.
 * The splice itself is upstream/tunnel.ts; the 101 head, server/respond.ts.
 */
import type { Duplex } from 'node:stream';

export type { Tunnel } from '../upstream/contract.js';

export class OpenTunnels {
  private readonly sockets = new Set<Duplex>();

  track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Cuts every tunnel still open (the end of a graceful shutdown). */
  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
