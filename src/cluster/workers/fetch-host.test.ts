import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FetchHost } from './fetch-host.js';
import type { ToWorker } from './protocol.js';

type Sent = [number, Extract<ToWorker, { t: 'fetch-r' }>];
const refresh = { maxAgeMs: 60_000, failMs: 30_000 };

describe('one identity-provider fetch per node (FetchHost)', () => {
  it('has the first asker fetch, gives its answer to those who waited, and again to later askers while fresh', () => {
    const sent: Sent[] = [];
    const host = new FetchHost((w, m) => sent.push([w, m]));
    host.asked(1, 1, 'jwks u', refresh);
    host.asked(2, 1, 'jwks u', refresh);
    assert.deepEqual(sent, [[1, { t: 'fetch-r', id: 1, go: true }]]);
    host.fetched(1, 1, 'jwks u', { res: { status: 200, body: { keys: [] } } });
    assert.equal(sent[1]![0], 2);
    assert.deepEqual(sent[1]![1].res, { status: 200, body: { keys: [] } });
    host.asked(3, 1, 'jwks u', refresh);
    assert.equal(sent[2]![1].go, undefined, 'fresh enough: no fetch');
    host.asked(3, 2, 'jwks u', { maxAgeMs: -1, failMs: 0 });
    assert.equal(sent[3]![1].go, true, 'too old for this asker: it fetches');
    host.close();
  });

  it('shares a failure for failMs, and a miss refetches once per cooldown for the node', () => {
    const sent: Sent[] = [];
    const host = new FetchHost((w, m) => sent.push([w, m]));
    host.asked(1, 1, 'k', refresh);
    host.fetched(1, 1, 'k', { error: 'connect ECONNREFUSED' });
    host.asked(2, 1, 'k', refresh);
    assert.equal(sent.at(-1)![1].error, 'connect ECONNREFUSED');
    const miss = { maxAgeMs: 0, failMs: 0, miss: { cooldownMs: 60_000 } };
    host.asked(2, 2, 'k', miss);
    assert.equal(sent.at(-1)![1].go, true);
    host.fetched(2, 2, 'k', { res: { status: 200, body: {} } });
    host.asked(3, 1, 'k', miss);
    assert.deepEqual(sent.at(-1)![1].res, { status: 200, body: {} }, 'within the cooldown: the latest answer');
    host.close();
  });

  it('hands a fetch on to the next waiter when the fetching worker exits', () => {
    const sent: Sent[] = [];
    const host = new FetchHost((w, m) => sent.push([w, m]));
    host.asked(1, 1, 'k', refresh);
    host.asked(2, 5, 'k', refresh);
    host.exited(1);
    assert.deepEqual(sent.at(-1), [2, { t: 'fetch-r', id: 5, go: true }]);
    host.close();
  });
});
