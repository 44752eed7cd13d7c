/**
 * The JavaScript engine functions run in: QuickJS compiled to WebAssembly
 * (quickjs-emscripten). Chosen over isolated-vm because no isolated-vm
 * release serves Node 20, 22 and 24 at once (5.0.4 builds on Node 20 but
 * not against Node 24's V8; 6.x and 7.x need Node 22 and 24); node:vm and
 * worker threads share the host's heap and globals and are no sandbox.
 * docs/functions.md#the-sandbox has the measurements.
 *
 * Each function gets a WebAssembly instance of its own (`newEngine`): its
 * sandboxes share nothing with another function's, and an engine that
 * aborted is replaced without touching the others. The checker is one
 * instance loaded at import, for the synchronous check at config load that a
 * module evaluates and exports a handler (replaced when a module grew it).
 */
import { newQuickJSWASMModuleFromVariant, type QuickJSSyncVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import * as variantModule from '@jitl/quickjs-wasmfile-release-sync';

// The package is CommonJS with an ESM face: its default export is the variant, whichever way it is loaded.
const variant = ((variantModule as { default?: unknown }).default ?? variantModule) as QuickJSSyncVariant;

export type Engine = QuickJSWASMModule;

export function newEngine(): Promise<Engine> {
  return newQuickJSWASMModuleFromVariant(variant);
}

let checker: Engine = await newEngine();
let replacing = false;

/** The engine config loads check modules in (synchronously: compile is synchronous). */
export function checkerEngine(): Engine {
  return checker;
}

/** A module's top level grew the checker past `budget`: a fresh one replaces it for the next loads (wasm memory never shrinks). */
export function renewCheckerIfGrown(budget: number): void {
  if (replacing || engineBytes(checker) <= budget) return;
  replacing = true;
  void newEngine().then(
    (engine) => {
      checker = engine;
      replacing = false;
    },
    () => (replacing = false),
  );
}

/**
 * The size of an engine's WebAssembly memory. QuickJS's allocator limit does
 * not see every allocation (typed arrays and large arrays grow the linear
 * memory past it, measured in the notes), so the sandbox also stops a call
 * when the engine's memory grows past a budget, and a grown engine is
 * replaced (WebAssembly memory never shrinks).
 */
export function engineBytes(engine: Engine): number {
  return (engine as unknown as { module: { HEAPU8: Uint8Array } }).module.HEAPU8.byteLength;
}
