/**
 * Password hashes for consumer credentials.
 *
 * New hashes are scrypt (node:crypto) in this PHC-style string:
 *
 *     $scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<hash>
 *
 * salt and hash in standard base64 without padding; 16-byte salt, 32-byte
 * hash; defaults ln=15, r=8, p=1 (32 MiB, about 0.1 s here). bcrypt hashes
 * ($2a$, $2b$, $2y$) are accepted for import from other systems. Make one with
 * `portcullis hash-password`.
 *
 * Checking a password never runs on the event loop: scrypt runs on the libuv
 * pool (node:crypto's async scrypt), bcrypt (bcryptjs, plain JavaScript) on
 * worker threads. Both go through one process-wide PasswordHasher that runs
 * at most `threads` checks at once and queues at most `maxQueue` more; past
 * that a check is refused at once (PasswordQueueFullError) instead of the
 * queue growing with an attacker's guesses.
 */
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };

export type PasswordHash =
  | { kind: 'scrypt'; params: ScryptParams; salt: Buffer; hash: Buffer }
  | { kind: 'bcrypt'; encoded: string; cost: number };

const SCRYPT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{22,88})$/;
const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/** Parses a stored hash, or explains what is wrong with it (for a config error). */
export function parsePasswordHash(text: string): PasswordHash | string {
  const s = SCRYPT.exec(text);
  if (s) {
    const params = { ln: Number(s[1]), r: Number(s[2]), p: Number(s[3]) };
    if (params.ln < 10 || params.ln > 20) return 'scrypt ln must be between 10 and 20';
    if (params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return 'scrypt r must be 1-32 and p 1-16';
    const salt = Buffer.from(s[4]!, 'base64');
    const hash = Buffer.from(s[5]!, 'base64');
    if (salt.length < 16) return 'the scrypt salt must be at least 16 bytes';
    if (hash.length < 16) return 'the scrypt hash must be at least 16 bytes';
    return { kind: 'scrypt', params, salt, hash };
  }
  const b = BCRYPT.exec(text);
  if (b) {
    const cost = Number(b[1]);
    if (cost < 4 || cost > 31) return 'the bcrypt cost must be between 4 and 31';
    return { kind: 'bcrypt', encoded: text, cost };
  }
  return 'expected "$scrypt$ln=..,r=..,p=..$salt$hash" (portcullis hash-password) or a bcrypt "$2b$..." hash';
}

function scrypt(password: string, salt: Buffer, length: number, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 128 * N * params.r * params.p + 16 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new scrypt hash string for a password (NFC-normalized, as Basic credentials are). */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${unpadded(salt.toString('base64'))}$${unpadded(hash.toString('base64'))}`;
}

/** Base64 without its "=" padding (a loop, not /=+$/: every regex in src/ is checked for linear time). */
function unpadded(base64: string): string {
  let end = base64.length;
  while (end > 0 && base64.charCodeAt(end - 1) === 0x3d) end--;
  return base64.slice(0, end);
}

/**
 * What a check against this hash costs: its kind and work parameters. Two
 * hashes of one profile take as long to check, whatever their salt.
 */
export function hashProfile(stored: PasswordHash): string {
  if (stored.kind === 'bcrypt') return `bcrypt:${stored.cost}`;
  const { ln, r, p } = stored.params;
  return `scrypt:${ln}:${r}:${p}:${stored.salt.length}:${stored.hash.length}`;
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A hash of the same profile as `like` that no password matches (random salt
 * and random hash bytes): checking a password against it costs exactly what
 * checking against `like` costs, and needs no work to make.
 */
export function dummyLike(like: PasswordHash): PasswordHash {
  if (like.kind === 'scrypt') return { kind: 'scrypt', params: like.params, salt: randomBytes(like.salt.length), hash: randomBytes(like.hash.length) };
  const bytes = randomBytes(53);
  let text = '';
  for (const b of bytes) text += BCRYPT_ALPHABET[b & 63];
  return { kind: 'bcrypt', cost: like.cost, encoded: `$2b$${String(like.cost).padStart(2, '0')}$${text}` };
}

/** The default-cost scrypt profile, for a policy with no users to take profiles from. */
export function defaultDummy(): PasswordHash {
  return { kind: 'scrypt', params: DEFAULT_SCRYPT, salt: randomBytes(16), hash: randomBytes(32) };
}

/** Too many password checks are running and waiting: this one is refused rather than queued. */
export class PasswordQueueFullError extends Error {
  constructor(readonly queued: number) {
    super(`${queued} password checks already waiting`);
    this.name = 'PasswordQueueFullError';
  }
}

/** This client already has its share of checks running and waiting: this one is refused, others are not. */
export class PasswordClientShareError extends Error {
  constructor(readonly limit: number) {
    super(`this client already has ${limit} password checks running or waiting`);
    this.name = 'PasswordClientShareError';
  }
}

/** Who asks for a check, and how many checks that client may have running and waiting at once. */
export interface PasswordClient {
  /** The client address (after trusted_proxies); IPv6 counts by its /64. */
  readonly ip: string;
  readonly limit: number;
}

/**
 * The key a client's share is counted under: an IPv4 address (IPv4-mapped
 * IPv6 included) as it is, an IPv6 address by its /64, which one subscriber
 * usually holds whole.
 */
export function clientShareKey(ip: string): string {
  if (!isIPv6(ip)) return ip;
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = lower.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export interface PasswordHasherOptions {
  /** Checks run at once: bcrypt worker threads, and scrypt jobs on the libuv pool. */
  readonly threads: number;
  /** Checks that may wait for a thread; more are refused. */
  readonly maxQueue: number;
}

/** The default: one thread per core but one (the event loop's), at most 4; 16 waiting per thread. */
export function defaultHasherOptions(): PasswordHasherOptions {
  const threads = Math.max(1, Math.min(4, availableParallelism() - 1));
  return { threads, maxQueue: 16 * threads };
}

/** bcryptjs in a worker: CommonJS evaluated as a script, loading the package by absolute path. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcrypt);
parentPort.on('message', (job) => {
  let ok = false;
  let error;
  try {
    ok = bcrypt.compareSync(job.password, job.encoded);
  } catch (err) {
    error = String(err);
  }
  parentPort.postMessage({ id: job.id, ok, error });
});
`;

interface BcryptJob {
  readonly id: number;
  resolve(ok: boolean): void;
  reject(err: Error): void;
}

/** One worker thread checking bcrypt hashes, one at a time. */
class BcryptWorker {
  private readonly worker: Worker;
  private readonly jobs = new Map<number, BcryptJob>();
  private nextId = 0;
  dead = false;

  constructor(bcryptPath: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcrypt: bcryptPath } });
    this.worker.on('message', (m: { id: number; ok: boolean; error?: string }) => {
      const job = this.jobs.get(m.id);
      if (!job) return;
      this.jobs.delete(m.id);
      if (this.jobs.size === 0) this.worker.unref();
      if (m.error !== undefined) job.reject(new Error(m.error));
      else job.resolve(m.ok);
    });
    const fail = (err: unknown) => {
      this.dead = true;
      for (const job of this.jobs.values()) job.reject(err instanceof Error ? err : new Error(String(err)));
      this.jobs.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`password worker exited (${code})`)));
    // Idle, the worker keeps no process alive (a gateway that shut down, a CLI run); busy, it does, so a
    // check awaited with nothing else running gets its answer. Last, because adding a 'message'
    // listener refs the worker's port again: unref'd before it, an idle worker held its process forever.
    this.worker.unref();
  }

  get busy(): number {
    return this.jobs.size;
  }

  compare(password: string, encoded: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      if (this.jobs.size === 0) this.worker.ref();
      this.jobs.set(id, { id, resolve, reject });
      this.worker.postMessage({ id, password, encoded });
    });
  }

  terminate(): Promise<number> {
    this.dead = true;
    return this.worker.terminate();
  }
}

/**
 * Runs password checks off the event loop, `threads` at a time, with a
 * bounded wait queue. One check may compute several hashes (basic-auth checks
 * one of each configured profile), run together in one slot.
 */
export class PasswordHasher {
  /** Hash computations done, by kind (tests count them to show every path does the same work). */
  readonly computed = { scrypt: 0, bcrypt: 0 };
  /** Checks refused because the queue was full. */
  refused = 0;
  /** Checks refused because their client had its share running and waiting. */
  refusedForClient = 0;
  private running = 0;
  /** Checks running and waiting, by client share key. */
  private readonly perClient = new Map<string, number>();
  private readonly waiting: Array<() => void> = [];
  private workers: BcryptWorker[] = [];
  private nextWorker = 0;
  private readonly bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');

  constructor(private options: PasswordHasherOptions = defaultHasherOptions()) {}

  get threads(): number {
    return this.options.threads;
  }

  /** Checks in progress and waiting. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Starts the bcrypt workers now, so the first bcrypt check does not also pay for a thread start. */
  warm(): void {
    this.worker();
  }

  /**
   * Checks `password` against every hash, together, and answers per hash.
   * Throws PasswordQueueFullError at once when threads and queue are full, and
   * PasswordClientShareError at once when `client` already has `limit` checks
   * running and waiting (so one address cannot take the whole queue).
   */
  async check(password: string, hashes: readonly PasswordHash[], client?: PasswordClient): Promise<boolean[]> {
    if (!client) return this.slot(password, hashes);
    const key = clientShareKey(client.ip);
    const held = this.perClient.get(key) ?? 0;
    if (held >= client.limit) {
      this.refusedForClient++;
      throw new PasswordClientShareError(client.limit);
    }
    this.perClient.set(key, held + 1);
    try {
      return await this.slot(password, hashes);
    } finally {
      const left = (this.perClient.get(key) ?? 1) - 1;
      if (left <= 0) this.perClient.delete(key);
      else this.perClient.set(key, left);
    }
  }

  private async slot(password: string, hashes: readonly PasswordHash[]): Promise<boolean[]> {
    if (this.running >= this.options.threads) {
      if (this.waiting.length >= this.options.maxQueue) {
        this.refused++;
        throw new PasswordQueueFullError(this.waiting.length);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await Promise.all(hashes.map((h) => this.one(password, h)));
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Replaces the limits (tests; a smaller thread count takes effect as running checks finish). */
  async configure(options: PasswordHasherOptions): Promise<void> {
    this.options = options;
    const old = this.workers;
    this.workers = [];
    await Promise.all(old.map((w) => w.terminate()));
  }

  private one(password: string, stored: PasswordHash): Promise<boolean> {
    const normalized = password.normalize('NFC');
    if (stored.kind === 'bcrypt') {
      this.computed.bcrypt++;
      return this.worker().compare(normalized, stored.encoded);
    }
    this.computed.scrypt++;
    return scrypt(normalized, stored.salt, stored.hash.length, stored.params).then((computed) => timingSafeEqual(computed, stored.hash));
  }

  private worker(): BcryptWorker {
    this.workers = this.workers.filter((w) => !w.dead);
    while (this.workers.length < this.options.threads) this.workers.push(new BcryptWorker(this.bcryptPath));
    // The least busy worker (round robin among equals).
    let best = this.workers[this.nextWorker++ % this.workers.length]!;
    for (const w of this.workers) if (w.busy < best.busy) best = w;
    return best;
  }
}

let shared: PasswordHasher | undefined;

/** The process-wide hasher: CPU is shared by every policy, so is the limit. */
export function passwordHasher(): PasswordHasher {
  shared ??= new PasswordHasher();
  return shared;
}

/** Checks a password against a stored hash in constant time, off the event loop (the shared hasher's limits apply). */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const [ok] = await passwordHasher().check(password, [stored]);
  return ok === true;
}
