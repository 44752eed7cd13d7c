/**
 * The young-generation flag workers start with (worker-flags.ts): added to
 * the supervisor's flags, never over an operator's own choice. That a
 * node's workers run with it is checked in test/e2e/workers-node.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { workerExecArgv, YOUNG_GENERATION_FLAG } from './worker-flags.js';

describe('worker flags', () => {
  it('adds the young-generation flag to the supervisor flags', () => {
    assert.deepEqual(workerExecArgv(['--enable-source-maps'], undefined), ['--enable-source-maps', YOUNG_GENERATION_FLAG]);
  });

  it("keeps an operator's own semi-space size, on the command line or in NODE_OPTIONS", () => {
    assert.deepEqual(workerExecArgv(['--max-semi-space-size=64'], undefined), ['--max-semi-space-size=64']);
    assert.deepEqual(workerExecArgv(['--max_semi_space_size', '8'], ''), ['--max_semi_space_size', '8']);
    assert.deepEqual(workerExecArgv([], '--max-old-space-size=512 --max-semi-space-size=8'), []);
  });
});
