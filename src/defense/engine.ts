/**
 * Automatic defense: the detections watch every finished request (a hook
 * where the request ends) and the gateway's connection-level events (the
 * event bus), count through the store, and when one crosses its threshold
 * for a key its playbook runs: blocks, suspensions, tighter limits,
 * requirements, notifications, in order, with durations that grow on repeat.
 * The actions go into the ledger (ledger.ts), which shares them with every
 * node; the gate (gate.ts) enforces them on the request path.
 *
 * Off the request path: a request that matches no detection costs a few
 * set lookups; one that does costs one store call, not awaited by anyone.
 */
import { BlockList, isIPv4 } from 'node:net';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { DefenseConfig, PlaybookConfig } from '../config/defense.js';
import { parseDuration } from '../config/units.js';
import type { EventBus, TelemetryEvent } from '../telemetry/event.js';
import { gatewayEvents, type EmitGatewayEvent } from '../telemetry/gateway-events.js';
import type { AuditTrail } from '../telemetry/audit/trail.js';
import type { Stores } from '../stores/stores.js';
import type { Awaitable } from '../stores/store.js';
import { canonicalAddress, type DynamicDenyList } from './deny-list.js';
import { canonicalBlockTarget, MAX_ACTION_MS, newActionId, parseAction, type ActionScope, type DefenseAction } from './actions.js';
import { compileDetection, keyOf, memberOf, type Detection, type Observation } from './detections.js';
import { ActionLedger, type LedgerChange } from './ledger.js';
import { Notifiers, type Notification } from './notify.js';
import { DEFAULT_IPV6_PREFIX, sourceBits, sourceOf } from './source.js';

const RATIO_FLUSH_MS = 1000;
const RATIO_LIMIT = 1e12;

export interface DefenseDeps {
  readonly stores: () => Stores | undefined;
  readonly denyList: DynamicDenyList;
  readonly events: EventBus;
  readonly audit: () => AuditTrail | undefined;
  readonly logger: Logger;
}

interface Playbook {
  readonly config: PlaybookConfig;
  readonly factor: number | undefined;
  readonly steps: readonly number[] | undefined;
  readonly maxMs: number;
  readonly resetMs: number;
  /** The shortest time any of its actions can last (before escalation; escalation steps count), when it has any. */
  readonly holdMs: number | undefined;
}

/** What an action is about: the request that triggered, and the key it counted under. */
interface Trigger {
  readonly detection: Detection;
  readonly key: string;
  readonly count: number;
  readonly observation: Observation;
}

export class DefenseEngine {
  readonly ledger: ActionLedger;
  private readonly emit: EmitGatewayEvent;
  private readonly notifiers: Notifiers;
  private detections: readonly Detection[] = [];
  private playbooks = new Map<string, Playbook>();
  private allowCidrs: BlockList | undefined;
  /** The first address of each allowlisted network, to tell whether a network block overlaps one. */
  private allowBases: Array<{ address: string; family: 'ipv4' | 'ipv6' }> = [];
  private allowConsumers = new Set<string>();
  /** Statuses some detection counts: a request with no refusal event and another status is skipped at once. */
  private statuses = new Set<number>();
  /** Some detection counts every request (ratios, `authenticated`): no early skip. */
  private everyRequest = false;
  private ratios = new Map<Detection, Map<string, { total: number; matched: number }>>();
  private ratioTimer: NodeJS.Timeout | undefined;
  private readonly node = randomBytes(6).toString('hex');
  private seq = 0;
  private actionBudget = { minute: 0, used: 0, max: 120 };
  private unsubscribeBus: (() => void) | undefined;
  /** An IPv6 client counts, and is acted on, as its network of this many bits (source.ts). */
  private ipv6Prefix = DEFAULT_IPV6_PREFIX;
  /** A `defense` section is configured: the gate enforces, the ledger runs. */
  enabled = false;

  constructor(private readonly deps: DefenseDeps) {
    this.emit = gatewayEvents(deps.events);
    this.notifiers = new Notifiers((notifier, error) =>
      this.emit({ type: 'defense.notify_failed', source: 'defense', message: `notification through ${notifier} failed`, details: { notifier, error } }),
    );
    this.ledger = new ActionLedger({ stores: deps.stores, denyList: deps.denyList, logger: deps.logger, report: (c) => this.reportChange(c) });
  }

  /** Applies `defense` (start and every reload); starts or stops the ledger's sync. */
  /** `baseDir`: the config file's folder, which a relative `state_file` is read from. */
  async configure(config: DefenseConfig | undefined, baseDir = process.cwd()): Promise<void> {
    const wasEnabled = this.enabled;
    this.enabled = config !== undefined;
    this.detections = (config?.detections ?? []).map(compileDetection);
    this.playbooks = new Map((config?.playbooks ?? []).map((p) => [p.name, compilePlaybook(p)]));
    this.allowCidrs = undefined;
    this.allowBases = [];
    if (config && config.allowlist.cidrs.length > 0) {
      const list = new BlockList();
      for (const cidr of config.allowlist.cidrs) {
        const base = addCidr(list, cidr);
        if (base) this.allowBases.push(base);
      }
      this.allowCidrs = list;
    }
    this.allowConsumers = new Set(config?.allowlist.consumers ?? []);
    this.statuses = new Set(this.detections.flatMap((d) => d.statusesWatched));
    this.everyRequest = this.detections.some((d) => d.counting.kind === 'ratio' || d.everyRequest);
    this.ratios = new Map(this.detections.filter((d) => d.counting.kind === 'ratio').map((d) => [d, new Map<string, { total: number; matched: number }>()]));
    this.notifiers.configure(config?.notifiers ?? { webhooks: [], email: [] });
    this.actionBudget.max = config?.max_actions_per_minute ?? 120;
    this.ipv6Prefix = config?.ipv6_prefix ?? DEFAULT_IPV6_PREFIX;
    this.ledger.maxActions = config?.max_actions ?? 10_000;
    this.ledger.resyncMs = config ? parseDuration(config.resync) : 5000;
    this.ledger.stateFile = config?.state_file !== undefined ? resolve(baseDir, config.state_file) : undefined;
    clearInterval(this.ratioTimer);
    this.ratioTimer = undefined;
    if (this.ratios.size > 0) {
      this.ratioTimer = setInterval(() => this.flushRatios(), RATIO_FLUSH_MS);
      this.ratioTimer.unref();
    }
    this.unsubscribeBus?.();
    this.unsubscribeBus = this.detections.length > 0 ? this.deps.events.subscribe((e) => this.onGatewayEvent(e)) : undefined;
    if (this.enabled && !wasEnabled) await this.ledger.start();
    if (!this.enabled && wasEnabled) this.ledger.stop();
  }

  stop(): void {
    clearInterval(this.ratioTimer);
    this.unsubscribeBus?.();
    this.ledger.stop();
  }

  get hasDetections(): boolean {
    return this.detections.length > 0;
  }

  /** Is this address on the allowlist? */
  allowlistedIp(ip: string): boolean {
    const list = this.allowCidrs;
    if (list === undefined) return false;
    const address = canonicalAddress(ip);
    return address !== undefined && list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }

  /** What an address counts as, and ip-scoped actions name: itself (IPv4), or its IPv6 network (`defense.ipv6_prefix`). */
  sourceOf(ip: string): string | undefined {
    return sourceOf(ip, this.ipv6Prefix);
  }

  allowlistedConsumer(name: string | undefined): boolean {
    return name !== undefined && this.allowConsumers.has(name);
  }

  /** Would blocking this address or network touch the allowlist? */
  blockTouchesAllowlist(target: string): boolean {
    const list = this.allowCidrs;
    if (list === undefined) return false;
    const [address = '', bits] = target.split('/');
    if (bits === undefined) return this.allowlistedIp(address);
    if (this.allowlistedIp(address)) return true;
    // A network that contains an allowlisted network's first address overlaps it.
    const network = new BlockList();
    network.addSubnet(address, Number(bits), isIPv4(address) ? 'ipv4' : 'ipv6');
    return this.allowBases.some((base) => network.check(base.address, base.family));
  }

  /**
   * An operator's action (the admin API, `portcullis defense ban`): checked
   * like one from outside (parseAction) and against the allowlist. Returns
   * the action, or why it was refused.
   */
  async ban(input: AdminBan, by: string): Promise<{ ok: true; action: DefenseAction } | { ok: false; status: number; error: string }> {
    if (!this.enabled) return { ok: false, status: 409, error: 'no defense section in the config: actions are off' };
    let durationMs: number;
    try {
      durationMs = parseDuration(input.duration ?? '1h');
    } catch {
      return { ok: false, status: 400, error: 'duration: like 30s, 10m, 1h, 7d' };
    }
    const now = Date.now();
    const kind = input.kind ?? 'block';
    const scope = kind === 'block' ? 'ip' : (input.scope ?? 'ip');
    const candidate = {
      id: newActionId(),
      kind,
      scope,
      target: input.target,
      createdAt: now,
      expiresAt: now + durationMs,
      by,
      reason: input.reason ?? `${kind} by ${by}`,
      limit: input.limit,
      perMs: input.per === undefined ? undefined : safeDuration(input.per),
      policy: input.policy,
    };
    const action = parseAction(candidate);
    if (typeof action === 'string') return { ok: false, status: 400, error: action };
    // The request path looks a tighten or require up by the client's address and its source network (source.ts): another width would never match.
    if (action.scope === 'ip' && action.kind !== 'block' && action.target.includes('/') && sourceBits(action.target) !== this.ipv6Prefix) {
      return { ok: false, status: 400, error: `target: one address, or an IPv6 network of defense.ipv6_prefix (/${this.ipv6Prefix}) bits` };
    }
    if (action.scope === 'ip' && this.blockTouchesAllowlist(action.target)) return { ok: false, status: 409, error: 'the target is on defense.allowlist: no action may touch it' };
    if (action.scope === 'consumer' && this.allowlistedConsumer(action.target)) return { ok: false, status: 409, error: 'the consumer is on defense.allowlist: no action may touch it' };
    // An operator's action is not held back by what detections filled max_actions with (decoys could fill it).
    if (!(await this.ledger.add(action, by, { operator: true }))) return { ok: false, status: 409, error: 'defense.max_actions are in force already, twice over' };
    return { ok: true, action };
  }

  /** Lifts by id, or every action on a target; the actions lifted. */
  async lift(what: { id?: string; target?: string }, by: string): Promise<DefenseAction[]> {
    const ids =
      what.id !== undefined
        ? [what.id]
        : this.ledger
            .list()
            .filter((a) => a.target === (canonicalBlockTarget(what.target ?? '') ?? what.target))
            .map((a) => a.id);
    const lifted: DefenseAction[] = [];
    for (const id of ids) {
      const a = await this.ledger.lift(id, by);
      if (a) lifted.push(a);
    }
    return lifted;
  }

  /** Counts a finished request. Never throws, never waits. */
  observe(o: Observation): void {
    let source: string | undefined | null = null; // computed once, by the first detection that needs it
    for (const d of this.detections) {
      if (d.counting.kind === 'ratio') {
        if (!d.watchesRoute(o)) continue;
        const perRoute = this.ratios.get(d)!;
        let cell = perRoute.get(o.route!);
        if (!cell) {
          if (perRoute.size >= 10_000) continue;
          perRoute.set(o.route!, (cell = { total: 0, matched: 0 }));
        }
        cell.total++;
        if (d.matches(o)) cell.matched++;
        continue;
      }
      if (!d.matches(o)) continue;
      if (source === null && (d.key === 'ip' || (d.counting.kind === 'distinct' && d.counting.of === 'ip'))) source = this.sourceOf(o.clientIp);
      const key = keyOf(d, o, source ?? undefined);
      if (key === undefined) continue;
      if (this.allowlistedConsumer(o.consumer) || (d.key === 'ip' && this.allowlistedIp(o.clientIp))) continue;
      this.count(d, key, o, source ?? undefined);
    }
  }

  /** The cheap test the request path runs first: could this request count at all? */
  wants(status: number, hasEvents: boolean): boolean {
    return this.detections.length > 0 && (hasEvents || this.everyRequest || this.statuses.has(status));
  }

  private count(d: Detection, key: string, o: Observation, source: string | undefined): void {
    const stores = this.deps.stores();
    if (!stores) return;
    const counter = stores.events(`defense-count:${d.name}`);
    const c = d.counting;
    let result: Awaitable<number>;
    try {
      if (c.kind === 'threshold') {
        result = counter.count(key, c.windowMs, c.count, `${this.node}:${++this.seq}`);
      } else if (c.kind === 'distinct') {
        const member = memberOf(c.of, o, source);
        if (member === undefined) return;
        result = counter.distinct(key, member, c.windowMs, Math.min(100_000, c.count * 2));
      } else {
        return;
      }
    } catch {
      return; // a full or failing store: counted once per incident by its health, nothing to do here
    }
    const judge = (n: number) => {
      if (n >= c.count) void this.trigger({ detection: d, key, count: n, observation: o });
    };
    if (typeof result === 'number') judge(result);
    else result.then(judge, () => {});
  }

  private flushRatios(): void {
    const stores = this.deps.stores();
    if (!stores) return;
    for (const [d, perRoute] of this.ratios) {
      const c = d.counting;
      if (c.kind !== 'ratio') continue;
      const cells = [...perRoute];
      perRoute.clear();
      for (const [route, cell] of cells) {
        const limits = [{ limit: RATIO_LIMIT, windowMs: c.windowMs }];
        const total = stores.windows(`defense-ratio:${d.name}:total`, limits, true);
        const matched = stores.windows(`defense-ratio:${d.name}:matched`, limits, true);
        // A flush with no matching request cannot raise the share: it only adds to the total.
        if (cell.matched === 0) {
          void Promise.resolve()
            .then(() => total.hit(route, cell.total, true))
            .catch(() => {});
          continue;
        }
        void Promise.resolve()
          // partial (never refused at RATIO_LIMIT): asked of the store every time, never admitted from a worker's
          // rate-limit lease (src/cluster/workers/lease-host.ts), whose `remaining` counts the whole lease as used
          // and misses other workers' hits since: one 401 in 21 read as 101 of 120 and paged on-call.
          .then(() => Promise.all([total.hit(route, cell.total, true), matched.hit(route, cell.matched, true)]))
          .then(([t, m]) => {
            const all = RATIO_LIMIT - (t.remaining[0] ?? RATIO_LIMIT);
            const hits = RATIO_LIMIT - (m.remaining[0] ?? RATIO_LIMIT);
            if (all >= c.minRequests && hits / all > c.above) {
              const o: Observation = { clientIp: '', consumer: undefined, credential: undefined, attempted: undefined, route, path: '', status: 0, events: [] };
              void this.trigger({ detection: d, key: route, count: Math.round((hits / all) * 1000), observation: o });
            }
          })
          .catch(() => {});
      }
    }
  }

  /** The connection-level events (no request): a parser refusal, a TLS failure, an HTTP/2 reset flood. */
  private onGatewayEvent(e: TelemetryEvent): void {
    if (e.request !== undefined || e.category === 'defense' || e.category === 'audit') return;
    const ip = e.details?.client_ip;
    if (typeof ip !== 'string') return;
    this.observe({ clientIp: ip, consumer: undefined, credential: undefined, attempted: undefined, route: undefined, path: '', status: 0, events: [e.type] });
  }

  private async trigger(t: Trigger): Promise<void> {
    const d = t.detection;
    const stores = this.deps.stores();
    const playbook = this.playbooks.get(d.playbook);
    if (!stores || !playbook) return;
    // One node acts per key: the first to claim it (the others counted the same events). The claim
    // lasts as long as the playbook's shortest action (the key is held by it meanwhile), or a window
    // when nothing holds it (monitor mode, notify only), so a key over its threshold does not notify
    // on every request.
    try {
      // Held while the shortest action can hold the key, and never past one window: an action skipped
      // (the budget spent, max_actions in force) or ended early (an escalation step shorter than the
      // duration) must not leave the key unwatched for the rest of a long duration. A key acted on
      // meanwhile is not acted on twice (one in force is not taken again).
      const holdMs = d.monitor ? d.counting.windowMs : Math.min(d.counting.windowMs, playbook.holdMs ?? d.counting.windowMs);
      const claim = await stores.secure.counter('defense-fired').add(`${d.name}\n${t.key}`, 1, 1, holdMs);
      if (!claim.allowed) return;
      // Counting starts afresh: a repeat after the action ends is a new crossing, and a new strike.
      if (d.counting.kind === 'threshold') await stores.events(`defense-count:${d.name}`).reset(t.key);
    } catch {
      return;
    }
    const threshold = d.counting.kind === 'ratio' ? Math.round(d.counting.above * 1000) : d.counting.count;
    this.emit({
      type: 'defense.detected',
      source: 'defense',
      action: d.monitor ? 'monitored' : 'observed',
      message: `${d.name}: ${d.key} ${t.key} crossed ${threshold} within ${d.window}${d.monitor ? ' (monitor mode: nothing done)' : ''}`,
      details: { detection: d.name, playbook: d.playbook, key_kind: d.key, key: t.key, count: t.count, threshold, window: d.window },
    });
    let strike = 1;
    if (playbook.factor !== undefined || playbook.steps !== undefined) {
      try {
        const counted = await stores.secure.counter('defense-strikes').add(`${d.playbook}\n${d.key}\n${t.key}`, 1_000_000, d.monitor ? 0 : 1, playbook.resetMs);
        strike = d.monitor ? counted.count + 1 : counted.count;
      } catch {
        strike = 1;
      }
    }
    const taken: DefenseAction[] = [];
    for (const step of playbook.config.actions) {
      if ('notify' in step) {
        if (d.monitor) continue;
        // Notifications spend the same budget as actions: crossings made on purpose must not flood the receivers.
        if (!this.spendBudget()) {
          this.skipped(d, 'notify', d.key, t.key, 'rate_limited');
          continue;
        }
        this.notifiers.send(step.notify, this.notification(t, taken));
        continue;
      }
      const action = this.actionFor(step, t, playbook, strike);
      if (action === undefined) continue;
      if (d.monitor) {
        taken.push(action);
        this.announce(action, 'monitored', `detection:${d.name}`, d.name);
        this.deps.audit()?.defense(auditFields('defense.monitor', action, `detection:${d.name}`));
        continue;
      }
      // In force already (a repeat crossing while it holds, another detection's): not taken twice.
      if (action.kind !== 'block' && this.ledger.find(action.scope, action.target, action.kind)) continue;
      if (!this.spendBudget()) {
        this.skipped(d, action.kind, action.scope, action.target, 'rate_limited');
        continue;
      }
      if (!(await this.ledger.add(action, `detection:${d.name}`))) {
        this.skipped(d, action.kind, action.scope, action.target, 'full');
        continue;
      }
      taken.push(action);
    }
  }

  private actionFor(step: PlaybookConfig['actions'][number], t: Trigger, playbook: Playbook, strike: number): DefenseAction | undefined {
    const d = t.detection;
    const o = t.observation;
    const now = Date.now();
    const base = { id: newActionId(), createdAt: now, by: `detection:${d.name}`, reason: `${d.name}: ${t.count} within ${d.window}`, strike };
    const until = (duration: string) => now + escalate(parseDuration(duration), strike, playbook);
    if (this.allowlistedConsumer(o.consumer)) {
      this.skipped(d, Object.keys(step)[0]!, 'consumer', o.consumer!, 'allowlisted');
      return undefined;
    }
    if ('block' in step) {
      if (o.clientIp === '') return this.noTarget(d, 'block', 'ip');
      const address = canonicalAddress(o.clientIp);
      if (address === undefined) return this.noTarget(d, 'block', 'ip');
      // The block covers what was counted (an IPv6 client's source network, source.ts), or the wider `prefix`.
      // A `prefix` of 32 or less is an IPv4 width (/24): it widens IPv4 blocks only, never an IPv6 one to a /24 of an ISP.
      const v4 = isIPv4(address);
      const counted = d.key === 'ip' ? sourceBits(this.sourceOf(address) ?? address) : v4 ? 32 : 128;
      const wider = step.block.prefix !== undefined && (step.block.prefix <= 32) === v4 ? step.block.prefix : 128;
      const bits = Math.min(wider, counted, v4 ? 32 : 128);
      const target = canonicalBlockTarget(`${address}/${bits}`);
      if (target === undefined) return this.noTarget(d, 'block', 'ip');
      if (this.blockTouchesAllowlist(target)) {
        this.skipped(d, 'block', 'ip', target, 'allowlisted');
        return undefined;
      }
      if (this.ledger.find('ip', target, 'block')) return undefined; // already in force (another detection)
      return { ...base, kind: 'block', scope: 'ip', target, expiresAt: until(step.block.duration) };
    }
    if ('suspend' in step) {
      const scope = step.suspend.target ?? 'consumer';
      const target = scope === 'consumer' ? o.consumer : o.credential;
      if (target === undefined) return this.noTarget(d, 'suspend', scope);
      return { ...base, kind: 'suspend', scope, target, expiresAt: until(step.suspend.duration) };
    }
    const scoped = this.scopeOf(t);
    if (scoped === undefined) return this.noTarget(d, Object.keys(step)[0]!, d.key);
    if (scoped.scope === 'ip' && this.blockTouchesAllowlist(scoped.target)) {
      this.skipped(d, Object.keys(step)[0]!, 'ip', scoped.target, 'allowlisted');
      return undefined;
    }
    if ('tighten' in step) {
      return { ...base, ...scoped, kind: 'tighten', limit: step.tighten.limit, perMs: parseDuration(step.tighten.per), expiresAt: until(step.tighten.duration) };
    }
    if ('require' in step) return { ...base, ...scoped, kind: 'require', policy: step.require.policy, expiresAt: until(step.require.duration) };
    return undefined;
  }

  /** tighten and require apply to the detection's key: an address, a consumer, a credential. */
  private scopeOf(t: Trigger): { scope: ActionScope; target: string } | undefined {
    const o = t.observation;
    switch (t.detection.key) {
      case 'ip': {
        const source = this.sourceOf(o.clientIp);
        return source === undefined ? undefined : { scope: 'ip', target: source };
      }
      case 'consumer':
        return o.consumer === undefined ? undefined : { scope: 'consumer', target: o.consumer };
      case 'credential':
        return o.credential === undefined ? undefined : { scope: 'credential', target: o.credential };
      default:
        return undefined;
    }
  }

  private noTarget(d: Detection, kind: string, scope: string): undefined {
    this.skipped(d, kind, scope, '', 'no_target');
    return undefined;
  }

  private skipped(d: Detection, kind: string, scope: string, target: string, reason: 'allowlisted' | 'no_target' | 'rate_limited' | 'full'): void {
    this.emit({
      type: 'defense.skipped',
      source: 'defense',
      reason,
      message: `${d.name}: ${kind} ${scope} ${target} not done (${reason})`,
      details: { detection: d.name, kind, scope, target: target || undefined },
    });
  }

  /** At most max_actions_per_minute actions from detections on this node (action flooding). */
  private spendBudget(): boolean {
    const minute = Math.floor(Date.now() / 60_000);
    if (this.actionBudget.minute !== minute) this.actionBudget = { ...this.actionBudget, minute, used: 0 };
    if (this.actionBudget.used >= this.actionBudget.max) return false;
    this.actionBudget.used++;
    return true;
  }

  private notification(t: Trigger, taken: readonly DefenseAction[]): Notification {
    return {
      schema: 'portcullis.defense.notification/1',
      time: new Date().toISOString(),
      node: this.deps.events.node,
      detection: t.detection.name,
      mode: t.detection.monitor ? 'monitor' : 'enforce',
      key_kind: t.detection.key,
      key: t.key,
      count: t.count,
      window: t.detection.window,
      actions: taken.map((a) => ({ id: a.id, kind: a.kind, scope: a.scope, target: a.target, expires_at: new Date(a.expiresAt).toISOString(), strike: a.strike })),
    };
  }

  /** An action added, lifted or expired: an event, and an audit record where an audit trail is kept. */
  private reportChange(c: LedgerChange): void {
    const a = c.action;
    if (c.change === 'added') {
      this.announce(a, 'changed', c.by, a.by.startsWith('detection:') ? a.by.slice('detection:'.length) : undefined);
      this.deps.audit()?.defense(auditFields('defense.add', a, c.by));
      return;
    }
    this.emit({
      type: 'defense.lifted',
      source: 'defense',
      reason: c.change,
      message: `${a.kind} on ${a.scope} ${a.target} ${c.change === 'expired' ? 'expired' : `lifted by ${c.by}`}`,
      details: { id: a.id, kind: a.kind, scope: a.scope, target: a.target, by: c.by },
    });
    this.deps.audit()?.defense(auditFields(c.change === 'expired' ? 'defense.expire' : 'defense.lift', a, c.by));
  }

  private announce(a: DefenseAction, action: 'changed' | 'monitored', by: string, detection: string | undefined): void {
    this.emit({
      type: 'defense.action',
      source: 'defense',
      action,
      message: `${action === 'monitored' ? 'would ' : ''}${a.kind} ${a.scope} ${a.target} until ${new Date(a.expiresAt).toISOString()} (${by})`,
      details: {
        id: a.id,
        kind: a.kind,
        scope: a.scope,
        target: a.target,
        duration_ms: a.expiresAt - a.createdAt,
        expires_at: new Date(a.expiresAt).toISOString(),
        by,
        detection,
        strike: a.strike,
        policy: a.policy,
        limit: a.limit,
      },
    });
  }
}

/** What an operator sends to add an action. */
export interface AdminBan {
  readonly kind?: DefenseAction['kind'];
  readonly scope?: ActionScope;
  readonly target: string;
  readonly duration?: string;
  readonly reason?: string;
  readonly limit?: number;
  readonly per?: string;
  readonly policy?: DefenseAction['policy'];
}

function safeDuration(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

function auditFields(action: 'defense.add' | 'defense.lift' | 'defense.expire' | 'defense.monitor', a: DefenseAction, by: string) {
  return { action, id: a.id, type: a.kind, scope: a.scope, target: a.target, by, expires_at: new Date(a.expiresAt).toISOString(), reason: a.reason };
}

function compilePlaybook(p: PlaybookConfig): Playbook {
  const e = p.escalation;
  return {
    config: p,
    factor: e?.factor,
    steps: e?.steps?.map(parseDuration),
    maxMs: e ? Math.min(parseDuration(e.max), MAX_ACTION_MS) : MAX_ACTION_MS,
    resetMs: e ? parseDuration(e.reset_after) : 86_400_000,
    holdMs: shortestHold(p, e?.steps?.map(parseDuration)),
  };
}

/** How long the shortest of a playbook's actions can last: its own duration, or an escalation step shorter still. */
function shortestHold(p: PlaybookConfig, steps: readonly number[] | undefined): number | undefined {
  let min: number | undefined;
  for (const a of p.actions) {
    const body = Object.values(a)[0] as { duration?: string };
    if (body.duration === undefined) continue;
    const ms = parseDuration(body.duration);
    if (min === undefined || ms < min) min = ms;
  }
  if (min !== undefined && steps !== undefined) for (const step of steps) min = Math.min(min, step);
  return min;
}

/** The duration of the `strike`th trigger: the action's own, times factor^(strike-1), or the strike's step; never past max. */
export function escalate(baseMs: number, strike: number, p: Pick<Playbook, 'factor' | 'steps' | 'maxMs'>): number {
  let ms = baseMs;
  if (p.steps !== undefined) ms = p.steps[Math.min(strike, p.steps.length) - 1]!;
  else if (p.factor !== undefined) ms = baseMs * Math.pow(p.factor, Math.min(strike - 1, 64));
  return Math.max(1000, Math.min(Math.round(ms), p.maxMs));
}

function addCidr(list: BlockList, cidr: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const [raw = '', bits] = cidr.split('/');
  const address = canonicalAddress(raw);
  if (address === undefined) return undefined;
  const family = isIPv4(address) ? 'ipv4' : 'ipv6';
  if (bits === undefined) list.addAddress(address, family);
  else list.addSubnet(address, Number(bits), family);
  return { address, family };
}
