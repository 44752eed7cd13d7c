/**
 * Fetches from identity providers that every worker of a node would make
 * alike (JWKS, OIDC discovery), made once per node. One process: the fetch
 * just runs. A worker of a node (src/cluster/workers/) sets `share`: it asks
 * the supervisor, which answers with a result another worker fetched recently
 * enough, or makes this worker the one that fetches and hands its result to
 * every worker that asked meanwhile (docs/workers.md).
 *
 * Only the provider's raw answer (status, parsed JSON) is shared: each worker
 * still checks it (issuer, https endpoints, usable keys) as it would its own,
 * so a shared answer is judged exactly as a fetched one.
 */
import type { JsonResponse } from './http.js';

/** How recent a shared answer must be for this caller. */
export interface FetchWant {
  /** An answer (or failure) fetched at most this long ago is taken instead of fetching. */
  readonly maxAgeMs: number;
  /** A failure at most this long ago is taken as this caller's failure (a provider that is down is asked once per node). */
  readonly failMs: number;
  /**
   * A token named a key the caller does not have: a node-wide cooldown.
   * Within `cooldownMs` of the last such fetch on the node, the latest answer
   * is taken whatever its age; after it, this caller fetches (or joins a fetch
   * under way).
   */
  readonly miss?: { readonly cooldownMs: number };
  /** The fetch's own time limit: a caller waiting for another's fetch waits at least this long before fetching itself. */
  readonly timeoutMs?: number;
}

/** A provider's answer and the moment (epoch ms) it was fetched, which may be before this call. */
export interface FetchAnswer {
  readonly res: JsonResponse;
  readonly at: number;
}

export interface FetchShare {
  /** `key` names what is fetched (kind and URL); `run` fetches it, if this caller is the one to. */
  fetch(key: string, want: FetchWant, run: () => Promise<JsonResponse>): Promise<FetchAnswer>;
}

export const providerFetches: { share: FetchShare | undefined } = { share: undefined };

/** Runs `run`, or takes the node's answer when this process is a worker of a node. */
export async function sharedFetch(key: string, want: FetchWant, run: () => Promise<JsonResponse>): Promise<FetchAnswer> {
  const share = providerFetches.share;
  if (share) return share.fetch(key, want, run);
  return { res: await run(), at: Date.now() };
}
