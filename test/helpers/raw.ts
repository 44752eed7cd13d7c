/** Raw socket exchanges, for requests no HTTP client library would send. */
import { connect } from 'node:net';

export interface RawResult {
  /** Everything the server sent. */
  text: string;
  /** The first status code in the reply, 0 when there was none. */
  status: number;
  /** Did the server close the connection? */
  closed: boolean;
}

/** Writes `payload` and collects the reply until the server closes, `waitMs` passes after the last byte, or no byte came in `firstByteMs`. */
export function rawExchange(port: number, payload: string | Buffer, waitMs = 500, firstByteMs = 10_000): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : 0, closed });
    };
    // The first byte may be slow on a loaded machine; after it, `waitMs` of quiet ends the exchange.
    let timer = setTimeout(done, firstByteMs);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, waitMs);
    });
    socket.on('end', () => {
      closed = true;
      done();
    });
    socket.on('close', () => {
      closed = true;
      done();
    });
    socket.on('error', () => {
      closed = true;
      done();
    });
    socket.write(typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);
  });
}

/** Counts HTTP responses in a raw reply. */
export function countResponses(text: string): number {
  return (text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length;
}
