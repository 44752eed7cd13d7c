/**
 * CRS's response phases (waf.response.enabled): the request's transaction
 * carries on with the upstream's status, headers and the first bytes of its
 * body (decoded when gzip/deflate/br, as far as those bytes go), phases 3, 4
 * and 5 run, every match is a waf.rule event, and when the rules refuse
 * (959100: the outbound anomaly score reached its threshold) the client gets
 * a 502 in place of the response. Mode monitor only reports (the pipeline
 * records the refusal as monitored and lets the response through).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { brotliDecompressSync, constants, gunzipSync, inflateSync } from 'node:zlib';
import type { RequestContext } from '../../pipeline/context.js';
import type { Deny } from '../../pipeline/decision.js';
import type { ResponseInspector } from '../../pipeline/policy.js';
import type { CrsTransaction } from './crs/index.js';
import { report, transactions, type CrsStepOptions } from './crs-step.js';

export interface CrsResponseOptions {
  readonly bodyLimit: number;
  /** Media types (lowercase, no parameters) whose body the rules read; "text/*" style wildcards allowed. */
  readonly contentTypes: readonly string[];
  readonly threshold: number;
}

function mediaType(headers: OutgoingHttpHeaders): string {
  const value = headers['content-type'];
  const text = Array.isArray(value) ? value[0] : value;
  return String(text ?? '').split(';')[0]!.trim().toLowerCase();
}

function readable(type: string, allowed: readonly string[]): boolean {
  for (const a of allowed) {
    if (a === type) return true;
    if (a.endsWith('/*') && type.startsWith(a.slice(0, -1))) return true;
  }
  return false;
}

/** The body's start decoded as far as its bytes go (a prefix of a compressed stream decodes partly), bounded by `limit`. */
function decoded(body: Buffer, encoding: string, limit: number): Buffer | undefined {
  const codings = encoding.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'identity');
  let out = body;
  try {
    for (const c of codings.reverse()) {
      if (c === 'gzip' || c === 'x-gzip') out = gunzipSync(out, { maxOutputLength: limit, finishFlush: constants.Z_SYNC_FLUSH });
      else if (c === 'deflate') out = inflateSync(out, { maxOutputLength: limit, finishFlush: constants.Z_SYNC_FLUSH });
      else if (c === 'br') out = brotliDecompressSync(out, { maxOutputLength: limit, finishFlush: constants.BROTLI_OPERATION_FLUSH });
      else return undefined;
    }
  } catch {
    // more than `limit` decoded, or not what it claims: the rules read nothing of the body
    return undefined;
  }
  return out;
}

function headerPairs(headers: OutgoingHttpHeaders): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, String(v)]);
  }
  return out;
}

function run(ctx: RequestContext, tx: CrsTransaction, o: CrsStepOptions, r: CrsResponseOptions, status: number, headers: OutgoingHttpHeaders, body: Buffer): Deny | undefined {
  const from = tx.matches.length;
  // the request went on although its rules refused it (mode monitor): the response is still inspected
  tx.interruption = undefined;
  const encoding = headers['content-encoding'];
  const text = body.length === 0 || encoding === undefined ? body : decoded(body, String(encoding), r.bodyLimit);
  // The rules skip a compressed body (ModSecurity reads it as sent); read decoded, it is shown to them as
  // ModSecurity's SecDisableBackendCompression would have it: without its Content-Encoding.
  const shown = text !== undefined && text !== body;
  for (const [name, value] of headerPairs(headers)) if (!(shown && name === 'content-encoding')) tx.responseHeaders.add(name, value);
  const s = tx.scalars;
  const protocol = s.get('REQUEST_PROTOCOL') ?? 'HTTP/1.1';
  s.set('RESPONSE_STATUS', String(status));
  s.set('RESPONSE_PROTOCOL', protocol);
  s.set('STATUS_LINE', `${protocol} ${status}`);
  s.set('RESPONSE_CONTENT_TYPE', String(headers['content-type'] ?? ''));
  s.set('RESPONSE_CONTENT_LENGTH', String(headers['content-length'] ?? ''));
  // bytes as latin1, as the request's: the rules' byte patterns match as on ModSecurity
  s.set('RESPONSE_BODY', text === undefined ? '' : text.subarray(0, r.bodyLimit).toString('latin1'));
  tx.responseRead();
  tx.runPhase(3);
  tx.runPhase(4);
  const refusal = report(ctx, tx, { ...o, threshold: r.threshold }, from, true);
  // phase 5 (correlation, reporting) only logs: after a refusal too, as in ModSecurity
  const logged = tx.matches.length;
  tx.interruption = undefined;
  tx.runPhase(5);
  if (tx.matches.length > logged) report(ctx, tx, o, logged, true);
  if (!refusal) return undefined;
  return { ...refusal, status: 502, code: 'bad_gateway', message: 'The upstream response was withheld by a security rule.' };
}

/** The policy's inspectResponse: undefined when the request's rules did not run (refused before, or another route). */
export function crsResponseInspector(ctx: RequestContext, o: CrsStepOptions, r: CrsResponseOptions): ResponseInspector | undefined {
  const tx = transactions.get(ctx);
  if (!tx) return undefined;
  transactions.delete(ctx);
  const type = mediaType(ctx.response.headers);
  const limit = ctx.method === 'HEAD' || !readable(type, r.contentTypes) ? 0 : r.bodyLimit;
  return {
    limit,
    inspect: (status, headers, body) => run(ctx, tx, o, r, status, headers, limit === 0 ? Buffer.alloc(0) : body),
  };
}
