import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { upgradeHead } from './respond.js';

describe('the 101 head of a WebSocket tunnel', () => {
  it('writes the headers after connection and upgrade', () => {
    assert.equal(
      upgradeHead({ 'sec-websocket-accept': 'abc=', 'x-request-id': 'r1', 'set-cookie': ['a=1', 'b=2'] }),
      'HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n' +
        'sec-websocket-accept: abc=\r\nx-request-id: r1\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n',
    );
  });

  it('refuses a value with CR or LF, or another control character, rather than splitting the head', () => {
    assert.equal(upgradeHead({ 'x-a': 'ok\r\nset-cookie: evil=1' }), undefined);
    assert.equal(upgradeHead({ 'x-a': 'ok\nx' }), undefined);
    assert.equal(upgradeHead({ 'x-a': ['fine', 'bad\u0000'] }), undefined);
  });

  it('refuses a name that is not a token', () => {
    assert.equal(upgradeHead({ 'x a': '1' }), undefined);
    assert.equal(upgradeHead({ 'x-a\r\nx-b': '1' }), undefined);
    assert.equal(upgradeHead({ '': '1' }), undefined);
  });
});
