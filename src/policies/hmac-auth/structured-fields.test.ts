import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDictionary, serializeInnerList, StructuredFieldError, type InnerList, type Item } from './structured-fields.js';

describe('structured fields (RFC 8941)', () => {
  it('parses and re-serializes a Signature-Input member canonically', () => {
    const text = 'sig1=("@method"  "@path" "content-digest");created=1618884473;keyid="test-key";alg="hmac-sha256", sig2=("@authority")';
    const dict = parseDictionary(text);
    assert.deepEqual([...dict.keys()], ['sig1', 'sig2']);
    const sig1 = dict.get('sig1') as InnerList;
    assert.equal(serializeInnerList(sig1), '("@method" "@path" "content-digest");created=1618884473;keyid="test-key";alg="hmac-sha256"');
  });

  it('reads byte sequences, booleans, tokens and escaped strings', () => {
    const dict = parseDictionary('a=:aGVsbG8=:, b, c=?0, d=tok/en, e="q\\"uote"');
    assert.deepEqual(dict.get('a'), { kind: 'item', value: { type: 'binary', value: Buffer.from('hello') }, params: new Map() });
    assert.deepEqual((dict.get('b') as Item).value, { type: 'boolean', value: true });
    assert.deepEqual((dict.get('c') as Item).value, { type: 'boolean', value: false });
    assert.deepEqual((dict.get('d') as Item).value, { type: 'token', value: 'tok/en' });
    assert.deepEqual((dict.get('e') as Item).value, { type: 'string', value: 'q"uote' });
  });

  it('refuses malformed fields whole', () => {
    for (const bad of ['sig1=("a"', 'sig1=("a")x', 'Sig1=1', 'a=1,', 'a=:not base64!:', 'a="\\x"', 'a=1234567890123456', 'a=?2']) {
      assert.throws(() => parseDictionary(bad), StructuredFieldError, bad);
    }
  });
});
