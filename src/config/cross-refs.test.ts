/**
 * The cross-reference checks on a large hostile document (found by the red
 * team: a document under 1 MiB made 465 MB of messages and took the process
 * for half a minute): every message stays short, whatever the number of
 * names, and a close name is still suggested.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crossReferenceIssues } from './cross-refs.js';

describe('cross-reference checks', () => {
  it('keep every message short on 4,000 services and 12,000 routes naming none of them', () => {
    const services = Array.from({ length: 4000 }, (_, i) => ({ name: `svc${i.toString(36)}qq` }));
    const routes = Array.from({ length: 12_000 }, () => ({ service: 'Z'.repeat(16) }));
    const issues = crossReferenceIssues({ services, routes });
    assert.equal(issues.length, 12_000);
    assert.ok(issues.every((i) => i.message.length < 200), issues[0]!.message);
  });

  it('still suggest a close name, and list the names when there are few', () => {
    const issues = crossReferenceIssues({
      services: [{ name: 'orders' }, { name: 'users' }],
      routes: [{ service: 'order' }, { service: 'billing' }],
    });
    assert.deepEqual(
      issues.map((i) => i.message),
      ['no service named "order"; did you mean "orders"?', 'no service named "billing" (services: orders, users)'],
    );
  });
});
