/**
 * The file sink: records appended to a file, one per line, with rotation by
 * size and/or time (FILE → FILE.1 → ... → FILE.keep, the oldest removed), and
 * reopen() for logrotate: it renames FILE and sends SIGUSR1; the gateway then
 * opens a new FILE at the same path (no copytruncate, so no line is lost or cut
 * between a copy and a truncate).
 *
 * A write succeeds once the kernel has it: a file survives a gateway crash,
 * not a power loss (no fsync per batch; the spool is where that matters).
 * Files are created 0600: events name clients and consumers.
 */
import { mkdirSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Transport } from './delivery.js';

export interface FileOptions {
  readonly path: string;
  readonly maxBytes?: number;
  readonly intervalMs?: number;
  readonly keep: number;
}

export class FileTransport implements Transport {
  private handle: FileHandle | undefined;
  private size = 0;
  private openedAt = 0;
  private reopenAsked = false;
  /** File operations one at a time: a reopen never lands in the middle of a write. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: FileOptions) {}

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => {});
    return next;
  }

  private async ensureOpen(): Promise<FileHandle> {
    if (this.reopenAsked) {
      this.reopenAsked = false;
      await this.closeHandle();
    }
    if (!this.handle) {
      mkdirSync(dirname(this.options.path), { recursive: true });
      this.handle = await open(this.options.path, 'a', 0o600);
      this.size = (await this.handle.stat()).size;
      this.openedAt = Date.now();
    }
    return this.handle;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private due(bytes: number): boolean {
    const { maxBytes, intervalMs } = this.options;
    if (this.size === 0) return false;
    if (maxBytes !== undefined && this.size + bytes > maxBytes) return true;
    return intervalMs !== undefined && Date.now() - this.openedAt >= intervalMs;
  }

  private async rotate(): Promise<void> {
    await this.closeHandle();
    const { path, keep } = this.options;
    await rm(`${path}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => {});
    }
    await rename(path, `${path}.1`);
  }

  send(units: readonly string[]): Promise<void> {
    return this.serial(async () => {
      const text = units.join('\n') + '\n';
      const bytes = Buffer.byteLength(text);
      await this.ensureOpen();
      if (this.due(bytes)) {
        await this.rotate();
        await this.ensureOpen();
      }
      await this.handle!.write(text);
      this.size += bytes;
    });
  }

  /** SIGUSR1: the file at the path may have been moved; open it anew now. */
  reopen(): void {
    this.reopenAsked = true;
    void this.serial(async () => {
      if (this.reopenAsked) await this.ensureOpen();
    }).catch(() => {});
  }

  close(): Promise<void> {
    return this.serial(() => this.closeHandle());
  }
}

