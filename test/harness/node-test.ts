/**
 * node:test as test files see it in the one-process suite (test/all.test.ts).
 *
 * node:test files a describe() or it() under the suite whose async context made the call. A file's
 * top-level calls run while its module is evaluated, and the ES module loader evaluates modules in a
 * context of its own, not the importer's: every file's tests ended up in whichever file's suite the
 * loader first ran in, one after another, and the entry's "side by side" and "alone" phases held
 * nothing. So while the entry imports a file it sets a recorder, the top-level calls are kept, and the
 * entry replays them inside that file's suite. Outside the entry (a file run on its own, or a call made
 * inside a describe body during the replay) every function is node:test's own.
 */
import * as nodeTest from 'node:test';

export const mock = nodeTest.mock;
export const run = nodeTest.run;

type Replay = () => unknown;
const RECORDER = Symbol.for('portcullis.test.recorder');
type Holder = { [RECORDER]?: Replay[] };

/** Starts recording top-level calls; the entry calls it before importing a file, and stop() after. */
export function recordTopLevel(): { stop(): Replay[] } {
  const calls: Replay[] = [];
  (globalThis as Holder)[RECORDER] = calls;
  return {
    stop() {
      (globalThis as Holder)[RECORDER] = undefined;
      return calls;
    },
  };
}

function deferrable<F extends (...args: never[]) => unknown>(real: F): F {
  const wrapped = (...args: Parameters<F>): unknown => {
    const calls = (globalThis as Holder)[RECORDER];
    if (calls === undefined) return real(...args);
    calls.push(() => real(...args));
    return undefined;
  };
  // No .skip/.only/.todo variants: the suite has none, and a file that reaches for one fails at once.
  return wrapped as unknown as F;
}

export const describe = deferrable(nodeTest.describe);
export const suite = deferrable(nodeTest.suite);
/**
 * A test that hangs would hold the one process, and CI with it, until CI's own limit killed the run
 * with no word of which test it was. Each test gets TEST_TIMEOUT_MS (default 300 s) unless it names its
 * own timeout. On CI's machine the longest tests take under a minute and a half; on a machine loaded to
 * 20+ (helpers and a CI run side by side) the npm package test took 112 s and the CRS regression suite
 * over 180 s, which names its own longer timeout.
 */
const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 300_000);

function withTimeout<F extends (...args: never[]) => unknown>(real: F): F {
  return ((...args: unknown[]) => {
    const at = args.findIndex((arg) => typeof arg === 'object' && arg !== null);
    if (at >= 0) {
      const options = args[at] as { timeout?: number };
      if (options.timeout === undefined) args[at] = { ...options, timeout: TEST_TIMEOUT_MS };
    } else {
      args.splice(typeof args[0] === 'string' ? 1 : 0, 0, { timeout: TEST_TIMEOUT_MS });
    }
    return real(...(args as Parameters<F>));
  }) as unknown as F;
}

export const it = deferrable(withTimeout(nodeTest.it));
export const test = deferrable(withTimeout(nodeTest.test));
export const before = deferrable(nodeTest.before);
export const after = deferrable(nodeTest.after);
export const beforeEach = deferrable(nodeTest.beforeEach);
export const afterEach = deferrable(nodeTest.afterEach);
export default test;
