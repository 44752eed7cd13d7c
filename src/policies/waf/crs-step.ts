/**
 * The waf's CRS engine on a request: phase 1 on the head, the body read
 * (bounded, decoded when gzip/deflate/br, refused when encoded otherwise or
 * not as declared), phase 2, then one `waf.rule` event per logged match and,
 * when the rules decided so, the refusal as a `waf.crs` event.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { RequestContext } from '../../pipeline/context.js';
import { deny, type Deny } from '../../pipeline/decision.js';
import { CrsTransaction, processBody, type RuleMatch, type RuleSet } from './crs/index.js';
import type { RequestData } from './crs/transaction.js';
import { redactSample } from './sample.js';

export interface CrsStepOptions {
  readonly ruleSet: RuleSet;
  readonly status: number;
  readonly paranoia: number;
  readonly threshold: number;
  readonly maxBody: number;
  readonly maxArgs: number;
  readonly maxDepth: number;
  /** The policy's step name in events. */
  readonly policy: string;
  /** The response rules run too: the transaction is kept for them (crs-response.ts). */
  readonly responses?: boolean;
}

/** Each request's transaction, for its response phases (only when the response rules run). */
export const transactions = new WeakMap<RequestContext, CrsTransaction>();

function requestData(ctx: RequestContext): RequestData {
  const wire = ctx.wire;
  const headers: [string, string][] = [];
  if (wire) {
    for (let i = 0; i + 1 < wire.rawHeaders.length; i += 2) headers.push([wire.rawHeaders[i]!, wire.rawHeaders[i + 1]!]);
  } else {
    for (const [name, value] of Object.entries(ctx.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.push([name, v]);
      else if (value !== undefined) headers.push([name, value]);
    }
  }
  const target = wire?.target ?? (ctx.query === '' ? ctx.path : `${ctx.path}?${ctx.query}`);
  return {
    method: ctx.method,
    target,
    protocol: `HTTP/${wire?.version ?? '1.1'}`,
    headers,
    remoteAddr: ctx.clientIp,
    remotePort: wire?.remotePort ?? 0,
    serverPort: wire?.localPort ?? 0,
    uniqueId: ctx.id,
  };
}

const MAX_TAGS = 240;

function tagList(tags: readonly string[]): string {
  const s = tags.join(',');
  return s.length > MAX_TAGS ? s.slice(0, MAX_TAGS) : s;
}

function score(tx: CrsTransaction, outbound: boolean): number {
  if (outbound) return Number(tx.vars.get('blocking_outbound_anomaly_score') ?? 0) || 0;
  return Number(tx.vars.get('blocking_inbound_anomaly_score') ?? tx.vars.get('inbound_anomaly_score_pl1') ?? 0) || 0;
}

/** The bytes as they are sent utf-8 to a reader: a sample reads as text, not as latin1 mojibake. */
function readable(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** One waf.rule event per match from `from` on, and the refusal when the rules interrupted. */
export function report(ctx: RequestContext, tx: CrsTransaction, o: CrsStepOptions, from = 0, outbound = false): Deny | undefined {
  const total = score(tx, outbound);
  for (let i = from; i < tx.matches.length; i++) {
    const m = tx.matches[i]!;
    ctx.observe(o.policy, {
      type: 'waf.rule',
      message: m.msg === '' ? `CRS rule ${m.id} matched` : `${m.id}: ${m.msg}`,
      data: {
        rule: String(m.id),
        msg: m.msg,
        tags: tagList(m.tags),
        rule_paranoia: m.paranoia,
        paranoia: o.paranoia,
        severity_level: m.severity,
        target: m.variable,
        sample: redactSample(readable(m.data), m.variable),
        score: total,
        threshold: o.threshold,
      },
    });
  }
  const stop = tx.interruption;
  if (!stop) return undefined;
  const own = tx.matches.slice(from);
  // the rule that scored, not the blocking evaluation (949xxx, 959xxx) that added the scores up
  const scored = own.filter((m) => m.id < 949000 || (m.id >= 950000 && m.id < 959000));
  const top: RuleMatch | undefined = scored[0] ?? own[0];
  return deny('request_blocked', {
    status: o.status,
    event: {
      type: 'waf.crs',
      message: top ? `${top.id}: ${top.msg}`.slice(0, 200) : `CRS rule ${stop.id} refused the request`,
      data: {
        rule: String(top?.id ?? stop.id),
        msg: top?.msg,
        tags: top ? tagList(top.tags) : undefined,
        rules: own.map((m) => m.id).join(',').slice(0, 256),
        rule_paranoia: top?.paranoia,
        paranoia: o.paranoia,
        score: total,
        threshold: o.threshold,
        target: top?.variable,
        sample: top ? redactSample(readable(top.data), top.variable) : undefined,
      },
    },
  });
}

function refuseUnreadable(ctx: RequestContext, o: CrsStepOptions, why: string): Deny {
  return deny('request_blocked', {
    status: o.status,
    event: { type: 'waf.crs', message: why, data: { rule: 'body-encoding', paranoia: o.paranoia, threshold: o.threshold, target: 'REQUEST_BODY' } },
  });
}

/** gzip, deflate and br are decoded (bounded) so the rules see what the upstream will; anything else cannot be inspected. */
function decode(body: Buffer, encoding: string, limit: number): Buffer | string {
  const codings = encoding.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'identity');
  let out = body;
  try {
    for (const c of codings.reverse()) {
      if (c === 'gzip' || c === 'x-gzip') out = gunzipSync(out, { maxOutputLength: limit });
      else if (c === 'deflate') out = inflateSync(out, { maxOutputLength: limit });
      else if (c === 'br') out = brotliDecompressSync(out, { maxOutputLength: limit });
      else return `a body encoded ${c} cannot be inspected`;
    }
  } catch {
    return `the body is not the ${encoding} it is declared to be, or inflates past ${limit} bytes`;
  }
  return out;
}

export function runCrs(ctx: RequestContext, o: CrsStepOptions): Deny | undefined | Promise<Deny | undefined> {
  const tx = new CrsTransaction(o.ruleSet, requestData(ctx));
  if (o.responses === true) transactions.set(ctx, tx);
  tx.runPhase(1);
  if (tx.interruption || !ctx.hasBody) {
    if (!tx.interruption) tx.runPhase(2);
    return report(ctx, tx, o);
  }
  const limits = { maxArgs: o.maxArgs, maxDepth: o.maxDepth };
  return ctx.readBody(o.maxBody).then((raw) => {
    const encoding = ctx.header('content-encoding');
    let body = raw;
    if (encoding !== undefined && encoding.trim() !== '' && raw.length > 0) {
      const decoded = decode(raw, encoding, o.maxBody);
      if (typeof decoded === 'string') {
        report(ctx, tx, o);
        return refuseUnreadable(ctx, o, decoded);
      }
      body = decoded;
    }
    processBody(tx, body, ctx.header('content-type') ?? '', limits);
    tx.runPhase(2);
    return report(ctx, tx, o);
  });
}
