/**
 * The engine config loads check modules in: one instance on the main thread,
 * loaded at import, for the synchronous check at config load that a module
 * evaluates and exports a handler (registry.ts checkModule); replaced when a
 * module's top level grew it. Calls never run here: they run in the
 * function's worker thread (thread.ts).
 */
import { ENGINE_START_BYTES, engineBytes, newEngine, type Engine } from './engine.js';

/** The checker's cap: a module's top level checked at load may use 64 MiB of heap (registry.ts CHECK_MEMORY) and some. */
export const CHECKER_MAX_BYTES = ENGINE_START_BYTES + 128 * 1024 * 1024;

let checker: Engine = await newEngine(CHECKER_MAX_BYTES);
let replacing = false;

/** The engine config loads check modules in (synchronously: compile is synchronous). */
export function checkerEngine(): Engine {
  return checker;
}

/** A module's top level grew the checker past `budget`: a fresh one replaces it for the next loads (wasm memory never shrinks). */
export function renewCheckerIfGrown(budget: number): void {
  if (replacing || engineBytes(checker) <= budget) return;
  replacing = true;
  void newEngine(CHECKER_MAX_BYTES).then(
    (engine) => {
      checker = engine;
      replacing = false;
    },
    () => (replacing = false),
  );
}

