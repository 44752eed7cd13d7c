/**
 * request-size: bounds on what a request may carry, per route. A declared
 * Content-Length over max_body is refused before anything is read; a chunked
 * body is counted while it streams and the upstream exchange is aborted the
 * moment it passes max_body (the client gets 413 if the response has not
 * started), so the upstream never receives the body whole. Policies that
 * read the body into memory are bounded by max_body too.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { type RequestContext } from '../../pipeline/context.js';
import { deny } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { parseSize } from '../../config/units.js';
import { RequestSizeSchema } from './schema.js';
import { BodyTooLargeError } from '../../errors.js';

class BodyCounter extends Transform {
  private seen = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) done(new BodyTooLargeError(this.limit));
    else done(null, chunk);
  }
}

export default definePolicy({
  name: 'request-size',
  phase: 'screen',
  description: 'Bounds body size (declared or streamed), URL length, query parameters, header count and size.',
  config: RequestSizeSchema,
  compile(config) {
    const maxBody = parseSize(config.max_body);
    const maxUrl = config.max_url_length !== undefined ? parseSize(config.max_url_length) : Infinity;
    const maxParams = config.max_query_params ?? Infinity;
    const maxHeaders = config.max_headers ?? Infinity;
    const maxHeaderSize = config.max_header_size !== undefined ? parseSize(config.max_header_size) : Infinity;
    const tooLarge = deny('payload_too_large', { event: { type: 'request.body_too_large', message: `over ${maxBody} bytes`, data: { limit: maxBody } } });
    const limit = (n: number) => (n === Infinity ? undefined : n);
    const uriTooLong = deny('uri_too_long', { event: { type: 'request.uri_too_long', data: { limit: limit(maxUrl) } } });
    const tooManyParams = deny('query_too_complex', { event: { type: 'request.too_many_query_params', data: { limit: limit(maxParams) } } });
    const tooManyHeaders = deny('too_many_headers', { event: { type: 'request.too_many_headers', data: { limit: limit(maxHeaders) } } });
    const headersTooLarge = deny('headers_too_large', { event: { type: 'request.headers_too_large', data: { limit: limit(maxHeaderSize) } } });
    const checkHeaders = maxHeaders !== Infinity || maxHeaderSize !== Infinity;

    return {
      onRequest(ctx) {
        const declared = ctx.header('content-length');
        if (declared !== undefined && Number(declared) > maxBody) return tooLarge;
        if (ctx.bufferedBody && ctx.bufferedBody.length > maxBody) return tooLarge;
        if (ctx.bodyLimit > maxBody) ctx.bodyLimit = maxBody;
        if (maxUrl !== Infinity && ctx.path.length + ctx.query.length + 1 > maxUrl) return uriTooLong;
        if (maxParams !== Infinity && countParams(ctx.query) > maxParams) return tooManyParams;
        if (checkHeaders) {
          let count = 0;
          let size = 0;
          for (const [name, value] of Object.entries(ctx.headers)) {
            if (value === undefined) continue;
            const values = Array.isArray(value) ? value : [value];
            count += values.length;
            for (const v of values) size += name.length + v.length + 4;
          }
          if (count > maxHeaders) return tooManyHeaders;
          if (size > maxHeaderSize) return headersTooLarge;
        }
        return undefined;
      },
      // Only a body without Content-Length needs counting: the parser holds a declared one to its length.
      requestBody: (ctx: RequestContext) => (ctx.header('content-length') === undefined ? new BodyCounter(maxBody) : undefined),
    };
  },
});

function countParams(query: string): number {
  if (query === '') return 0;
  let count = 0;
  let start = 0;
  for (;;) {
    const amp = query.indexOf('&', start);
    const end = amp === -1 ? query.length : amp;
    if (end > start) count++;
    if (amp === -1) return count;
    start = amp + 1;
  }
}
