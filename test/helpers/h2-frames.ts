/**
 * HTTP/2 written frame by frame, for what Node's client will not send: it
 * drops a stream closed in the same tick it was opened (neither HEADERS nor
 * RST_STREAM reach the wire), so a rapid-reset flood through it reaches the
 * server only in part, and less of it the busier the machine.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface RawH2 {
  readonly socket: TLSSocket;
  /** The server's GOAWAY error code, once one came. */
  goaway(): number | undefined;
  /** Resolves at the server's GOAWAY or when the connection closes. */
  readonly ended: Promise<void>;
  /** The connection is still usable for new streams. */
  usable(): boolean;
}

/** A TLS connection with ALPN h2, the client preface and an empty SETTINGS sent; the server's SETTINGS are acknowledged. */
export async function rawH2(url: string, ca: string): Promise<RawH2> {
  const { port } = new URL(url);
  const socket = tlsConnect({ host: '127.0.0.1', port: Number(port), ca, servername: 'localhost', ALPNProtocols: ['h2'] });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  let goaway: number | undefined;
  let inbound = Buffer.alloc(0);
  const ended = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      inbound = Buffer.concat([inbound, chunk]);
      while (inbound.length >= 9) {
        const length = inbound.readUIntBE(0, 3);
        if (inbound.length < 9 + length) break;
        const type = inbound[3];
        if (type === 0x7 && goaway === undefined) goaway = inbound.readUInt32BE(9 + 4); // GOAWAY: last stream id, error code
        if (type === 0x4 && (inbound[4]! & 1) === 0 && !socket.destroyed) socket.write(frame(0x4, 1, 0, Buffer.alloc(0))); // SETTINGS ack
        inbound = inbound.subarray(9 + length);
      }
      if (goaway !== undefined) resolve();
    });
    socket.once('close', () => resolve());
  });
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(0x4, 0, 0, Buffer.alloc(0))]));
  return { socket, goaway: () => goaway, ended, usable: () => goaway === undefined && !socket.destroyed && socket.writable };
}

/** HEADERS (END_STREAM) for GET https://localhost{path} then RST_STREAM(code), as one buffer: one write. */
export function headersAndReset(stream: number, path: string, code = 0x8 /* CANCEL */): Buffer {
  return Buffer.concat([frame(0x1, 0x4 | 0x1, stream, requestBlock(path)), frame(0x3, 0, stream, u32(code))]);
}

/** One HTTP/2 frame (RFC 9113 §4.1). */
export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** GET https://localhost{path} as an HPACK block: static-table entries and literals without indexing (RFC 7541). */
function requestBlock(path: string): Buffer {
  if (path.length > 127) throw new Error('path too long for a one-byte HPACK length');
  const literal = (index: number, value: string) => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value)]);
  return Buffer.concat([Buffer.from([0x82, 0x87]), literal(0x01, 'localhost'), literal(0x04, path)]);
}
