/**
 * Gateway-wide bounds on a request head that Node's parser does not
 * enforce itself: the request target's length (414) and the number of
 * header fields (431; the parser is told to keep one more than the limit,
 * so going over is seen rather than silently truncated).
 */
import type { IncomingMessage } from 'node:http';
import type { RuntimeSettings } from '../config/compile.js';

export function requestLimitProblem(req: IncomingMessage, settings: RuntimeSettings): { status: number; code: string } | undefined {
  if ((req.url?.length ?? 0) > settings.maxUrlLength) return { status: 414, code: 'uri_too_long' };
  if (req.rawHeaders.length / 2 > settings.maxHeaderCount) return { status: 431, code: 'too_many_headers' };
  return undefined;
}

/** What Node's parser keeps: one header more than the limit. */
export function maxHeadersCountFor(settings: RuntimeSettings): number {
  return settings.maxHeaderCount + 1;
}
