/**
 * Gateway-wide bounds on a request head that Node's parser does not
 * enforce itself in the same way on every Node version: the request
 * target's length (414) and the number of header fields (431).
 */
import type { ErrorCode } from '../errors.js';
import type { IncomingMessage } from 'node:http';
import type { RuntimeSettings } from '../snapshot.js';

export function requestLimitProblem(
  req: IncomingMessage,
  settings: RuntimeSettings,
): { status: number; code: ErrorCode & ('uri_too_long' | 'too_many_headers'); limit: number } | undefined {
  if ((req.url?.length ?? 0) > settings.maxUrlLength) return { status: 414, code: 'uri_too_long', limit: settings.maxUrlLength };
  if (req.rawHeaders.length / 2 > settings.maxHeaderCount) return { status: 431, code: 'too_many_headers', limit: settings.maxHeaderCount };
  return undefined;
}

/**
 * The parser's own header-count limit (server.maxHeadersCount): none.
 * Node 20 only truncates req.headers past it (rawHeaders stays whole, and
 * the parser still acts on the fields it hid), while newer releases (seen on
 * 22.23.5 and 24.22.3) refuse the request in the parser with the same
 * HPE_HEADER_OVERFLOW as an oversized head, so a client would be told
 * headers_too_large instead of too_many_headers. The count is checked above,
 * the same way on every version; the parser still bounds the head by
 * max_header_size, which bounds the count too (a field takes at least 4 bytes).
 */
export const PARSER_MAX_HEADERS_COUNT = 0;
