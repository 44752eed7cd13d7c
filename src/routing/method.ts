/**
 * The request method, checked in one place for HTTP/1.1 and HTTP/2 before
 * the router sees it.
 *
 * RFC 9110 §9.1: a method is a token and is case-sensitive; the standard
 * methods are upper case. llhttp (HTTP/1.1) only parses its list of upper-case
 * methods, but HTTP/2's `:method` is whatever the client sent: `post` came
 * through, missed a route restricted to `POST` (the router compares methods as
 * they are, as the RFC says), fell to a public route, and reached an upstream
 * that upper-cases methods itself (Werkzeug/Flask, Rack, PHP) as a POST.
 *
 * Refused rather than upper-cased: a method with a lower-case letter is 400 on
 * both HTTP versions. Upper-casing would change the request for upstreams that
 * do read methods case-sensitively (Go, Node), and would make HTTP/2 accept
 * what HTTP/1.1 refuses. Config methods are upper case (`^[A-Z]+$`), so a
 * method that passes here is compared, routed and forwarded as one string that
 * every upstream reads the same way.
 */

/** The methods llhttp and nghttp2 clients send; the fast path is one Set lookup. */
const KNOWN = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'PURGE', 'QUERY',
]);

/** RFC 9110 §5.6.2 tchar, without the lower-case letters. */
const UPPER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/;

/** The longest method accepted: llhttp's longest is 11 (MKACTIVITY); nothing needs more than this. */
const MAX_LENGTH = 32;

/**
 * The method as the gateway routes and forwards it, or undefined when it must
 * be refused (400): empty, too long, not a token, or with a lower-case letter.
 */
export function checkMethod(method: string | undefined): string | undefined {
  if (method === undefined) return undefined;
  if (KNOWN.has(method)) return method;
  return method.length <= MAX_LENGTH && UPPER_TOKEN.test(method) ? method : undefined;
}
