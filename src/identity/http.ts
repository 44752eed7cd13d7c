/**
 * Calls to identity providers (JWKS, discovery, introspection, token
 * endpoint): bounded in time and size, JSON only, and over https unless the
 * provider is on this machine's loopback or its config says `allow_http`.
 * Each call goes through its provider's link (provider-link.ts: CA bundle,
 * outbound proxy). A provider that does not answer is a
 * DependencyUnavailableError, which the policy's fail mode handles.
 */
import { request } from 'undici';
import type { ProviderLink } from './provider-link.js';
import { ConfigError } from '../config/errors.js';
import { DependencyUnavailableError } from '../errors.js';

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface CallOptions {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  /** An application/x-www-form-urlencoded body. */
  readonly form?: URLSearchParams;
  readonly timeoutMs: number;
  readonly maxBytes?: number;
  /** Named in errors and logs: "JWKS", "introspection endpoint". */
  readonly what: string;
  /** The provider's CA bundle and proxy; without it, undici's global dispatcher (tests of this file only). */
  readonly link?: ProviderLink;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

export async function callJson(url: string, options: CallOptions): Promise<JsonResponse> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  let body: string | undefined;
  if (options.form) {
    body = options.form.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  let text: string;
  let status: number;
  try {
    const res = await request(url, {
      method: options.method ?? 'GET',
      headers,
      body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: AbortSignal.timeout(options.timeoutMs),
      ...(options.link ? { dispatcher: options.link.dispatcher } : {}),
    });
    status = res.statusCode;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new Error(`the ${options.what} answered with more than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
    text = Buffer.concat(chunks, size).toString('utf8');
  } catch (err) {
    throw new DependencyUnavailableError(options.what, { cause: err });
  }
  if (status >= 500) throw new DependencyUnavailableError(options.what, { cause: new Error(`HTTP ${status}`) });
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    if (status < 300) throw new DependencyUnavailableError(options.what, { cause: new Error('the answer is not JSON') });
  }
  return { status, body: parsed };
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

export function isLoopback(url: URL): boolean {
  return LOOPBACK.has(url.hostname);
}

/**
 * Checks a provider URL (from the config, or a provider's metadata): https,
 * or http to loopback (tests, sidecars), or http anywhere when the provider's
 * config says `allow_http: true` (warned at load by the caller).
 */
export function checkProviderUrl(text: string, path: ReadonlyArray<string | number>, allowHttp = false): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`expected an absolute URL, got ${JSON.stringify(text)}`, path);
  }
  if (url.username || url.password) throw new ConfigError('credentials do not belong in the URL', path);
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && (allowHttp || LOOPBACK.has(url.hostname))) return url;
  throw new ConfigError('identity provider URLs must be https (http is allowed to 127.0.0.1, [::1] or localhost, and elsewhere only with "allow_http: true")', path);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
