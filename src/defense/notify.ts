/**
 * Notifications of defense actions: webhooks signed with HMAC-SHA256 (the
 * receiver checks them with verifyWebhookSignature or the recipe in
 * docs/defense.md) and email through an SMTP relay (nodemailer). Sent off
 * the request path, a bounded number at once, each with a timeout; a
 * failure is a `defense.notify_failed` event, never a retry storm. Syslog and
 * SIEMs get every action as a `defense.*` event through the event sinks.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { request } from 'undici';
import type { DefenseConfig } from '../config/defense.js';
import { parseDuration } from '../config/units.js';

export const SIGNATURE_HEADER = 'x-portcullis-signature';
/** A receiver refuses a signature older than this (replay). */
export const SIGNATURE_TOLERANCE_S = 300;
const MAX_IN_FLIGHT = 16;

export interface Notification {
  /** What this JSON is, and its version. */
  readonly schema: 'portcullis.defense.notification/1';
  readonly time: string;
  readonly node: string;
  readonly detection: string;
  readonly mode: 'enforce' | 'monitor';
  readonly key_kind: string;
  readonly key: string;
  readonly count: number;
  readonly window: string;
  readonly actions: ReadonlyArray<{ id: string; kind: string; scope: string; target: string; expires_at: string; strike?: number }>;
}

/** A webhook body: the notification and its delivery id (unique per POST, signed with the body: a receiver refuses it twice). */
export interface WebhookDelivery extends Notification {
  readonly delivery: string;
}

const DELIVERY = /^[0-9a-f]{32}$/;

/** The header value for `body` sent at `time` (unix seconds). */
export function signWebhook(secret: string, body: string, time: number): string {
  return `t=${time},v1=${createHmac('sha256', secret).update(`${time}.${body}`).digest('hex')}`;
}

/**
 * The delivery ids a receiver has accepted, each remembered until its
 * timestamp leaves the tolerance (after that the time check refuses it
 * anyway). Bounded: when `max` ids are remembered and none has expired, a
 * new delivery is refused (`full`) rather than an id forgotten early — only
 * deliveries whose signature verified are remembered, so only the gateways
 * holding the secret can fill it (at most max_actions_per_minute a minute
 * each).
 */
export class SeenDeliveries {
  /** id → the unix second after which it is forgotten; insertion order is about time order. */
  private readonly ids = new Map<string, number>();

  constructor(readonly max = 100_000) {}

  get size(): number {
    return this.ids.size;
  }

  /** Records `id` until `untilS`; 'seen' when it is remembered already, 'full' when there is no room. */
  claim(id: string, untilS: number, nowS: number): 'new' | 'seen' | 'full' {
    const until = this.ids.get(id);
    if (until !== undefined && until >= nowS) return 'seen';
    this.forget(nowS, false);
    if (this.ids.size >= this.max) this.forget(nowS, true);
    if (this.ids.size >= this.max) return 'full';
    this.ids.delete(id);
    this.ids.set(id, untilS);
    return 'new';
  }

  /** Drops expired ids: the oldest first, stopping at the first live one unless `all`. */
  private forget(nowS: number, all: boolean): void {
    for (const [id, until] of this.ids) {
      if (until < nowS) this.ids.delete(id);
      else if (!all) return;
    }
  }
}

export type WebhookVerdict =
  | { readonly ok: true; readonly delivery: string | undefined }
  | { readonly ok: false; readonly reason: 'malformed' | 'stale' | 'bad_signature' | 'no_delivery_id' | 'replayed' | 'full' };

/**
 * What a receiver runs: the header signs this body with this secret, within
 * SIGNATURE_TOLERANCE_S of `now`; with `seen`, the body's signed delivery id
 * was not accepted before (a replay inside the time window is refused).
 */
export function verifyWebhook(secret: string, body: string, header: string | undefined, options: { now?: number; seen?: SeenDeliveries } = {}): WebhookVerdict {
  const nowS = options.now ?? Math.floor(Date.now() / 1000);
  if (header === undefined || header.length > 512) return { ok: false, reason: 'malformed' };
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  const v1 = parts.v1;
  if (!Number.isSafeInteger(t) || typeof v1 !== 'string' || !/^[0-9a-f]{64}$/.test(v1)) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowS - t) > SIGNATURE_TOLERANCE_S) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  if (!timingSafeEqual(expected, Buffer.from(v1))) return { ok: false, reason: 'bad_signature' };
  let delivery: unknown;
  try {
    delivery = (JSON.parse(body) as { delivery?: unknown }).delivery;
  } catch {
    delivery = undefined;
  }
  const id = typeof delivery === 'string' && DELIVERY.test(delivery) ? delivery : undefined;
  if (options.seen === undefined) return { ok: true, delivery: id };
  if (id === undefined) return { ok: false, reason: 'no_delivery_id' };
  const claimed = options.seen.claim(id, t + SIGNATURE_TOLERANCE_S, nowS);
  return claimed === 'new' ? { ok: true, delivery: id } : { ok: false, reason: claimed === 'seen' ? 'replayed' : 'full' };
}

/** verifyWebhook as a yes or no. `options`: the clock (unix seconds) or { now, seen }. */
export function verifyWebhookSignature(secret: string, body: string, header: string | undefined, options: number | { now?: number; seen?: SeenDeliveries } = {}): boolean {
  return verifyWebhook(secret, body, header, typeof options === 'number' ? { now: options } : options).ok;
}

type Failed = (notifier: string, error: string) => void;

export class Notifiers {
  private inFlight = 0;
  private readonly webhooks = new Map<string, DefenseConfig['notifiers']['webhooks'][number]>();
  private readonly email = new Map<string, DefenseConfig['notifiers']['email'][number]>();

  constructor(private readonly failed: Failed) {}

  configure(config: DefenseConfig['notifiers']): void {
    this.webhooks.clear();
    this.email.clear();
    for (const w of config.webhooks) this.webhooks.set(w.name, w);
    for (const e of config.email) this.email.set(e.name, e);
  }

  send(target: { webhook?: string; email?: string }, note: Notification): void {
    if (target.webhook !== undefined) this.run(target.webhook, () => this.webhook(target.webhook!, note));
    if (target.email !== undefined) this.run(target.email, () => this.mail(target.email!, note));
  }

  private run(name: string, send: () => Promise<void>): void {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.failed(name, `more than ${MAX_IN_FLIGHT} notifications in flight: this one is dropped`);
      return;
    }
    this.inFlight++;
    send()
      .catch((err: unknown) => this.failed(name, err instanceof Error ? err.message : String(err)))
      .finally(() => this.inFlight--);
  }

  private async webhook(name: string, note: Notification): Promise<void> {
    const w = this.webhooks.get(name);
    if (!w) throw new Error('no such webhook');
    const { schema, ...rest } = note;
    const delivery: WebhookDelivery = { schema, delivery: randomBytes(16).toString('hex'), ...rest };
    const body = JSON.stringify(delivery);
    const timeout = parseDuration(w.timeout);
    const res = await request(w.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(w.secret, body, Math.floor(Date.now() / 1000)) },
      body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout),
    });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`the receiver answered ${res.statusCode}`);
  }

  private async mail(name: string, note: Notification): Promise<void> {
    const e = this.email.get(name);
    if (!e) throw new Error('no such email notifier');
    const { createTransport } = await import('nodemailer');
    const url = new URL(e.smtp);
    const timeout = parseDuration(e.timeout);
    const secure = url.protocol === 'smtps:';
    const transport = createTransport({
      host: url.hostname,
      port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
      secure,
      requireTLS: !secure && e.require_tls,
      auth: e.username !== undefined ? { user: e.username, pass: e.password ?? '' } : undefined,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
    try {
      const actions = note.actions.map((a) => `- ${a.kind} ${a.scope} ${a.target} until ${a.expires_at}${a.strike ? ` (strike ${a.strike})` : ''}`).join('\n');
      await transport.sendMail({
        from: e.from,
        to: e.to,
        subject: `[portcullis] ${note.mode === 'monitor' ? 'would act' : 'acted'}: ${note.detection} on ${note.key_kind} ${note.key}`,
        text: `${note.detection} (${note.mode}) on ${note.key_kind} ${note.key}: ${note.count} within ${note.window}, seen by ${note.node} at ${note.time}.\n\n${actions || '(no action)'}\n`,
      });
    } finally {
      transport.close();
    }
  }
}
