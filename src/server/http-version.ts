/**
 * Which HTTP version a request came over, and what that means for its body.
 * Apart from h2.ts so that framing checks and the handler can ask without
 * importing the HTTP/2 server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/**
 * Did this request come over HTTP/2? Asked of the object, not of the version
 * alone: llhttp accepts "GET / HTTP/2.0" on an HTTP/1.1 connection.
 */
export function isHttp2(req: { httpVersionMajor: number }): boolean {
  return req.httpVersionMajor === 2 && 'stream' in req;
}

/**
 * Does an HTTP/2 request carry a body? It has no Transfer-Encoding; a request
 * without Content-Length has one unless END_STREAM came with its headers.
 */
export function http2HasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
}

/**
 * Was an HTTP/2 response sent whole? Node's compatibility response says
 * `writableFinished` (and emits 'finish') for a stream the client reset
 * before any answer; `finished` is set only once the handler ended the
 * response, and `aborted` when the stream was reset before that end.
 */
export function http2ResponseCompleted(res: ServerResponse): boolean {
  const h2 = res as unknown as Http2ServerResponse;
  return h2.finished && !h2.stream.aborted;
}
