import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as sh from 'structured-headers';
import { parseDictionary, serializeInnerList, StructuredFieldError, type BareItem, type InnerList, type Item, type Params } from './structured-fields.js';

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

/**
 * The npm structured-headers parser as an oracle (issue 11 item 6). It is not
 * what the policy uses: it reads Integers and Decimals into one JS number, so
 * it cannot refuse `created=1618884473.0` (RFC 9421 §2.3: created and expires
 * are Integers) and re-serializes a Decimal 1.0 as `1`, which is not the
 * signature-params line a signer following RFC 8941 §4.1 computed. It also
 * reads RFC 9651's Dates and Display Strings, which RFC 9421 (on RFC 8941)
 * does not have. Everywhere else the two must agree.
 */
describe('structured fields: the hand-written parser against structured-headers', () => {
  const toOurs = (v: unknown): unknown => {
    if (v instanceof sh.Token) return { type: 'token', value: v.toString() };
    if (v instanceof ArrayBuffer) return { type: 'binary', value: Buffer.from(v).toString('hex') };
    if (typeof v === 'boolean') return { type: 'boolean', value: v };
    if (typeof v === 'string') return { type: 'string', value: v };
    if (typeof v === 'number') return { type: 'number', value: v };
    throw new Error(`not RFC 8941: ${String(v)}`);
  };
  const params = (p: Map<string, unknown>) => [...p].map(([k, v]) => [k, toOurs(v)]);
  const theirs = (text: string) =>
    [...sh.parseDictionary(text)].map(([k, m]) =>
      sh.isInnerList(m) ? [k, 'list', m[0].map((i) => [toOurs(i[0]), params(i[1])]), params(m[1])] : [k, 'item', toOurs(m[0]), params(m[1])],
    );
  const bare = (b: BareItem) =>
    b.type === 'binary' ? { type: 'binary', value: b.value.toString('hex') } : b.type === 'integer' || b.type === 'decimal' ? { type: 'number', value: b.value } : b;
  const ourParams = (p: Params) => [...p].map(([k, v]) => [k, bare(v)]);
  const ours = (text: string) =>
    [...parseDictionary(text)].map(([k, m]) =>
      m.kind === 'list' ? [k, 'list', m.items.map((i) => [bare(i.value), ourParams(i.params)]), ourParams(m.params)] : [k, 'item', bare(m.value), ourParams(m.params)],
    );
  const outcome = (parse: (t: string) => unknown, text: string) => {
    try {
      return parse(text);
    } catch {
      return 'refused';
    }
  };

  it('agrees on what RFC 9421 and RFC 9530 fields carry, and on what is malformed', () => {
    const corpus = [
      'sig1=("@method" "@target-uri" "@authority" "content-digest" "content-type");created=1618884473;keyid="test-key-rsa-pss";alg="hmac-sha256"',
      'sig1=("@method"  "@path" "content-digest");created=1618884473;keyid="test-key";alg="hmac-sha256", sig2=("@authority")',
      'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      'ttrp=("@path";req "signature";req;key="sig1" "x-dict";sf "x-dict";key="a";bs);created=1618884475;expires=1618884775;nonce="XYZ";tag="app-123"',
      'sig1=:K2qGT5srn2OGbOIDzQ6kYT+ruaycnDAAUpKv+ePFfD0RAxn/1BUeZx/Kdrq32DrfakQ6bPsvB9aqZqognNT6be4olHROIkeV879RrsrObury8L9SCEibeoHyqU/yCjphSmEdd7WD+zrchK57quskKwRefy2iEC5S2uAH0EPyOZKWlvbKmKu5q4CaB8X/I5/+HLZLGvDiezqi6/7p2Gngf5hwZ0lSdy39vyNMaaAT0tKo6nuVw0S1MVg1Q7MpWYZs0soHjttq0uLIA3DIbQfLiIvK6/l0BdWTU7+2uQj7lBkQAsFZHoA96ZZgFquQrXRlmYOh+Hx5D9fJkXcXe5tmAg==:, sig2=:dGVzdA==:',
      'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
      'a=?1, b=?0, c, d=tok/en:x, e="a\\\\b", f=-12, g=1.5, h=-0.001;p=*t',
      'a=1, a=2',
      ' a=1',
      '',
      'sig1=("a" "b");p;q=1',
      'sig1=(), sig2=()',
      'sig1=("a"', 'sig1=("a")x', 'Sig1=1', 'a=1,', 'a=:not base64!:', 'a="\\x"', 'a=1234567890123456', 'a=?2', 'a=1.', 'a=1.2345',
      'a=1234567890123.1', 'a=("a""b")', 'a=(1 2)x', 'a=1;', 'a=1;B=2', 'a="é"', 'a=1 ,b=2', 'a=1,\tb=2', '\ta=1', 'a=1 ', 'a=x;y=?1;z',
    ];
    for (const text of corpus) assert.deepEqual(outcome(ours, text), outcome(theirs, text), text);
  });

  it('differs where the library cannot tell an Integer from a Decimal, and the hand-written one is kept for it', () => {
    const text = 'sig1=("@path");created=1618884473.0;keyid="k";x=1.0';
    const input = parseDictionary(text).get('sig1') as InnerList;
    assert.deepEqual(input.params.get('created'), { type: 'decimal', value: 1618884473 }); // the policy refuses it: not an Integer
    assert.equal(serializeInnerList(input), '("@path");created=1618884473.0;keyid="k";x=1.0'); // RFC 8941 §4.1.5: a Decimal keeps ".0"
    const theirInput = sh.parseDictionary(text).get('sig1') as sh.InnerList;
    assert.equal(theirInput[1].get('created'), 1618884473); // a plain number, indistinguishable from the Integer
    assert.equal(sh.serializeInnerList(theirInput), '("@path");created=1618884473;keyid="k";x=1');
  });

  it('differs on RFC 9651 Dates and Display Strings, which RFC 9421 fields do not carry', () => {
    for (const text of ['sig1=("@path");created=@1618884473', 'a=%"caf%c3%a9"']) {
      assert.throws(() => parseDictionary(text), StructuredFieldError, text);
      assert.doesNotThrow(() => sh.parseDictionary(text), text);
    }
  });
});
