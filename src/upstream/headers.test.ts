import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headerNameOf, responseHeadersFrom } from './headers.js';

describe('upstream response header names', () => {
  it('reads every name as its lower-case Latin-1 text, common names in any case included', () => {
    const names = [
      'Content-Type', 'CONTENT-TYPE', 'content-type', 'cOnTeNt-TyPe', 'Content_Type', 'Content-Typf', 'Content\rType',
      'Date', 'DATE', 'Dat\u00e9', 'Server', 'Set-Cookie', 'ETag', 'X-Powered-By', 'Content-Length', 'Transfer-Encoding',
      'X-Custom-Header', 'x', 'Vary', 'Vary2', 'Conn\u00c9ction', 'Connection', 'Keep-Alive', 'Upgrade', 'Trailer',
      '\u00c0ge', 'Age', 'AGE', 'age-', 'Location', 'Loc@tion', 'Lo`ation',
    ];
    for (const name of names) assert.equal(headerNameOf(Buffer.from(name, 'latin1')), name.toLowerCase(), name);
  });

  it('drops hop-by-hop fields whatever their case, and keeps repeated ones as a list', () => {
    const raw = ['Content-Type', 'text/plain', 'CONNECTION', 'keep-alive, X-Secret', 'X-Secret', 's', 'Keep-Alive', 'timeout=5', 'Set-Cookie', 'a=1', 'SET-COOKIE', 'b=2', 'Server', 'nginx'];
    const headers = responseHeadersFrom(raw.map((t) => Buffer.from(t, 'latin1')), new Set(['server']));
    assert.deepEqual(headers, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
  });
});
