/**
 * Which HTTP/2 streams started upstream work: the rapid-reset accounting
 * (src/server/h2.ts) lets only a stream the upstream served pay for a reset,
 * never an answer the gateway gave itself (a 401, a 404, a preflight), which
 * costs the client as little as it costs the gateway.
 */
const UPSTREAM_WORK = new WeakSet<object>();

/** The request's upstream exchange has started; `res` is the handler's response (over HTTP/2, it has the stream). */
export function noteUpstreamWork(res: object): void {
  const stream = (res as { stream?: unknown }).stream;
  if (typeof stream === 'object' && stream !== null) UPSTREAM_WORK.add(stream);
}

export function startedUpstreamWork(stream: object): boolean {
  return UPSTREAM_WORK.has(stream);
}
