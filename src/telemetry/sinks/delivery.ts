/**
 * One sink's delivery: a bounded memory queue the bus listener pushes to
 * (and nothing else: the request path never waits on a receiver), and one
 * loop that takes batches off it, encodes them and hands them to the
 * transport, retrying with exponential backoff.
 *
 * When a delivery fails and the sink has a spool, the failed batch and
 * everything queued behind it go to the disk spool (sinks/spool.ts), and new
 * records follow them there while the receiver is away. When it answers
 * again, the spool is replayed oldest first; live records wait in memory
 * behind it (moved to the spool's tail when memory fills past half) and flow
 * directly again once the spool is empty. So the order is always spool, then
 * memory, and every record is delivered once the receiver confirms it.
 *
 * What cannot be kept is dropped and counted: memory full with no spool, or
 * the spool at its max_size. Each incident is logged once when it starts and
 * once, with the count, when it ends; the counts are in sink status.
 */
import type { Logger } from 'pino';
import type { SinkStatus } from '../hub.js';
import type { SinkRecord } from '../formats/record.js';
import type { DiskSpool } from './spool.js';

/** What carries encoded records to the receiver. */
export interface Transport {
  /** Delivers the units in order; resolves when the receiver has confirmed them, rejects when it has not. */
  send(units: readonly string[]): Promise<void>;
  /** Reopens files (SIGUSR1, after logrotate moved them). */
  reopen?(): void;
  close(): Promise<void>;
}

export interface DeliveryOptions {
  readonly name: string;
  readonly stream: 'events' | 'access';
  readonly queue: number;
  readonly batchRecords: number;
  readonly batchBytes: number;
  readonly batchIntervalMs: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

export type Encoder = (record: SinkRecord) => string;

export class Delivery {
  private memory: SinkRecord[] = [];
  private head = 0;
  /** A batch taken from memory whose delivery failed, with no spool to put it in: retried first. */
  private retrying: string[] | undefined;
  private oldestAt = 0;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private closing = false;
  private deadline = Infinity;
  /** The loop sleeps until the queue holds this many (a full batch, or half the queue while the receiver is away). */
  private wakeAt = 1;
  private attempts = 0;
  private retryAt = 0;
  private dropping = 0;
  sent = 0;
  dropped = 0;
  failures = 0;

  constructor(
    public options: DeliveryOptions,
    public transport: Transport,
    public encode: Encoder,
    readonly spool: DiskSpool | undefined,
    private readonly logger: Logger,
  ) {}

  get queued(): number {
    return this.memory.length - this.head + (this.retrying?.length ?? 0);
  }

  status(): SinkStatus {
    return { name: this.options.name, stream: this.options.stream, queued: this.queued, spooled: this.spool?.count ?? 0, sent: this.sent, dropped: this.dropped, failures: this.failures };
  }

  /** From the bus listener: O(1), never waits, never throws. */
  push(record: SinkRecord): void {
    if (this.closing || this.memory.length - this.head >= this.options.queue) {
      this.drop(1, this.closing ? 'the sink is closing' : 'the memory queue is full');
      return;
    }
    if (this.memory.length === this.head) this.oldestAt = Date.now();
    this.memory.push(record);
    if (!this.running) this.running = this.loop();
    else if (this.memory.length - this.head >= this.wakeAt) this.poke();
  }

  /** Starts the loop for records an earlier run left in the spool. */
  kick(): void {
    if (!this.running) this.running = this.loop();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Waits for ms, or until poke(). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, Math.max(0, ms));
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private drop(n: number, why: string): void {
    if (this.dropping === 0) this.logger.error({ sink: this.options.name, stream: this.options.stream }, `sink ${this.options.name}: ${why}; records are dropped and counted until it recovers`);
    this.dropping += n;
    this.dropped += n;
  }

  private recovered(): void {
    if (this.dropping === 0) return;
    this.logger.warn({ sink: this.options.name, stream: this.options.stream, dropped: this.dropping }, `sink ${this.options.name}: recovered; ${this.dropping} records were dropped`);
    this.dropping = 0;
  }

  private take(maxRecords: number): SinkRecord[] {
    const end = Math.min(this.memory.length, this.head + maxRecords);
    const batch = this.memory.slice(this.head, end);
    this.head = end;
    if (this.head > 1024 && this.head * 2 > this.memory.length) {
      this.memory = this.memory.slice(this.head);
      this.head = 0;
    }
    this.oldestAt = Date.now();
    return batch;
  }

  /** Encodes records, dropping (and counting) one whose format throws rather than stopping the sink. */
  private encodeAll(records: readonly SinkRecord[]): string[] {
    const units: string[] = [];
    for (const record of records) {
      try {
        units.push(this.encode(record));
      } catch (err) {
        this.logger.error({ sink: this.options.name, err }, 'a record could not be formatted; dropped');
        this.dropped++;
      }
    }
    return units;
  }

  private async send(units: string[]): Promise<boolean> {
    if (units.length === 0) return true;
    try {
      await this.transport.send(units);
      this.sent += units.length;
      this.recovered();
      if (this.attempts > 0) this.logger.info({ sink: this.options.name, failed_attempts: this.attempts }, `sink ${this.options.name}: the receiver is back`);
      this.attempts = 0;
      return true;
    } catch (err) {
      this.failures++;
      this.attempts++;
      // Shutting down: a receiver that fails now gets no more tries; what is left waits in the spool.
      if (this.closing) this.deadline = 0;
      const backoff = Math.min(this.options.retryMaxMs, this.options.retryInitialMs * 2 ** Math.min(this.attempts - 1, 30));
      this.retryAt = Date.now() + backoff * (0.8 + Math.random() * 0.4);
      if (this.attempts === 1) this.logger.warn({ sink: this.options.name, err: (err as Error).message }, `sink ${this.options.name}: delivery failed; retrying with backoff${this.spool ? ', records wait in the spool' : ''}`);
      return false;
    }
  }

  /** Moves what waits in memory to the spool's tail, oldest first. */
  private async spoolMemory(): Promise<void> {
    const spool = this.spool!;
    while (this.queued > 0) {
      const units = this.retrying ?? this.encodeAll(this.take(this.options.batchRecords));
      this.retrying = undefined;
      const accepted = await spool.append(units);
      if (accepted < units.length) this.drop(units.length - accepted, `the spool is full (${spool.maxBytes} bytes)`);
      else this.recovered();
    }
  }

  private async loop(): Promise<void> {
    const o = () => this.options;
    for (;;) {
      const spooled = this.spool?.count ?? 0;
      if (this.queued === 0 && spooled === 0) {
        if (this.closing) break;
        this.running = undefined;
        return;
      }
      const now = Date.now();
      if (this.closing && now >= this.deadline) break;
      if (now < this.retryAt) {
        // The receiver is away: what waits in memory goes to disk, where it survives a restart.
        if (this.spool && this.queued > 0) await this.spoolMemory();
        this.wakeAt = this.spool ? Math.max(1, Math.floor(o().queue / 2)) : Infinity;
        await this.pause(Math.min(this.retryAt, this.deadline) - now);
        this.wakeAt = 1;
        continue;
      }
      if (spooled > 0) {
        const read = await this.spool!.read(o().batchRecords, o().batchBytes);
        if (await this.send(read.units)) await this.spool!.commit(read);
        if (this.memory.length - this.head > o().queue / 2) await this.spoolMemory();
        continue;
      }
      if (this.retrying) {
        if (await this.send(this.retrying)) this.retrying = undefined;
        continue;
      }
      const waited = now - this.oldestAt;
      if (!this.closing && this.memory.length - this.head < o().batchRecords && waited < o().batchIntervalMs) {
        this.wakeAt = o().batchRecords;
        await this.pause(o().batchIntervalMs - waited);
        this.wakeAt = 1;
        continue;
      }
      const units = this.encodeAll(this.take(o().batchRecords));
      if (await this.send(units)) continue;
      if (this.spool) {
        this.retrying = units;
        await this.spoolMemory();
      } else {
        this.retrying = units;
      }
    }
    // Closing, out of time: keep what is left for the next start, or count it lost.
    if (this.spool) await this.spoolMemory();
    else if (this.queued > 0) this.drop(this.queued, 'the gateway stopped before the receiver took these records');
    this.memory = [];
    this.head = 0;
    this.retrying = undefined;
    await this.spool?.sync();
    this.running = undefined;
  }

  /**
   * Stops taking records, delivers what it can until the deadline, then
   * leaves the rest in the spool (or counts it dropped without one).
   */
  async close(deadlineMs: number): Promise<void> {
    this.closing = true;
    this.deadline = Date.now() + deadlineMs;
    this.retryAt = 0; // one more try now, rather than waiting out a backoff
    this.poke();
    if (!this.running && (this.queued > 0 || (this.spool?.count ?? 0) > 0)) this.running = this.loop();
    await this.running;
    await this.transport.close();
    await this.spool?.close();
  }

  /** A reload with new transport or format: what waits keeps its place. */
  reconfigure(options: DeliveryOptions, transport: Transport, encode: Encoder): void {
    const old = this.transport;
    this.options = options;
    this.transport = transport;
    this.encode = encode;
    this.retryAt = 0;
    this.attempts = 0;
    void old.close();
    this.poke();
  }
}
