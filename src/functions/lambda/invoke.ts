/**
 * A service of type aws-lambda: the route's last step invokes the Lambda
 * function (the Invoke API, POST /2015-03-31/functions/NAME/invocations,
 * signed with SigV4 by aws4) with the API Gateway proxy event, and answers
 * with its proxy response. A function error (X-Amz-Function-Error), an
 * answer that is no proxy response, or an unreachable endpoint is 502
 * function_failed; past the timeout, 504 function_timeout; each with a
 * function.failed event.
 */
import aws4 from 'aws4';
import { request } from 'undici';
import type { LambdaConfig } from '../../config/functions.js';
import { parseDuration, parseSize } from '../../config/units.js';
import type { PlacedStep } from '../../pipeline/build.js';
import type { RequestContext } from '../../pipeline/context.js';
import { deny, replyWithBody, type Deny } from '../../pipeline/decision.js';
import { credentialSource, CredentialsError, type CredentialSource } from './credentials.js';
import { answerOf, eventV1, eventV2 } from './events.js';

/** The most of a Lambda's answer read (Lambda's own response limit is 6 MB; base64 and JSON add a third). */
const MAX_PAYLOAD = 9 * 1024 * 1024;

export class LambdaInvoker {
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly maxBody: number;
  private readonly credentials: CredentialSource;
  /** Failed invocations in a row, and while unhealthy when one call may try again (as a function's health, runtime.ts). */
  private failuresInRow = 0;
  private unhealthyUntil = 0;
  private trialInFlight = false;

  constructor(
    readonly service: string,
    private readonly config: LambdaConfig,
    env: NodeJS.ProcessEnv,
  ) {
    const endpoint = config.endpoint ?? `https://lambda.${config.region}.amazonaws.com`;
    this.url = new URL(`/2015-03-31/functions/${encodeURIComponent(config.function_name)}/invocations`, endpoint);
    this.timeoutMs = parseDuration(config.timeout);
    this.maxBody = parseSize(config.max_body);
    this.credentials = credentialSource(config, env, this.timeoutMs);
  }

  step(): PlacedStep {
    return {
      name: `aws-lambda:${this.service}`,
      phase: 'transform',
      monitor: false,
      failOpen: false,
      instance: {
        onRequest: (ctx) => (ctx.hasBody ? ctx.readBody(this.maxBody).then((body) => this.guarded(ctx, body)) : this.guarded(ctx, undefined)),
      },
    };
  }

  private failed(reason: 'crash' | 'wall' | 'bad_result', message: string): Deny {
    return deny(reason === 'wall' ? 'function_timeout' : 'function_failed', {
      event: { type: 'function.failed', severity: 'medium', reason, message: message.slice(0, 200), data: { function: this.service } },
    });
  }

  /** The invocation, unless the service is marked unhealthy; failures in a row mark it so. */
  private async guarded(ctx: RequestContext, body: Buffer | undefined): Promise<Deny> {
    let trial = false;
    if (this.failuresInRow >= this.config.unhealthy_after) {
      if (Date.now() < this.unhealthyUntil || this.trialInFlight) {
        return deny('function_unavailable', {
          event: { type: 'function.failed', severity: 'medium', reason: 'unhealthy', message: 'the Lambda service is marked unhealthy', data: { function: this.service } },
        });
      }
      trial = this.trialInFlight = true;
    }
    try {
      const answer = await this.invoke(ctx, body);
      if (answer.reply) this.failuresInRow = 0;
      else if (++this.failuresInRow >= this.config.unhealthy_after) this.unhealthyUntil = Date.now() + parseDuration(this.config.cooldown);
      return answer;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }

  async invoke(ctx: RequestContext, body: Buffer | undefined): Promise<Deny> {
    const event = this.config.payload === 'v1' ? eventV1(ctx, body, '$default') : eventV2(ctx, body, '$default');
    const payload = JSON.stringify(event);
    let creds;
    try {
      creds = await this.credentials.get();
    } catch (err) {
      return this.failed('crash', err instanceof CredentialsError ? err.message : 'AWS credentials could not be had');
    }
    const signed = aws4.sign(
      {
        host: this.url.host,
        path: this.url.pathname,
        method: 'POST',
        service: 'lambda',
        region: this.config.region,
        headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
        body: payload,
      },
      creds,
    );
    let res;
    try {
      res = await request(this.url, { method: 'POST', headers: signed.headers as Record<string, string>, body: payload, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const name = (err as Error).name;
      return name === 'TimeoutError' || name === 'AbortError' ? this.failed('wall', 'the Lambda invocation did not answer in time') : this.failed('crash', `the Lambda endpoint could not be reached: ${(err as Error).message}`);
    }
    let text: string;
    try {
      text = await readLimited(res.body, MAX_PAYLOAD);
    } catch (err) {
      return this.failed((err as Error).name === 'TimeoutError' ? 'wall' : 'bad_result', (err as Error).message);
    }
    if (res.statusCode !== 200) return this.failed('crash', `the Invoke API answered ${res.statusCode}${awsError(text)}`);
    const functionError = res.headers['x-amz-function-error'];
    if (functionError) return this.failed('crash', `the Lambda function failed (${String(functionError)})${awsError(text)}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.failed('bad_result', 'the Lambda function answered something else than JSON');
    }
    const answer = answerOf(parsed, this.config.payload);
    if (typeof answer === 'string') return this.failed('bad_result', answer);
    return replyWithBody(answer.status, 'function_answer', answer.headers, answer.body);
  }
}

function awsError(text: string): string {
  try {
    const e = JSON.parse(text) as { errorType?: unknown; Type?: unknown; message?: unknown };
    const type = typeof e.errorType === 'string' ? e.errorType : typeof e.Type === 'string' ? e.Type : undefined;
    return type ? `: ${type.slice(0, 64)}` : '';
  } catch {
    return '';
  }
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new Error(`the Lambda answer is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
