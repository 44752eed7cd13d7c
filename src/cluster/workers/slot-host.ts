/**
 * The node's concurrency slots (concurrency-limit on the memory store of a
 * node of workers): at most `max` requests in progress per key across every
 * worker, the excess waiting in one first-come-first-served queue per key,
 * bounded in size and in time, as one process's concurrency-limit does.
 *
 * A slot is a lease held by one worker process. It ends when the request is
 * over (the worker's release), or when that worker exits for any reason: the
 * supervisor sees every exit (node:cluster's 'exit'), so the slots of a
 * SIGKILLed worker are freed at that moment and handed to the next waiters.
 * There is no timer on a held slot: a request that runs long really is in
 * progress, and an expiry would let the node admit more than `max`.
 */
import type { StoreAnswer } from './protocol.js';

/** The most requests holding or waiting for slots across the node; more are refused at once (a bound on memory). */
const MAX_TICKETS = 1_000_000;

interface Ticket {
  readonly worker: number;
  readonly id: number;
  readonly key: string;
  /** Set while waiting: the answer goes out when a slot comes or the wait ends. */
  waiting?: { readonly answer: (a: StoreAnswer) => void; readonly timer: NodeJS.Timeout };
}

interface Gate {
  active: number;
  /** Insertion-ordered: the first is the longest waiting. */
  readonly queue: Set<Ticket>;
}

export class SlotHost {
  private readonly gates = new Map<string, Gate>();
  /** By worker, then by the id of its take: every ticket held or waiting. */
  private readonly tickets = new Map<number, Map<number, Ticket>>();
  private count = 0;

  /**
   * A take: answered now ([id, true] held, [id, false] refused) or, when it
   * waits in the queue, later through `later`.
   */
  take(worker: number, id: number, key: string, max: number, queueSize: number, waitMs: number, later: (a: StoreAnswer) => void): StoreAnswer | undefined {
    if (this.count >= MAX_TICKETS) return [id, false];
    let gate = this.gates.get(key);
    if (!gate) this.gates.set(key, (gate = { active: 0, queue: new Set() }));
    const ticket: Ticket = { worker, id, key };
    if (gate.active < max) {
      gate.active++;
      this.remember(ticket);
      return [id, true];
    }
    if (gate.queue.size >= queueSize) {
      if (gate.active === 0 && gate.queue.size === 0) this.gates.delete(key);
      return [id, false];
    }
    const held = gate;
    ticket.waiting = {
      answer: later,
      timer: setTimeout(() => {
        held.queue.delete(ticket);
        this.forget(ticket);
        later([id, false]);
      }, waitMs),
    };
    gate.queue.add(ticket);
    this.remember(ticket);
    return undefined;
  }

  /** The request is over (or gave up waiting): its slot goes to the longest waiting, or its place in the queue is left. */
  release(worker: number, id: number): void {
    const ticket = this.tickets.get(worker)?.get(id);
    if (ticket) this.end(ticket);
  }

  /** A worker exited: every slot it held is freed, every place it had in a queue left. */
  exited(worker: number): number {
    const held = this.tickets.get(worker);
    if (!held) return 0;
    const n = held.size;
    for (const ticket of [...held.values()]) this.end(ticket, false);
    this.tickets.delete(worker);
    return n;
  }

  /** Slots held now for `key` (tests, metrics). */
  active(key: string): number {
    return this.gates.get(key)?.active ?? 0;
  }

  close(): void {
    for (const gate of this.gates.values()) for (const t of gate.queue) clearTimeout(t.waiting?.timer);
    this.gates.clear();
    this.tickets.clear();
    this.count = 0;
  }

  private end(ticket: Ticket, answerWaiting = true): void {
    this.forget(ticket);
    const gate = this.gates.get(ticket.key);
    if (!gate) return;
    if (ticket.waiting) {
      clearTimeout(ticket.waiting.timer);
      gate.queue.delete(ticket);
      if (answerWaiting) ticket.waiting.answer([ticket.id, false]);
    } else {
      const next = gate.queue.values().next();
      if (!next.done) {
        // The slot goes straight to the longest waiting: `active` stays the same.
        const waiter = next.value;
        gate.queue.delete(waiter);
        clearTimeout(waiter.waiting!.timer);
        const answer = waiter.waiting!.answer;
        waiter.waiting = undefined;
        answer([waiter.id, true]);
      } else gate.active--;
    }
    if (gate.active === 0 && gate.queue.size === 0) this.gates.delete(ticket.key);
  }

  private remember(ticket: Ticket): void {
    let mine = this.tickets.get(ticket.worker);
    if (!mine) this.tickets.set(ticket.worker, (mine = new Map<number, Ticket>()));
    mine.set(ticket.id, ticket);
    this.count++;
  }

  private forget(ticket: Ticket): void {
    if (this.tickets.get(ticket.worker)?.delete(ticket.id)) this.count--;
  }
}
