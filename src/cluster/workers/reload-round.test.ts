/**
 * The all-or-nothing reload across workers, decided by ReloadRound: commit
 * only when every worker prepared the config; one refusal, a worker that
 * exits or one that stays silent, and every worker is told to abort, those
 * still preparing too. The messages are what the supervisor relays (no
 * process here: test/e2e/workers-node.test.ts runs real workers).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReloadRound } from './reload-round.js';
import { restartDelay } from './supervisor.js';

function round(members: number[], timeoutMs = 60_000) {
  const told: Array<[number, boolean]> = [];
  const r = new ReloadRound(1, new Set(members), (m, commit) => told.push([m, commit]), timeoutMs, 'gateway.yaml');
  return { r, told };
}

describe('a reload round across workers', () => {
  it('commits when every worker prepared, and ends when all have reloaded', async () => {
    const { r, told } = round([0, 1, 2]);
    r.preparedBy(0);
    r.preparedBy(1);
    assert.deepEqual(told, [], 'nothing swaps while a worker is still preparing');
    r.preparedBy(2);
    assert.deepEqual(told, [[0, true], [1, true], [2, true]]);
    for (const m of [0, 1, 2]) r.reloadedBy(m, true, []);
    assert.deepEqual(await r.result, { committed: true, refusals: [], failed: [], failures: [] });
  });

  it('aborts every worker when one refuses, those still preparing included', async () => {
    const { r, told } = round([0, 1, 2]);
    r.preparedBy(0);
    r.refusedBy(1, [{ file: 'gateway.yaml', line: 3, path: 'routes[0]', message: 'bad' }]);
    // Worker 0 waits prepared, worker 2 is still preparing: both are told to drop it.
    assert.deepEqual(told, [[0, false], [2, false]]);
    r.reloadedBy(0, false, []);
    r.preparedBy(2); // its prepare ended after the decision: it was already told
    r.reloadedBy(2, false, []);
    const result = await r.result;
    assert.equal(result.committed, false);
    assert.deepEqual(result.refusals, [{ file: 'gateway.yaml', line: 3, path: 'routes[0]', message: 'worker 1: bad' }]);
  });

  it('aborts when a worker exits while preparing', async () => {
    const { r, told } = round([0, 1]);
    r.preparedBy(0);
    r.exited(1);
    assert.deepEqual(told, [[0, false]]);
    r.reloadedBy(0, false, []);
    const result = await r.result;
    assert.equal(result.committed, false);
    assert.match(result.refusals[0]!.message, /worker 1 exited during the reload/);
  });

  it('aborts when a worker stays silent past the time allowed', async () => {
    const { r, told } = round([0, 1], 50);
    r.preparedBy(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The silent one too: should it wake up, it drops the config rather than swap alone.
    assert.deepEqual(told, [[0, false], [1, false]]);
    r.reloadedBy(0, false, []);
    r.refusedBy(1, []);
    const result = await r.result;
    assert.equal(result.committed, false);
    assert.match(result.refusals[0]!.message, /worker 1 did not prepare the config/);
  });

  it('reports a worker that was told to commit and could not', async () => {
    const { r } = round([0, 1]);
    r.preparedBy(0);
    r.preparedBy(1);
    r.reloadedBy(0, true, []);
    r.reloadedBy(1, false, [{ file: 'gateway.yaml', line: 0, path: 'listeners', message: 'EADDRINUSE' }]);
    const result = await r.result;
    assert.equal(result.committed, true);
    assert.deepEqual(result.failed, [1]);
  });
});

describe('the restart backoff of a crashed worker', () => {
  it('starts at 100 ms, doubles with each crash of the last minute, stops at 30 s', () => {
    assert.deepEqual([1, 2, 3, 4, 9, 50].map(restartDelay), [100, 200, 400, 800, 25_600, 30_000]);
  });
});
