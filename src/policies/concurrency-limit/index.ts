/**
 * concurrency-limit: at most `max` requests in progress per key (a route, a
 * consumer, an IP ...) on this gateway node. Excess requests wait in a
 * bounded queue, first come first served, for a bounded time, then are
 * refused: 503 when the key is a route or service (the gateway protects the
 * upstream), 429 when it is the caller (the caller is asking too much), with
 * Retry-After. A slot is held from onRequest until the request is over, and
 * released in onLog, which runs exactly once for every request whatever
 * ended it: a response, an error, an upstream timeout, a client abort.
 * Counts are per node: in process, or, on a node of workers with the memory
 * store, in the supervisor for every worker at once (the store's `slots`,
 * src/cluster/workers/slot-host.ts), with the same queue. A fleet of N nodes
 * admits N × max.
 */
import type { RequestContext } from '../../pipeline/context.js';
import { deny, type Deny } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { parseDuration } from '../../config/units.js';
import { compileKey, keyedByCaller, keySignature } from '../../traffic/keys.js';
import type { SlotTicket } from '../../stores/store.js';
import { ConcurrencyLimitSchema } from './schema.js';

interface Waiter {
  readonly ctx: RequestContext;
  readonly resolve: (result: Deny | undefined) => void;
  readonly timer: NodeJS.Timeout;
}

interface Gate {
  readonly key: string;
  active: number;
  /** Insertion-ordered: the first is the longest waiting. */
  readonly queue: Set<Waiter>;
}

export default definePolicy({
  name: 'concurrency-limit',
  phase: 'traffic',
  description: 'Limits requests in progress per route, service or caller, with a bounded waiting queue.',
  config: ConcurrencyLimitSchema,
  compile(config, deps) {
    const keyOf = compileKey(config.by);
    const queueSize = config.queue.size;
    const waitMs = parseDuration(config.queue.timeout);
    const byCaller = keyedByCaller(config.by);
    const refusal = deny('concurrency_limited', { status: byCaller ? 429 : 503,
      headers: { 'retry-after': String(Math.max(1, Math.ceil(parseDuration(config.retry_after) / 1000))) },
      event: { type: 'concurrency.exceeded', severity: 'low', data: { max: config.max, key: keySignature(config.by) } },
    });
    // A node of workers: the slots are the node's, counted by the supervisor (one queue per key for all workers).
    const shared = deps.stores.slots(`cl:${deps.route ?? '*'}:${keySignature(config.by)}:${config.max}:${queueSize}:${waitMs}`);
    if (shared) {
      const tickets = new WeakMap<RequestContext, SlotTicket>();
      return {
        onRequest(ctx) {
          const ticket = shared.take(keyOf(ctx), config.max, queueSize, waitMs);
          tickets.set(ctx, ticket);
          return ticket.held.then((held) => (held ? undefined : refusal));
        },
        onLog(ctx) {
          tickets.get(ctx)?.release();
          tickets.delete(ctx);
        },
      };
    }
    const gates = new Map<string, Gate>();
    const holding = new WeakMap<RequestContext, Gate>();
    const waiting = new WeakMap<RequestContext, { gate: Gate; waiter: Waiter }>();

    const release = (gate: Gate) => {
      const next = gate.queue.values().next();
      if (!next.done) {
        // Hand the slot straight to the longest waiting request: `active` stays the same.
        const waiter = next.value;
        gate.queue.delete(waiter);
        clearTimeout(waiter.timer);
        waiting.delete(waiter.ctx);
        holding.set(waiter.ctx, gate);
        waiter.resolve(undefined);
        return;
      }
      if (--gate.active === 0) gates.delete(gate.key);
    };

    return {
      onRequest(ctx) {
        const key = keyOf(ctx);
        let gate = gates.get(key);
        if (!gate) gates.set(key, (gate = { key, active: 0, queue: new Set() }));
        if (gate.active < config.max) {
          gate.active++;
          holding.set(ctx, gate);
          return undefined;
        }
        if (gate.queue.size >= queueSize) return refusal;
        const held = gate;
        return new Promise<Deny | undefined>((resolve) => {
          const waiter: Waiter = {
            ctx,
            resolve,
            timer: setTimeout(() => {
              held.queue.delete(waiter);
              waiting.delete(ctx);
              resolve(refusal);
            }, waitMs),
          };
          held.queue.add(waiter);
          waiting.set(ctx, { gate: held, waiter });
        });
      },
      onLog(ctx) {
        const gate = holding.get(ctx);
        if (gate) {
          holding.delete(ctx);
          release(gate);
          return;
        }
        // Over while still queued (the client went away): leave the queue.
        const queued = waiting.get(ctx);
        if (queued) {
          waiting.delete(ctx);
          queued.gate.queue.delete(queued.waiter);
          clearTimeout(queued.waiter.timer);
          queued.waiter.resolve(refusal);
        }
      },
    };
  },
});
