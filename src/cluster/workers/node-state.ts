/**
 * A node of workers seen as one node (a data plane's report to its control
 * plane, docs/fleet.md): the supervisor asks every worker for its state and
 * folds the answers. Ready only when every configured worker serves and
 * says it is ready; the version is the lowest any worker serves (as
 * portcullis_config_version on /metrics); request counts are summed.
 */
import type { WorkerState } from './protocol.js';

/** How long a worker has to answer before the node is reported not ready on its account. */
const STATE_TIMEOUT_MS = 5_000;

export type NodeState = WorkerState;

interface Ask {
  readonly pending: Set<number>;
  readonly answers: Map<number, WorkerState>;
  readonly done: () => void;
}

export class NodeStateGather {
  private readonly asks = new Map<number, Ask>();
  private next = 1;

  /** `send` asks one worker (by slot) and returns false when it is not there to ask. */
  constructor(private readonly send: (slot: number, id: number) => boolean) {}

  /** Every configured slot's state, folded. */
  async gather(slots: readonly number[]): Promise<NodeState> {
    const id = this.next++;
    const answers = new Map<number, WorkerState>();
    const pending = new Set<number>();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, STATE_TIMEOUT_MS);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.asks.set(id, { pending, answers, done });
      for (const slot of slots) if (this.send(slot, id)) pending.add(slot);
      if (pending.size === 0) done();
    });
    this.asks.delete(id);
    return fold(slots, answers);
  }

  answered(slot: number, id: number, state: WorkerState): void {
    const ask = this.asks.get(id);
    if (!ask || !ask.pending.delete(slot) || !isState(state)) return;
    ask.answers.set(slot, state);
    if (ask.pending.size === 0) ask.done();
  }
}

export function fold(slots: readonly number[], answers: ReadonlyMap<number, WorkerState>): NodeState {
  const reasons: string[] = [];
  const requests: Record<string, number> = {};
  let version = Infinity;
  for (const slot of slots) {
    const state = answers.get(slot);
    if (!state) {
      reasons.push(`worker ${slot}: not serving`);
      continue;
    }
    version = Math.min(version, state.version);
    if (!state.ready) reasons.push(...state.reasons.map((r) => `worker ${slot}: ${r}`));
    for (const [cls, n] of Object.entries(state.requests)) requests[cls] = (requests[cls] ?? 0) + n;
  }
  return { version: Number.isFinite(version) ? version : 0, ready: slots.length > 0 && reasons.length === 0, reasons: reasons.slice(0, 32), requests };
}

function isState(state: unknown): state is WorkerState {
  const s = state as Partial<WorkerState> | null;
  return typeof s === 'object' && s !== null && typeof s.version === 'number' && typeof s.ready === 'boolean' && Array.isArray(s.reasons) && typeof s.requests === 'object' && s.requests !== null;
}
