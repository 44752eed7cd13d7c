/**
 * The functions' engine (engine.ts): what it prints. An abort inside the
 * WebAssembly build (here, freeing a runtime that still holds an object,
 * as a call cut short by its memory limit can leave one) must reach the
 * gateway as the RuntimeError the thread logs and recovers from, not as a
 * raw "Aborted(...)" line on the process's stderr.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineTrap, newEngine } from './engine.js';

describe('functions engine', () => {
  it('throws an abort as a trap and prints nothing to stderr', async () => {
    const engine = await newEngine(32 * 1024 * 1024);
    const rt = engine.newRuntime();
    const ctx = rt.newContext();
    // A handle left alive: QuickJS asserts on it when its runtime is freed.
    ctx.newObject();
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      written.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    let thrown: unknown;
    try {
      // Everything from here to the throw is synchronous: no other test's output can land in `written`.
      ctx.dispose();
      rt.dispose();
    } catch (err) {
      thrown = err;
    } finally {
      process.stderr.write = write;
    }
    assert.ok(isEngineTrap(thrown), `expected the engine's RuntimeError, got ${String(thrown)}`);
    assert.match((thrown as Error).message, /Aborted\(Assertion failed/);
    assert.deepEqual(written.filter((w) => w.includes('Aborted(')), []);
  });
});
