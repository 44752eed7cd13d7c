/**
 * The limit algorithms in plain TypeScript, for the memory store. The Redis
 * store runs the same arithmetic in Lua (scripts.ts); the contract suite
 * holds both to the same answers.
 */
import type { BucketDecision, WindowDecision, WindowLimit } from './store.js';

/** One limit's counts: the fixed window `index` (time ÷ windowMs) and the one before it. */
export interface WindowState {
  windowMs: number;
  index: number;
  current: number;
  previous: number;
}

/** Float error guard: 4.9999999 units of room still fit 5. */
const EPSILON = 1e-9;
/** A wait that will never end (a cost larger than the limit): reported as one window. */
const NEVER = -1;

/**
 * Decides a hitWindows call and updates `states` in place (one per limit, in
 * the limits' order; missing ones are created).
 */
export function hitWindows(
  states: WindowState[],
  limits: readonly WindowLimit[],
  now: number,
  sliding: boolean,
  cost: number,
  partial: boolean,
): WindowDecision {
  const n = limits.length;
  const used = new Array<number>(n);
  const offsets = new Array<number>(n);
  let grant = cost;
  for (let i = 0; i < n; i++) {
    const { limit, windowMs } = limits[i]!;
    const index = Math.floor(now / windowMs);
    let state = states[i];
    if (!state || state.windowMs !== windowMs) state = states[i] = { windowMs, index, current: 0, previous: 0 };
    roll(state, index);
    offsets[i] = now - index * windowMs;
    const weight = sliding ? (windowMs - offsets[i]!) / windowMs : 0;
    used[i] = state.current + state.previous * weight;
    const fit = Math.floor(limit - used[i]! + EPSILON);
    if (fit < grant) grant = fit;
  }
  const allowed = partial ? grant >= 1 : grant >= cost;
  if (!allowed) grant = 0;
  const remaining = new Array<number>(n);
  const resetMs = new Array<number>(n);
  let retryAfterMs = 0;
  const need = partial ? 1 : cost;
  for (let i = 0; i < n; i++) {
    const { limit, windowMs } = limits[i]!;
    const state = states[i]!;
    if (allowed) state.current += grant;
    remaining[i] = Math.max(0, Math.floor(limit - used[i]! - grant + EPSILON));
    resetMs[i] = windowMs - offsets[i]!;
    if (!allowed && Math.floor(limit - used[i]! + EPSILON) < need) {
      const wait = windowWait(state, limit, windowMs, offsets[i]!, sliding, need);
      retryAfterMs = Math.max(retryAfterMs, wait === NEVER ? windowMs : wait);
    }
  }
  return { allowed, granted: grant, remaining, resetMs, retryAfterMs: allowed ? 0 : Math.max(1, Math.ceil(retryAfterMs)) };
}

function roll(state: WindowState, index: number): void {
  if (state.index === index) return;
  state.previous = state.index === index - 1 ? state.current : 0;
  state.current = 0;
  state.index = index;
}

/** Milliseconds until `need` units fit under one limit. */
function windowWait(state: WindowState, limit: number, windowMs: number, offset: number, sliding: boolean, need: number): number {
  if (need > limit) return NEVER;
  const toNext = windowMs - offset;
  if (!sliding) return toNext;
  // The previous window's weight falls linearly to 0 across the current one.
  const room = limit - state.current - need;
  if (room >= 0 && state.previous > 0) return Math.max(0, toNext - (room * windowMs) / state.previous);
  // The current window alone is too full: wait into the next, where it becomes the previous.
  const into = state.current > 0 ? windowMs * (1 - (limit - need) / state.current) : 0;
  return toNext + Math.max(0, into);
}

/**
 * GCRA: `tat` is the theoretical arrival time of the next request on an
 * empty bucket. Returns the decision and the new tat (undefined: unchanged).
 */
export function takeTokens(
  storedTat: number | undefined,
  now: number,
  intervalMs: number,
  burst: number,
  cost: number,
): { decision: BucketDecision; tat: number | undefined } {
  const tat = storedTat === undefined || storedTat < now ? now : storedTat;
  const capacity = intervalMs * burst;
  const next = tat + intervalMs * cost;
  const allowAt = next - capacity;
  if (now < allowAt) {
    const retry = cost > burst ? capacity : allowAt - now;
    return {
      decision: {
        allowed: false,
        remaining: Math.max(0, Math.floor((capacity - (tat - now)) / intervalMs + EPSILON)),
        resetMs: Math.ceil(tat - now),
        retryAfterMs: Math.max(1, Math.ceil(retry)),
      },
      tat: undefined,
    };
  }
  return {
    decision: {
      allowed: true,
      remaining: Math.max(0, Math.floor((capacity - (next - now)) / intervalMs + EPSILON)),
      resetMs: Math.ceil(next - now),
      retryAfterMs: 0,
    },
    tat: next,
  };
}
