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
 * aborted is replaced without touching the others. Engines are made in the
 * function's worker thread (thread.ts); the checker of config loads is in
 * checker.ts, on the main thread.
 */
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSSyncVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import * as variantModule from '@jitl/quickjs-wasmfile-release-sync';

// The package is CommonJS with an ESM face: its default export is the variant, whichever way it is loaded.
const variant = ((variantModule as { default?: unknown }).default ?? variantModule) as QuickJSSyncVariant;

export type Engine = QuickJSWASMModule;

// The project's TypeScript lib (no DOM) declares WebAssembly's types but not its values.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => WasmMemory; RuntimeError: new () => Error } }).WebAssembly;

/** Whether an error is a WebAssembly trap: the engine that threw it is unusable. */
export function isEngineTrap(err: unknown): boolean {
  return err instanceof wasm.RuntimeError;
}

/** WebAssembly pages are 64 KiB; an engine starts with 16 MiB (the build's initial memory). */
const PAGE = 65536;
export const ENGINE_START_BYTES = 16 * 1024 * 1024;

/**
 * A new engine whose WebAssembly memory can never grow past `maxBytes`: the
 * hard memory limit. QuickJS's own allocator limit does not hold in this
 * build (without malloc_usable_size it counts ~8 bytes per allocation, so
 * 400 MB of typed arrays passed an 8 MiB limit), but a memory created with a
 * maximum refuses to grow past it: malloc then fails inside the engine and
 * QuickJS throws "out of memory" (measured: a Float64Array bomb stopped at a
 * 48 MiB cap in ~130 ms, where it used to run ~5 s up to 2 GiB).
 */
export function newEngine(maxBytes: number): Promise<Engine> {
  const pages = Math.max(ENGINE_START_BYTES / PAGE, Math.ceil(maxBytes / PAGE));
  const wasmMemory = new wasm.Memory({ initial: ENGINE_START_BYTES / PAGE, maximum: pages });
  // The option is typed with the DOM lib's WebAssembly.Memory, which this project does not load.
  return newQuickJSWASMModuleFromVariant(
    newVariant(variant, {
      wasmMemory: wasmMemory as never,
      // Emscripten prints an abort ("Aborted(Assertion failed: ...)") to stderr before it throws the RuntimeError that
      // carries the same text; the thread logs that error as a structured line and replaces the engine (thread.ts).
      // A raw line on the gateway's stderr would be outside the log, so the engine's own printing goes nowhere.
      emscriptenModule: { printErr: dropEnginePrint, print: dropEnginePrint } as never,
    }),
  );
}

function dropEnginePrint(): void {
  // Nothing: see newEngine.
}

/**
 * The size of an engine's WebAssembly memory: a grown engine is replaced
 * after the call (WebAssembly memory never shrinks).
 */
export function engineBytes(engine: Engine): number {
  return (engine as unknown as { module: { HEAPU8: Uint8Array } }).module.HEAPU8.byteLength;
}
