/**
 * A reload's change of listeners, in two steps so that a reload refused at
 * any point leaves every old listener serving. swapListeners() opens what
 * the new config adds or changes: first beside the running listeners (a new
 * name, or a listener moving to another port), then those that need a port
 * a running listener holds, which lets go of it just before (a listener
 * reopened on its own address with other settings, two listeners swapping
 * ports). If an open fails, everything opened is closed and each listener
 * that let go of its port is opened again on its old config, then the error
 * is thrown. Once the reload is sure, done() makes the new set the running
 * one and closes what is gone (in-flight requests finish up to the
 * deadline); undo() puts the old set back instead (the admin listener
 * failed after the listeners were open).
 *
 * An https listener whose only change is its TLS material keeps running and
 * serves the new material from done() on.
 */
import type { Logger } from 'pino';
import { parseListenAddress } from '../config/ajv.js';
import type { ListenerConfig } from '../config/schema.js';
import { overlaps } from '../net/bind-check.js';
import type { Snapshot } from '../snapshot.js';
import type { CertificateInventory } from '../telemetry/certificates.js';
import type { Listener } from './listener.js';
import { swappableInPlace } from './tls/compile.js';

export interface SwapDeps {
  /** Opens a listener of `snapshot` (a reopened old one: the running snapshot). */
  open(config: ListenerConfig, snapshot: Snapshot): Promise<Listener>;
  /** Stops accepting at once, then resolves when in-flight requests are done (or the deadline passed). */
  close(listener: Listener): Promise<void>;
  readonly running: Snapshot;
  readonly certificates: CertificateInventory;
  readonly logger: Logger;
}

export interface ListenerSwap {
  /** The new set runs: in-place TLS updates applied, gone listeners closed. */
  done(): Promise<void>;
  /** The old set runs again, as before swapListeners. */
  undo(): Promise<void>;
}

export async function swapListeners(listeners: Map<string, Listener>, snapshot: Snapshot, deps: SwapDeps): Promise<ListenerSwap> {
  const configs = snapshot.config.listeners;
  const wanted = new Map(configs.map((c) => [c.name, c]));
  const inPlace: Listener[] = [];
  const retired: Listener[] = [];
  for (const [name, listener] of listeners) {
    const next = wanted.get(name);
    if (next && listener.front && snapshot.listenerTls.has(name) && swappableInPlace(listener.config, next)) inPlace.push(listener);
    else if (!next || JSON.stringify(next) !== JSON.stringify(listener.config)) retired.push(listener);
  }
  const toOpen = configs.filter((c) => !listeners.has(c.name) || retired.some((r) => r.name === c.name));
  const holders = (c: ListenerConfig) => {
    const at = parseListenAddress(c.address);
    return at ? retired.filter((r) => overlaps(r.address, at)) : [];
  };
  const opened = new Map<string, Listener>();
  /** Retired listeners closed before the swap was sure, for their port: reopened by an undo. */
  const released: Listener[] = [];
  const draining: Array<Promise<void>> = [];
  /** done() began: the new set is the running one, there is nothing left to undo. */
  let committed = false;

  const undo = async () => {
    if (committed) return;
    // Their sockets close at once: the old listeners can take their ports back before their requests are done.
    const closing = [...opened.values()].map((l) => deps.close(l));
    for (const name of opened.keys()) {
      const old = listeners.get(name);
      // The replacement's certificates took the listener's entry in the inventory: the old ones are back.
      if (old?.front) deps.certificates.set(`listener:${name}`, old.front.certificates);
      else deps.certificates.delete(`listener:${name}`);
    }
    opened.clear();
    for (const old of released.splice(0)) {
      try {
        listeners.set(old.name, await deps.open(old.config, deps.running));
      } catch (err) {
        // Someone took the port in the instant it was free: this listener is gone until a reload or restart.
        listeners.delete(old.name);
        deps.logger.error({ listener: old.name, err: (err as Error).message }, 'listener could not be reopened on its old address after a refused reload');
      }
    }
    await Promise.all(closing);
    // The old sockets of the listeners reopened: their requests finish in the background, as in a drain.
    void Promise.all(draining.splice(0));
  };

  try {
    for (const config of toOpen) if (holders(config).length === 0) opened.set(config.name, await deps.open(config, snapshot));
    for (const config of toOpen) {
      const blocking = holders(config);
      if (blocking.length === 0) continue;
      for (const holder of blocking) {
        if (released.includes(holder)) continue;
        released.push(holder);
        // The listening socket is closed at once (the port is free now); its requests finish in the background.
        draining.push(deps.close(holder));
      }
      opened.set(config.name, await deps.open(config, snapshot));
    }
  } catch (err) {
    await undo();
    throw err;
  }

  return {
    undo,
    async done() {
      committed = true;
      for (const listener of inPlace) {
        const next = wanted.get(listener.name)!;
        listener.front!.update(snapshot.listenerTls.get(listener.name)!, next.tls!, snapshot.baseDir);
        listeners.set(listener.name, { ...listener, config: next });
      }
      for (const listener of retired) {
        if (!opened.get(listener.name)?.front) deps.certificates.delete(`listener:${listener.name}`);
        if (!wanted.has(listener.name)) listeners.delete(listener.name);
      }
      for (const [name, listener] of opened) listeners.set(name, listener);
      await Promise.all([...retired.filter((r) => !released.includes(r)).map((r) => deps.close(r)), ...draining]);
    },
  };
}
