import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SniTable } from './sni.js';

describe('SNI table', () => {
  const table = new SniTable(
    [
      { hosts: ['api.example.com'], value: 'api' },
      { hosts: ['*.example.com'], value: 'wild' },
      { hosts: ['*.apps.example.com', 'apps.example.com'], value: 'apps' },
    ],
    'default',
  );

  it('prefers the exact name, then a wildcard one label up, then the default', () => {
    assert.equal(table.lookup('api.example.com'), 'api');
    assert.equal(table.lookup('API.EXAMPLE.COM.'), 'api', 'case and a trailing dot do not matter');
    assert.equal(table.lookup('www.example.com'), 'wild');
    assert.equal(table.lookup('x.apps.example.com'), 'apps');
    assert.equal(table.lookup('apps.example.com'), 'apps');
    assert.equal(table.lookup('a.b.example.com'), 'default', 'a wildcard covers one label, as in X.509');
    assert.equal(table.lookup('example.com'), 'default');
    assert.equal(table.lookup(undefined), 'default');
  });

  it('has nothing for unknown names when there is no default', () => {
    const strict = new SniTable([{ hosts: ['a.example'], value: 1 }], undefined);
    assert.equal(strict.lookup('b.example'), undefined);
    assert.equal(strict.lookup(''), undefined);
    assert.equal(strict.lookup('a.example'), 1);
  });
});
