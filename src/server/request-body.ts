/**
 * The request body as policies see it (pipeline/context.ts BodySource), and
 * the 100-continue handshake.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError } from '../errors.js';
import type { BodySource } from '../pipeline/context.js';
import { http2HasBody } from './http-version.js';

/**
 * The request body, for a policy that must read it whole (bounded), and the
 * 100-continue handshake: a client that asked to wait is told to send its
 * body only once the pipeline has let the request through (or a policy needs it).
 */
export class RequestBody implements BodySource {
  private continued = false;
  readonly present: boolean;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    h2: boolean,
  ) {
    const length = req.headers['content-length'];
    this.present = h2 ? http2HasBody(req) : req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  }

  get expectsContinue(): boolean {
    return this.req.headers.expect?.toLowerCase() === '100-continue';
  }

  sendContinue(): void {
    if (this.continued || !this.expectsContinue) return;
    this.continued = true;
    this.res.writeContinue();
  }

  read(limit: number): Promise<Buffer> {
    const req = this.req;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return Promise.reject(new BodyTooLargeError(limit));
    this.sendContinue();
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.pause();
          reject(new BodyTooLargeError(limit));
          return;
        }
        chunks.push(chunk);
      });
      req.once('end', () => resolve(Buffer.concat(chunks, size)));
      req.once('error', reject);
      req.once('aborted', () => reject(new Error('client aborted the request body')));
    });
  }
}
