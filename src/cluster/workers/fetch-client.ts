/**
 * A worker's side of the node's identity-provider fetches (fetch-host.ts):
 * it asks the supervisor before fetching JWKS or discovery, and fetches only
 * when told to, handing its answer back for the other workers. An answer that
 * does not come within ASK_TIMEOUT_MS (plus the fetch's own time limit, which
 * another worker's fetch may be using) is not waited for: the worker fetches
 * on its own, as one process would (a busy supervisor costs a fetch, never an
 * outage).
 */
import { DependencyUnavailableError } from '../../errors.js';
import type { JsonResponse } from '../../identity/http.js';
import type { FetchAnswer as Answered, FetchShare, FetchWant } from '../../identity/shared-fetch.js';
import type { FromWorker, ToWorker } from './protocol.js';

const ASK_TIMEOUT_MS = 5_000;

interface Asking {
  readonly key: string;
  readonly run: () => Promise<JsonResponse>;
  readonly resolve: (answer: Answered) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class FetchClient implements FetchShare {
  private nextId = 1;
  private readonly asking = new Map<number, Asking>();

  constructor(private readonly send: (message: FromWorker) => void) {}

  fetch(key: string, want: FetchWant, run: () => Promise<JsonResponse>): Promise<Answered> {
    const id = this.nextId++;
    return new Promise<Answered>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.asking.delete(id);
        this.go(id, key, run, false).then(resolve, reject);
      }, ASK_TIMEOUT_MS + (want.timeoutMs ?? 0));
      this.asking.set(id, { key, run, resolve, reject, timer });
      this.send({ t: 'fetch', id, key, want });
    });
  }

  /** The supervisor's answer: fetch (go), another worker's answer, or another worker's failure. */
  answered(message: Extract<ToWorker, { t: 'fetch-r' }>): void {
    const asking = this.asking.get(message.id);
    if (!asking) return;
    this.asking.delete(message.id);
    clearTimeout(asking.timer);
    if (message.go) this.go(message.id, asking.key, asking.run, true).then(asking.resolve, asking.reject);
    else if (message.error !== undefined) asking.reject(new DependencyUnavailableError(whatOf(asking.key), { cause: new Error(message.error) }));
    else asking.resolve({ res: message.res ?? { status: 0, body: undefined }, at: message.at ?? Date.now() });
  }

  private async go(id: number, key: string, run: () => Promise<JsonResponse>, report: boolean): Promise<Answered> {
    try {
      const res = await run();
      if (report) this.send({ t: 'fetched', id, key, res });
      return { res, at: Date.now() };
    } catch (err) {
      // The cause says why (refused, timed out, 5xx): what the other workers log as theirs.
      const e = err as Error & { cause?: unknown };
      if (report) this.send({ t: 'fetched', id, key, error: e.cause instanceof Error ? e.cause.message : e.message });
      throw err;
    }
  }

  close(): void {
    for (const asking of this.asking.values()) clearTimeout(asking.timer);
    this.asking.clear();
  }
}

function whatOf(key: string): string {
  return key.startsWith('discovery ') ? 'OIDC discovery' : 'JWKS';
}
