/**
 * Properties of path normalization over generated paths built from the
 * pieces attackers combine: dot segments, escapes (valid, invalid, encoded
 * dots and slashes), doubled slashes, semicolons, bytes outside ASCII.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizePath } from '../../src/routing/normalize.js';

const piece = fc.constantFrom('a', 'admin', 'public', '.', '..', '', '%2e', '%2E%2e', '%61', '%2f', '%5c', '%00', '%zz', '%4', ';', '..;', 'x;y', '\xe9', '%20', '~', '-', '_');
const segment = fc.array(piece, { minLength: 0, maxLength: 3 }).map((p) => p.join(''));
const path = fc.array(segment, { minLength: 1, maxLength: 8 }).map((s) => '/' + s.join('/'));

const options = [{ keepEscapedSlashes: false }, { keepEscapedSlashes: true }, { keepEscapedSlashes: false, keepPathParameters: true }];

describe('path normalization properties', () => {
  it('is idempotent: a normalized path normalizes to itself', () => {
    for (const opts of options) {
      fc.assert(
        fc.property(path, (p) => {
          const once = normalizePath(p, opts);
          if (!once.ok) return;
          assert.deepEqual(normalizePath(once.path, opts), once, p);
        }),
        { numRuns: 5000 },
      );
    }
  });

  it('never yields dot segments, empty segments, NUL, backslashes or lower-case escapes', () => {
    fc.assert(
      fc.property(path, (p) => {
        const r = normalizePath(p, { keepEscapedSlashes: false });
        if (!r.ok) return;
        assert.ok(r.path.startsWith('/'));
        const segments = r.path.split('/').slice(1, r.path.endsWith('/') ? -1 : undefined);
        for (const s of segments) {
          assert.ok(s !== '' && s !== '.' && s !== '..', `${p} → ${r.path}`);
          assert.ok(!/^\.\.?;/.test(s));
        }
        assert.ok(!/%00|\\|%2F|%5C/i.test(r.path), `${p} → ${r.path}`);
        assert.ok(!/%[0-9A-F]?[a-f]/.test(r.path), `escapes are upper-case: ${r.path}`);
        assert.ok(!/%(?:[46][1-9A-F]|[57][0-9A]|3[0-9]|2D|2E|5F|7E)/.test(r.path), `unreserved characters are decoded: ${r.path}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with URL resolution on paths WHATWG and we both accept', () => {
    fc.assert(
      fc.property(path, (p) => {
        const r = normalizePath(p, { keepEscapedSlashes: false });
        if (!r.ok || /%|;|\xe9/.test(p)) return;
        // Without escapes, ours equals the URL parser's dot-segment removal once empty segments are merged.
        const viaUrl = new URL(p.replace(/\/{2,}/g, '/'), 'http://h').pathname;
        // The URL parser of Node 20 and 22 keeps a "." segment that follows one starting with a dot (/a/.a/. stays
        // /a/.a/., where WHATWG and Node 24 give /a/.a/): the oracle is wrong there, not us (the test
        // above holds our side to no dot segments). Such a case is left out rather than the seed pinned.
        if (/\/\.(?:\/|$)/.test(viaUrl)) return;
        assert.equal(r.path, viaUrl, p);
      }),
      { numRuns: 3000 },
    );
  });
});
