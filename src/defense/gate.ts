/**
 * Where the actions in force meet requests (server/handler.ts calls it):
 * - screen, before routing: a blocked address gets 403 ip_forbidden on
 *   every route and on paths no route serves; an address under `require`
 *   gets its 429 or must show a verified client certificate.
 * - admit, once the route's pipeline let the request through (the consumer
 *   is known): suspensions, tightened limits and requirements on the
 *   address, the consumer or the credential.
 * - ended, when the request is over: what the detections count.
 * With no `defense` section every step is one boolean test; with one and
 * nothing in force, a size test per step; a request no detection could
 * count costs a set lookup (bench/defense.ts measures it).
 */
import type { RequestContext } from '../pipeline/context.js';
import { deny, type Deny } from '../pipeline/decision.js';
import type { WindowDecision } from '../stores/store.js';
import type { Stores, WindowCounter } from '../stores/stores.js';
import type { DefenseAction } from './actions.js';
import { canonicalAddress, type DynamicDenyList } from './deny-list.js';
import type { DefenseEngine } from './engine.js';

/** The refusal types of the defense itself: such a request feeds no detection (no loop of bans on bans). */
const OWN = new Set(['ip.dynamically_denied', 'defense.refused']);

export class DefenseGate {
  /** Per tighten action: its window counter (made on first use). */
  private readonly counters = new Map<string, { stores: Stores; counter: WindowCounter }>();

  constructor(
    private readonly engine: DefenseEngine,
    private readonly denyList: DynamicDenyList,
    private readonly stores: () => Stores | undefined,
  ) {}

  screen(ctx: RequestContext): Deny | undefined {
    if (!this.engine.enabled) return undefined;
    const ip = ctx.clientIp;
    if (this.denyList.size > 0 && this.denyList.has(ip) && !this.engine.allowlistedIp(ip)) {
      return deny('ip_forbidden', { event: { type: 'ip.dynamically_denied', severity: 'medium', message: 'the client address is blocked by automatic defense', data: { ip } } });
    }
    if (this.engine.ledger.scopedCount === 0) return undefined;
    const required = this.findIp(ip, 'require');
    return required ? this.requirement(ctx, required) : undefined;
  }

  admit(ctx: RequestContext): Deny | undefined | Promise<Deny | undefined> {
    if (!this.engine.enabled || this.engine.ledger.scopedCount === 0) return undefined;
    const ledger = this.engine.ledger;
    const consumer = ctx.consumer?.name;
    const credential = ctx.credentialId;
    if (this.engine.allowlistedConsumer(consumer)) return undefined;
    const suspended = (consumer !== undefined && ledger.find('consumer', consumer, 'suspend')) || (credential !== undefined && ledger.find('credential', credential, 'suspend'));
    if (suspended) return refuse('access_suspended', 'suspended', suspended, 'suspended by automatic defense');
    const required =
      (consumer !== undefined && ledger.find('consumer', consumer, 'require')) || (credential !== undefined && ledger.find('credential', credential, 'require'));
    if (required) {
      const refusal = this.requirement(ctx, required);
      if (refusal) return refusal;
    }
    const tightened =
      this.findIp(ctx.clientIp, 'tighten') ||
      (consumer !== undefined && ledger.find('consumer', consumer, 'tighten')) ||
      (credential !== undefined && ledger.find('credential', credential, 'tighten'));
    if (!tightened) return undefined;
    const counter = this.counterFor(tightened);
    if (!counter) return undefined;
    let decision: WindowDecision | Promise<WindowDecision>;
    try {
      decision = counter.hit(tightened.target);
    } catch {
      return undefined; // the store is full or away: the tighter limit fails open, the action's other effects stay
    }
    const judge = (d: WindowDecision) =>
      d.allowed
        ? undefined
        : refuse('rate_limited', 'tightened', tightened, 'a tighter limit set by automatic defense', { 'retry-after': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) });
    return decision instanceof Promise ? decision.then(judge, () => undefined) : judge(decision);
  }

  ended(ctx: RequestContext, status: number): void {
    const engine = this.engine;
    const events = ctx.events;
    if (!engine.wants(status, events !== undefined)) return;
    let types: string[] = [];
    if (events !== undefined) {
      for (const e of events) {
        if (OWN.has(e.type)) return;
        if (e.action === 'blocked') types.push(e.type);
      }
    } else {
      types = [];
    }
    engine.observe({
      clientIp: ctx.clientIp,
      consumer: ctx.consumer?.name,
      credential: ctx.credentialId,
      attempted: ctx.attemptedCredential,
      route: ctx.routeName,
      path: ctx.path,
      status,
      events: types,
    });
  }

  /** An ip-scoped action on the address (any spelling) or on its source, the IPv6 network detections count it as. */
  private findIp(ip: string, kind: 'require' | 'tighten'): DefenseAction | undefined {
    const ledger = this.engine.ledger;
    if (!ledger.hasScope('ip')) return undefined;
    const address = canonicalAddress(ip);
    if (address === undefined) return undefined;
    const exact = ledger.find('ip', address, kind);
    if (exact || !address.includes(':')) return exact;
    const source = this.engine.sourceOf(address);
    return source !== undefined && source !== address ? ledger.find('ip', source, kind) : undefined;
  }

  private requirement(ctx: RequestContext, action: DefenseAction): Deny | undefined {
    if (action.policy === 'mtls') {
      if (ctx.clientCertificate?.verified === true) return undefined;
      return refuse('client_certificate_required', 'mtls_required', action, 'a verified client certificate is required for now');
    }
    const seconds = Math.max(1, Math.ceil((action.expiresAt - Date.now()) / 1000));
    return refuse('rate_limited', 'retry_later', action, 'asked to retry later by automatic defense', { 'retry-after': String(seconds) });
  }

  private counterFor(action: DefenseAction): WindowCounter | undefined {
    const stores = this.stores();
    if (!stores || action.limit === undefined || action.perMs === undefined) return undefined;
    const held = this.counters.get(action.id);
    if (held && held.stores === stores) return held.counter;
    if (this.counters.size > 1000) this.counters.clear();
    const counter = stores.windows(`defense-tighten:${action.id}`, [{ limit: action.limit, windowMs: action.perMs }], true);
    this.counters.set(action.id, { stores, counter });
    return counter;
  }
}

function refuse(code: 'access_suspended' | 'rate_limited' | 'client_certificate_required', reason: string, action: DefenseAction, message: string, headers?: Record<string, string>): Deny {
  return deny(code, { headers, event: { type: 'defense.refused', severity: 'medium', reason, message, data: { id: action.id, scope: action.scope } } });
}
