/**
 * The actions in force, fleet-wide. Each action is a field of one map in the
 * store's security state (`defense-actions`: on Redis a hash under the
 * secure prefix, so it survives a gateway restart and no flood of ordinary
 * keys evicts it), announced on the `defense` channel so every node applies
 * it at once, and re-read every `resync` so a node that missed a message (cut
 * off from Redis while it was sent) converges when it is back.
 *
 * Each node holds what is in force in memory, so the request path never
 * waits on the store to learn of an action: blocks go into the dynamic deny
 * list (deny-list.ts); suspensions, tightened limits and requirements into
 * maps keyed by scope and target. An action expires on its own: lookups
 * compare its time, and the resync drops it from the store (the node whose
 * delete removed it reports the expiry, once for the fleet).
 *
 * On the memory store this is one node's state, lost with the process
 * unless `state_file` names a file: the actions in force are then written
 * there after every change and put back in the store at start.
 */
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { DynamicDenyList } from './deny-list.js';
import { parseAction, type ActionScope, type DefenseAction } from './actions.js';
import type { Stores } from '../stores/stores.js';
import type { Unsubscribe } from '../stores/store.js';

const MAP = 'defense-actions';
const CHANNEL = 'defense';
const MESSAGE_MAX = 8 * 1024;

export type LedgerChange = { readonly change: 'added' | 'lifted' | 'expired'; readonly action: DefenseAction; readonly by: string };

export interface LedgerDeps {
  /** The running store (it can change on a reload). */
  readonly stores: () => Stores | undefined;
  readonly denyList: DynamicDenyList;
  readonly logger: Logger;
  /** Told of changes this node made (added, lifted) or found (expired): events and audit records. */
  readonly report: (change: LedgerChange) => void;
  readonly now?: () => number;
}

export class ActionLedger {
  private readonly actions = new Map<string, DefenseAction>();
  /** Non-block actions by scope, then target: what the request path looks up (an empty scope costs a size test). */
  private readonly scoped: Record<ActionScope, Map<string, DefenseAction[]>> = { ip: new Map(), consumer: new Map(), credential: new Map() };
  private scopedActions = 0;
  /** Block targets this ledger put in the deny list (embedding code may add its own). */
  private readonly blocked = new Map<string, DefenseAction>();
  /** Added here while the store did not answer: written again at the next resync. */
  private readonly unsaved = new Map<string, DefenseAction>();
  /** Lifted here while the store did not answer: deleted there at the next resync. */
  private readonly unsavedLifts = new Set<string>();
  private subscribedTo: Stores | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resyncing: Promise<void> | undefined;
  private readonly now: () => number;
  resyncMs = 5000;
  maxActions = 10_000;
  /** Where the actions in force are kept across a restart (defense.state_file), when set. */
  stateFile: string | undefined;
  /** Whether the state file was read into the store since start. */
  private restored = false;

  constructor(private readonly deps: LedgerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Non-block actions in force (the request path skips its lookups at 0). */
  get scopedCount(): number {
    return this.scopedActions;
  }

  get size(): number {
    return this.actions.size;
  }

  /** Whether any non-block action names this scope (the request path skips its lookups when none does). */
  hasScope(scope: ActionScope): boolean {
    return this.scoped[scope].size > 0;
  }

  /** Subscribes, reads what is in force, and re-reads every resyncMs. */
  async start(): Promise<void> {
    await this.resync();
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.resync().finally(() => this.timer !== undefined && this.schedule());
    }, this.resyncMs);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.subscribedTo = undefined;
  }

  list(): DefenseAction[] {
    const now = this.now();
    return [...this.actions.values()].filter((a) => a.expiresAt > now).sort((a, b) => a.createdAt - b.createdAt);
  }

  get(id: string): DefenseAction | undefined {
    return this.actions.get(id);
  }

  /** The action in force on this scope and target, of this kind. */
  find(scope: ActionScope, target: string, kind: DefenseAction['kind']): DefenseAction | undefined {
    if (kind === 'block') {
      const a = this.blocked.get(target);
      return a && a.expiresAt > this.now() ? a : undefined;
    }
    const byTarget = this.scoped[scope];
    if (byTarget.size === 0) return undefined;
    const list = byTarget.get(target);
    if (list === undefined) return undefined;
    const now = this.now();
    for (const a of list) if (a.kind === kind && a.expiresAt > now) return a;
    return undefined;
  }

  /** Persists, announces and applies an action; false when max_actions are in force already. */
  async add(action: DefenseAction, by: string, options: { operator?: boolean } = {}): Promise<boolean> {
    // Operators' actions may go past max_actions (detections' decoys must not lock them out), up to twice it: a bound still.
    if (this.list().length >= (options.operator ? 2 * this.maxActions : this.maxActions)) return false;
    this.apply(action);
    this.deps.report({ change: 'added', action, by });
    const stores = this.deps.stores();
    if (!stores) return true;
    try {
      await stores.secure.map(MAP).set(action.id, JSON.stringify(action));
      await stores.channel(CHANNEL).publish(JSON.stringify({ op: 'add', action }));
    } catch (err) {
      // This node enforces it now; the next resync writes it (and so tells the others).
      this.unsaved.set(action.id, action);
      this.deps.logger.warn({ err: (err as Error).message, id: action.id }, 'defense action not yet saved to the store: this node enforces it, the next resync shares it');
    }
    this.persist();
    return true;
  }

  /** Ends an action now; the lifted action, or undefined when there was none in force. */
  async lift(id: string, by: string): Promise<DefenseAction | undefined> {
    const action = this.actions.get(id);
    const stores = this.deps.stores();
    if (stores) {
      try {
        await stores.secure.map(MAP).delete(id);
        await stores.channel(CHANNEL).publish(JSON.stringify({ op: 'lift', id }));
      } catch (err) {
        // Lifted here now; the next resync deletes it from the store (and so for the others).
        this.unsavedLifts.add(id);
        this.deps.logger.warn({ err: (err as Error).message, id }, 'defense action lifted on this node; the store did not answer, the next resync lifts it fleet-wide');
      }
    }
    this.unsaved.delete(id);
    if (action) this.unapply(action);
    if (action) this.deps.report({ change: 'lifted', action, by });
    this.persist();
    return action;
  }

  /** Re-reads every action from the store; runs one at a time. */
  resync(): Promise<void> {
    this.resyncing ??= this.read().finally(() => (this.resyncing = undefined));
    return this.resyncing;
  }

  private async read(): Promise<void> {
    const stores = this.deps.stores();
    if (!stores) return;
    if (this.subscribedTo !== stores) {
      this.unsubscribe?.();
      this.subscribedTo = stores;
      this.unsubscribe = stores.channel(CHANNEL).subscribe((message) => this.onMessage(message));
    }
    const map = stores.secure.map(MAP);
    if (!this.restored) {
      this.restored = true;
      await this.restore(map);
    }
    let stored: ReadonlyMap<string, string>;
    try {
      stored = await map.all();
    } catch {
      return; // the store is away: keep what is in force here; the next resync tries again
    }
    for (const id of this.unsavedLifts) {
      try {
        await map.delete(id);
        await stores.channel(CHANNEL).publish(JSON.stringify({ op: 'lift', id }));
        this.unsavedLifts.delete(id);
      } catch {
        // still away
      }
    }
    const now = this.now();
    const current = new Map<string, DefenseAction>();
    for (const [id, text] of stored) {
      if (this.unsavedLifts.has(id)) continue;
      const action = parseStored(text);
      if (typeof action === 'string' || action.id !== id) {
        this.deps.logger.warn({ id, problem: typeof action === 'string' ? action : 'id mismatch' }, 'a defense action in the store does not parse: dropped');
        await Promise.resolve().then(() => map.delete(id)).catch(() => false);
        continue;
      }
      if (action.expiresAt <= now) {
        const removed = await Promise.resolve().then(() => map.delete(id)).catch(() => false);
        if (removed) this.deps.report({ change: 'expired', action, by: 'expiry' });
        continue;
      }
      current.set(id, action);
    }
    for (const [id, action] of this.unsaved) {
      if (action.expiresAt <= now) {
        this.unsaved.delete(id);
        continue;
      }
      try {
        await map.set(id, JSON.stringify(action));
        await stores.channel(CHANNEL).publish(JSON.stringify({ op: 'add', action }));
        this.unsaved.delete(id);
      } catch {
        // still away
      }
      current.set(id, action);
    }
    for (const action of [...this.actions.values()]) if (!current.has(action.id)) this.unapply(action);
    for (const action of current.values()) if (!this.actions.has(action.id)) this.apply(action);
    this.persist();
  }

  /** At start: what the state file holds and the store does not (a memory store after a restart) goes back in it. */
  private async restore(map: { set(field: string, value: string): unknown; all(): unknown }): Promise<void> {
    if (this.stateFile === undefined) return;
    let text: string;
    try {
      text = readFileSync(this.stateFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.deps.logger.error({ file: this.stateFile, err: (err as Error).message }, 'defense state file not read: actions from before the restart are not restored');
      return;
    }
    let entries: unknown;
    try {
      entries = JSON.parse(text);
    } catch {
      this.deps.logger.error({ file: this.stateFile }, 'defense state file is not JSON: actions from before the restart are not restored');
      return;
    }
    if (!Array.isArray(entries)) return;
    const now = this.now();
    let restored = 0;
    for (const entry of entries.slice(0, this.maxActions)) {
      const action = parseStored(JSON.stringify(entry));
      if (typeof action === 'string' || action.expiresAt <= now) continue;
      try {
        await map.set(action.id, JSON.stringify(action));
        restored++;
      } catch {
        this.unsaved.set(action.id, action);
      }
    }
    if (restored > 0) this.deps.logger.info({ file: this.stateFile, actions: restored }, 'defense actions restored from the state file');
  }

  /** Writes the actions in force to the state file (a temporary file renamed over it: never half written). */
  private persist(): void {
    if (this.stateFile === undefined || !this.restored) return;
    const temporary = `${this.stateFile}.${process.pid}.tmp`;
    try {
      rmSync(temporary, { force: true });
      writeFileSync(temporary, JSON.stringify(this.list()), { mode: 0o600, flag: 'wx' });
      chmodSync(temporary, 0o600);
      renameSync(temporary, this.stateFile);
    } catch (err) {
      this.deps.logger.error({ file: this.stateFile, err: (err as Error).message }, 'defense state file not written: the actions in force would not survive a restart');
    }
  }

  private onMessage(message: string): void {
    if (message.length > MESSAGE_MAX) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const m = parsed as { op?: unknown; id?: unknown; action?: unknown };
    if (m.op === 'add') {
      const action = parseAction(m.action);
      if (typeof action === 'string' || action.expiresAt <= this.now()) return;
      if (!this.actions.has(action.id)) this.apply(action);
    } else if (m.op === 'lift' && typeof m.id === 'string') {
      const action = this.actions.get(m.id);
      if (action) this.unapply(action);
    }
  }

  private apply(action: DefenseAction): void {
    this.actions.set(action.id, action);
    if (action.kind === 'block') {
      const held = this.blocked.get(action.target);
      if (held && held.expiresAt >= action.expiresAt) return;
      this.blocked.set(action.target, action);
      this.deps.denyList.add(action.target, Math.max(1, action.expiresAt - this.now()), action.reason);
      return;
    }
    const byTarget = this.scoped[action.scope];
    byTarget.set(action.target, [...(byTarget.get(action.target) ?? []), action]);
    this.scopedActions++;
  }

  private unapply(action: DefenseAction): void {
    this.actions.delete(action.id);
    if (action.kind === 'block') {
      if (this.blocked.get(action.target)?.id !== action.id) return;
      this.blocked.delete(action.target);
      // Another action on the same target (a longer one) keeps it blocked.
      let next: DefenseAction | undefined;
      for (const a of this.actions.values()) if (a.kind === 'block' && a.target === action.target && (!next || a.expiresAt > next.expiresAt)) next = a;
      if (next && next.expiresAt > this.now()) {
        this.blocked.set(next.target, next);
        this.deps.denyList.add(next.target, next.expiresAt - this.now(), next.reason);
      } else {
        this.deps.denyList.remove(action.target);
      }
      return;
    }
    const byTarget = this.scoped[action.scope];
    const before = byTarget.get(action.target) ?? [];
    const rest = before.filter((a) => a.id !== action.id);
    this.scopedActions -= before.length - rest.length;
    if (rest.length > 0) byTarget.set(action.target, rest);
    else byTarget.delete(action.target);
  }
}

function parseStored(text: string): DefenseAction | string {
  try {
    return parseAction(JSON.parse(text));
  } catch {
    return 'not JSON';
  }
}
