/**
 * Watches certificate, key, CA and CRL files and calls back once they have
 * settled. Polling (fs.watchFile) rather than inotify: it follows a path, so
 * it survives the atomic rename that certificate tools (and Kubernetes
 * secret volumes, through their symlink swap) use to replace files.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';

/** Time for a cert and its key, written one after the other, to both land. */
const SETTLE_MS = 300;

export class FileWatcher {
  private files: readonly string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly listener = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onChange, SETTLE_MS);
    this.timer.unref();
  };

  constructor(
    private readonly onChange: () => void,
    private readonly intervalMs = 1000,
  ) {}

  /** Watches exactly `files` from now on. */
  watch(files: readonly string[]): void {
    const next = new Set(files);
    for (const file of this.files) if (!next.has(file)) unwatchFile(file, this.listener);
    const current = new Set(this.files);
    for (const file of next) if (!current.has(file)) watchFile(file, { interval: this.intervalMs, persistent: false }, this.listener);
    this.files = [...next];
  }

  close(): void {
    clearTimeout(this.timer);
    this.watch([]);
  }
}
