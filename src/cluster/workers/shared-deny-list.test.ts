/**
 * The deny list across workers: a change made in one worker's list reaches
 * the others and the supervisor's copy (through JSON, as on the channel),
 * with the same expiry; a worker that starts later gets the node's list.
 * The lists are real; the channel is a function that passes each change on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicDenyList } from '../../defense/deny-list.js';
import type { DenyChange } from './protocol.js';
import { applyDenyChange, denyListChanges, SharedDenyList } from './shared-deny-list.js';

function node(workers: number) {
  const supervisor = new DynamicDenyList();
  const lists: SharedDenyList[] = [];
  const join = () => {
    const list = new SharedDenyList();
    for (const change of denyListChanges(supervisor)) list.apply(JSON.parse(JSON.stringify(change)) as DenyChange);
    list.share = (change) => {
      const sent = JSON.parse(JSON.stringify(change)) as DenyChange;
      applyDenyChange(supervisor, sent);
      for (const other of lists) if (other !== list) other.apply(sent);
    };
    lists.push(list);
    return list;
  };
  for (let i = 0; i < workers; i++) join();
  return { supervisor, lists, join };
}

describe('the deny list shared by the workers of a node', () => {
  it('refuses on every worker an address or network denied on one, until the same moment', () => {
    const { lists } = node(3);
    const entry = lists[0]!.add('203.0.113.7', 60_000, 'scanner');
    lists[1]!.add('198.51.100.0/24');
    for (const list of lists) {
      assert.equal(list.has('203.0.113.7'), true);
      assert.equal(list.has('198.51.100.42'), true);
      assert.equal(list.has('192.0.2.1'), false);
    }
    assert.equal(lists[2]!.entries().find((e) => e.target === '203.0.113.7')!.expiresAt, entry.expiresAt);
    assert.equal(lists[2]!.entries().find((e) => e.target === '198.51.100.0/24')!.expiresAt, Infinity);
  });

  it('passes removals and a clear on, and gives a worker that starts later the node\'s list', () => {
    const { lists, join } = node(2);
    lists[0]!.add('203.0.113.7');
    lists[0]!.add('203.0.113.8');
    lists[1]!.remove('203.0.113.7');
    assert.equal(lists[0]!.has('203.0.113.7'), false);
    const late = join();
    assert.deepEqual(late.entries().map((e) => e.target), ['203.0.113.8']);
    late.clear();
    assert.equal(lists[0]!.size + lists[1]!.size, 0);
  });
});
