/**
 * The `function` policy: a function as a hook in the transform phase.
 *
 * on: request — before the upstream: the function gets the Request (its body
 * only with `body: true`) and returns nothing (go on), a Request (its
 * headers, path and query replace what goes upstream) or a Response (the
 * answer; the upstream is not called).
 *
 * on: response — on the response head, whoever made it (the upstream, or a
 * refusal): the function gets a Response without its body and returns
 * nothing or a Response whose status and headers replace the head. The head
 * waits for the call (onResponseAsync: the function runs in its thread, the
 * route's heads take server/respond.ts's asynchronous path); such a function
 * gets no fetch or kv (a call that awaits one fails), and when it fails the
 * head is sent as it was, with a `function.failed` event. With `body: true`
 * it runs on the upstream's body instead, after the head is out (BodyRewrite).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { CommonPolicyFields } from '../config/types.js';
import { ConfigError } from '../config/errors.js';
import { definePolicy, type PolicyInstance } from '../pipeline/policy.js';
import type { RequestContext } from '../pipeline/context.js';
import type { Deny } from '../pipeline/decision.js';
import { callInfo, failure, replyOf } from './answer.js';
import { headerPairs, requestHead, responseHeaders, validStatus } from './http.js';
import { CompiledFunctions } from './registry.js';
import type { CallOutcome, FunctionRuntime } from './runtime.js';

const Settings = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'the function, by its name in `functions`' }),
    on: Type.Union([Type.Literal('request'), Type.Literal('response')], { default: 'request', description: 'request: before the upstream; response: on the response head' }),
    body: Type.Boolean({
      default: false,
      description:
        'on: request: hand the request body to the function (read into memory, at most the function\'s max_body); on: response: hand it the upstream\'s response body, whose bytes the body it returns replaces',
    }),
    ...CommonPolicyFields,
  },
  { additionalProperties: false },
);

interface RequestResult {
  kind: 'none' | 'request' | 'response';
  url?: string;
  status?: number;
  headers?: [string, string][];
}

export default definePolicy({
  name: 'function',
  phase: 'transform',
  description: 'Runs a function of `functions` (docs/functions.md) before the upstream, to change the request or answer it, or on the response head.',
  config: Settings,
  compile(config, deps): PolicyInstance {
    const table = deps.functions;
    const fn = table instanceof CompiledFunctions ? table.get(config.name) : undefined;
    if (!fn) {
      const known = table?.names ?? [];
      throw new ConfigError(`no function named "${config.name}"${known.length ? ` (functions: ${known.join(', ')})` : ''}`, ['name']);
    }
    if (config.on === 'response' && config.body) {
      return {
        ready: () => fn.ready(),
        // The body the function returns has another length: the upstream's Content-Length cannot stay.
        onResponse: (ctx) => {
          if (ctx.upstreamLatencyMs >= 0) delete ctx.response.headers['content-length'];
        },
        responseBody: (ctx) => new BodyRewrite(fn, ctx),
      };
    }
    if (config.on === 'response') return { ready: () => fn.ready(), onResponseAsync: (ctx) => onResponse(fn, ctx) };
    const readBody = config.body;
    return {
      ready: () => fn.ready(),
      onRequest: (ctx) =>
        readBody && ctx.hasBody ? ctx.readBody(fn.maxBody).then((body) => beforeUpstream(fn, ctx, body)) : beforeUpstream(fn, ctx, undefined),
    };
  },
});

async function beforeUpstream(fn: FunctionRuntime, ctx: RequestContext, body: Buffer | undefined): Promise<Deny | undefined> {
  const head = requestHead(ctx);
  const outcome = await fn.call('request', head, body, callInfo(ctx, fn));
  if (!outcome.ok) return failure(fn, outcome);
  const meta = JSON.parse(outcome.result.head) as RequestResult;
  if (meta.kind === 'none') return undefined;
  if (meta.kind === 'response') return replyOf(fn, meta, outcome.result.body);
  return applyRequest(fn, ctx, head, meta);
}

/** The hook's Request: header changes and a new path or query go upstream; another origin or method is refused. */
function applyRequest(fn: FunctionRuntime, ctx: RequestContext, before: ReturnType<typeof requestHead>, after: RequestResult): Deny | undefined {
  let url: URL;
  try {
    url = new URL(after.url ?? '');
  } catch {
    return failure(fn, { ok: false, reason: 'bad_result', message: 'the returned Request has no valid URL' });
  }
  if (url.origin !== new URL(before.url).origin) return failure(fn, { ok: false, reason: 'bad_result', message: 'a hook cannot send the request to another origin' });
  if (url.pathname !== ctx.path) ctx.upstreamPath = url.pathname;
  const query = url.search.replace(/^\?/, '');
  if (query !== ctx.query) ctx.upstreamQuery = query;
  const headers = responseHeaders(after.headers ?? []);
  if (typeof headers === 'string') return failure(fn, { ok: false, reason: 'bad_result', message: headers });
  const old = new Map<string, string[]>();
  for (const [k, v] of before.headers) old.set(k, [...(old.get(k) ?? []), v]);
  for (const name of old.keys()) if (!(name in headers)) ctx.removeUpstreamHeader(name);
  for (const [name, value] of Object.entries(headers)) {
    const values = (Array.isArray(value) ? value : [value]).map(String);
    const was = old.get(name);
    if (!was || was.join('\n') !== values.join('\n')) ctx.setUpstreamHeader(name, values.length === 1 ? values[0]! : values);
  }
  return undefined;
}

async function onResponse(fn: FunctionRuntime, ctx: RequestContext): Promise<void> {
  const response = ctx.response;
  const head = { status: response.status, headers: headerPairs(response.headers), requestId: ctx.id, route: ctx.routeName };
  const outcome = await fn.call('response', head, undefined, callInfo(ctx, fn), true);
  if (!outcome.ok) {
    ctx.recordEvent(`function:${fn.name}`, failure(fn, outcome), 'blocked');
    return;
  }
  const meta = JSON.parse(outcome.result.head) as RequestResult;
  if (meta.kind !== 'response') return;
  const headers = responseHeaders(meta.headers ?? []);
  if (!validStatus(meta.status) || typeof headers === 'string') {
    ctx.recordEvent(`function:${fn.name}`, failure(fn, { ok: false, reason: 'bad_result', message: typeof headers === 'string' ? headers : 'bad status' }), 'blocked');
    return;
  }
  // The framing the gateway set (the length of the body it is about to send) stays.
  for (const keep of ['content-length', 'transfer-encoding']) if (response.headers[keep] !== undefined) headers[keep] = response.headers[keep];
  response.status = meta.status;
  response.headers = headers;
}

/**
 * `on: response, body: true`: the upstream's body is gathered (at most the
 * function's max_body), handed to the function with the status and headers
 * already sent, and the body of the Response it returns goes to the client.
 * The head is out by then: a failure can only cut the response short (the
 * client sees an incomplete answer, never the unrewritten body).
 */
class BodyRewrite extends Transform {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly fn: FunctionRuntime,
    private readonly ctx: RequestContext,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.fn.maxBody) {
      this.fail({ ok: false, reason: 'too_large', message: `the response body is larger than the function's max_body (${this.fn.maxBody} bytes)` }, done);
      return;
    }
    this.chunks.push(chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    const ctx = this.ctx;
    const head = { status: ctx.response.status, headers: headerPairs(ctx.response.headers), requestId: ctx.id, route: ctx.routeName };
    this.fn.call('response', head, Buffer.concat(this.chunks), callInfo(ctx, this.fn)).then(
      (outcome) => {
        if (!outcome.ok) return this.fail(outcome, done);
        const meta = JSON.parse(outcome.result.head) as RequestResult;
        if (meta.kind === 'none') return done(null, Buffer.concat(this.chunks));
        if (meta.kind !== 'response') return this.fail({ ok: false, reason: 'bad_result', message: 'a response hook must return a Response or nothing' }, done);
        done(null, Buffer.from(outcome.result.body ?? new Uint8Array(0)));
      },
      (err: unknown) => this.fail({ ok: false, reason: 'crash', message: (err as Error).message }, done),
    );
  }

  private fail(outcome: Extract<CallOutcome, { ok: false }>, done: TransformCallback): void {
    this.ctx.recordEvent(`function:${this.fn.name}`, failure(this.fn, outcome), 'blocked');
    done(new Error(`function ${this.fn.name}: ${outcome.message}`));
  }
}
