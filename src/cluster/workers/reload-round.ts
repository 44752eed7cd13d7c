/**
 * One all-or-nothing reload across workers (prepare, then commit): every
 * member prepares the config and says so; once all have, all are told to
 * commit; the first refusal (or a member that exits, or the time running
 * out) tells all to abort, those still preparing included. The round ends
 * when every member has reported how its reload ended (or has exited).
 */
import type { ConfigIssue } from '../../config/errors.js';

export interface RoundResult {
  readonly committed: boolean;
  /** Why it was aborted: the refusing workers' issues. */
  readonly refusals: ConfigIssue[];
  /** Workers that were told to commit and could not (they still serve the old config). */
  readonly failed: number[];
  readonly failures: ConfigIssue[];
}

export class ReloadRound {
  private phase: 'prepare' | 'decided' = 'prepare';
  private committed = false;
  private readonly prepared = new Set<number>();
  private readonly finished = new Set<number>();
  private readonly refusals: ConfigIssue[] = [];
  private readonly failures: ConfigIssue[] = [];
  private readonly failed: number[] = [];
  private readonly timer: NodeJS.Timeout;
  private resolve!: (result: RoundResult) => void;
  readonly result = new Promise<RoundResult>((resolve) => (this.resolve = resolve));

  constructor(
    readonly id: number,
    private readonly members: ReadonlySet<number>,
    /** Sends the decision to a member that has not finished yet. */
    private readonly tell: (member: number, commit: boolean) => void,
    timeoutMs: number,
    private readonly file: string,
  ) {
    this.timer = setTimeout(() => {
      const silent = [...members].filter((m) => !this.prepared.has(m) && !this.finished.has(m));
      this.refuse({ file, line: 0, path: '(worker)', message: `worker ${silent.join(', ')} did not prepare the config within ${timeoutMs / 1000}s` });
    }, timeoutMs);
    this.timer.unref();
    if (members.size === 0) this.refuse({ file, line: 0, path: '(worker)', message: 'no worker is serving' });
  }

  preparedBy(member: number): void {
    if (!this.members.has(member)) return;
    this.prepared.add(member);
    if (this.phase === 'prepare' && [...this.members].every((m) => this.prepared.has(m))) this.decide(true);
  }

  refusedBy(member: number, issues: readonly ConfigIssue[]): void {
    if (!this.members.has(member)) return;
    this.finished.add(member);
    if (this.phase === 'prepare') {
      this.refusals.push(...issues.map((i) => ({ ...i, message: `worker ${member}: ${i.message}` })));
      this.decide(false);
    }
    this.check();
  }

  reloadedBy(member: number, ok: boolean, issues: readonly ConfigIssue[]): void {
    if (!this.members.has(member)) return;
    this.finished.add(member);
    if (this.committed && !ok) {
      this.failed.push(member);
      this.failures.push(...issues.map((i) => ({ ...i, message: `worker ${member}: ${i.message}` })));
    }
    this.check();
  }

  exited(member: number): void {
    if (!this.members.has(member) || this.finished.has(member)) return;
    this.finished.add(member);
    if (this.phase === 'prepare') this.refuse({ file: this.file, line: 0, path: '(worker)', message: `worker ${member} exited during the reload` });
    this.check();
  }

  private refuse(issue: ConfigIssue): void {
    if (this.phase !== 'prepare') return;
    this.refusals.push(issue);
    this.decide(false);
    this.check();
  }

  private decide(commit: boolean): void {
    this.phase = 'decided';
    this.committed = commit;
    clearTimeout(this.timer);
    for (const m of this.members) if (!this.finished.has(m)) this.tell(m, commit);
  }

  private check(): void {
    if (this.phase !== 'decided') return;
    if ([...this.members].every((m) => this.finished.has(m))) {
      this.resolve({ committed: this.committed, refusals: this.refusals, failed: this.failed, failures: this.failures });
    }
  }
}
