import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCredentialFieldName, isCredentialTargetName } from './credential-names.js';

// The single regexes these functions replaced (recheck flags their end-anchored branches as polynomial;
// tests are not scanned). The functions must say the same of every name.
const FIELD_BEFORE = /pass|pwd|secret|token|api.?key|(?:^|[._-])key$|auth|session|sessid|csrf|xsrf|credential|card|cvv|cvc|ssn|iban|otp|privkey|(?:^|[._-])pw\d*$|(?:^|[._-])pin(?:[._-]?code)?\d*$/i;
const TARGET_BEFORE = /pass|pwd|secret|token|api.?key|(?:^|[.:_-])key$|auth|session|sessid|csrf|xsrf|credential|cvv|cvc|ssn|iban|otp|privkey|(?:^|[.:_-])pw\d*$|(?:^|[.:_-])pin(?:[._-]?code)?\d*$/i;

const PARTS = ['', 'key', 'KEY', 'pw', 'Pw', 'pin', 'pin_code', 'pin-code', 'pincode', 'pin..code', 'code', 'monkey', 'keys', 'pwn', 'spin', 'user', 'id', 'x', '1', '42', 'token', 'card', 'body', 'header', 'query', 'api'];
const SEPARATORS = ['', '.', '_', '-', ':', '/'];

function* names(): Generator<string> {
  for (const a of PARTS) for (const s1 of SEPARATORS) for (const b of PARTS) for (const s2 of ['', '1', '07']) yield `${a}${s1}${b}${s2}`;
}

describe('credential field names', () => {
  it('says what the regex it replaced said, for every name built from the credential words, separators and digits', () => {
    let checked = 0;
    for (const name of names()) {
      assert.equal(isCredentialFieldName(name), FIELD_BEFORE.test(name), `field name ${JSON.stringify(name)}`);
      assert.equal(isCredentialTargetName(name), TARGET_BEFORE.test(name), `target ${JSON.stringify(name)}`);
      checked++;
    }
    assert.ok(checked > 10_000);
  });

  it('finds the endings as words of their own, and not inside other words', () => {
    for (const name of ['key', 'x-api-key', 'user.key', 'pw', 'pw2', 'a_pin', 'pin_code1', 'card_pincode', 'header:key']) assert.ok(isCredentialTargetName(name), name);
    for (const name of ['monkey', 'keys', 'key1', 'spin', 'pwn', 'zipcode', 'user']) assert.ok(!isCredentialFieldName(name), name);
  });
});
