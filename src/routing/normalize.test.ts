import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from './normalize.js';

const strict = { keepEscapedSlashes: false };
const norm = (p: string) => normalizePath(p, strict);

describe('path normalization', () => {
  it('leaves plain paths untouched', () => {
    for (const p of ['/', '/v1/orders', '/v1/orders/', '/a/b.json', '/a-b_c~d']) assert.deepEqual(norm(p), { ok: true, path: p });
  });

  it('closes every spelling of /admin to /admin', () => {
    for (const p of ['/%61dmin', '/%61%64%6D%69%6E', '/./admin', '//admin', '/public/../admin', '/public/%2e%2e/admin', '/public/%2E./admin', '///admin/.', '/a/b/../../admin']) {
      const r = norm(p);
      assert.ok(r.ok, p);
      assert.equal(r.path.replace(/\/$/, ''), '/admin', p);
    }
  });

  it('upper-cases escapes it keeps and encodes raw bytes outside ASCII', () => {
    assert.deepEqual(norm('/a%3ab'), { ok: true, path: '/a%3Ab' });
    assert.deepEqual(norm('/caf\xe9'), { ok: true, path: '/caf%E9' });
    assert.deepEqual(norm('/a%20b'), { ok: true, path: '/a%20b' });
  });

  it('keeps a trailing slash and resolves trailing dot segments to a directory', () => {
    assert.deepEqual(norm('/a/b/'), { ok: true, path: '/a/b/' });
    assert.deepEqual(norm('/a/b/.'), { ok: true, path: '/a/b/' });
    assert.deepEqual(norm('/a/b/..'), { ok: true, path: '/a/' });
    assert.deepEqual(norm('/a/..'), { ok: true, path: '/' });
  });

  it('refuses what an upstream could read differently', () => {
    assert.deepEqual(norm('/a%00b'), { ok: false, reason: 'nul' });
    assert.deepEqual(norm('/a%zzb'), { ok: false, reason: 'invalid_escape' });
    assert.deepEqual(norm('/a%4'), { ok: false, reason: 'invalid_escape' });
    assert.deepEqual(norm('/..'), { ok: false, reason: 'escapes_root' });
    assert.deepEqual(norm('/a/../../etc/passwd'), { ok: false, reason: 'escapes_root' });
    assert.deepEqual(norm('/a\\b'), { ok: false, reason: 'backslash' });
    assert.deepEqual(norm('/public/..;/admin'), { ok: false, reason: 'dot_segment_parameter' });
    assert.deepEqual(norm('/public/.;x/admin'), { ok: false, reason: 'dot_segment_parameter' });
    assert.deepEqual(norm('/public/..%2Fadmin'), { ok: false, reason: 'encoded_slash' });
    assert.deepEqual(norm('/public/..%5cadmin'), { ok: false, reason: 'encoded_slash' });
    assert.deepEqual(norm('/app/admin#x'), { ok: false, reason: 'fragment' });
    assert.deepEqual(norm('/app/admin#'), { ok: false, reason: 'fragment' });
    assert.deepEqual(norm('/a%23b'), { ok: true, path: '/a%23b' }, 'an encoded # is data');
  });

  it('refuses path parameters, which Java servers strip (/admin;x is /admin to Tomcat), unless told to keep them', () => {
    assert.deepEqual(norm('/api/admin;x'), { ok: false, reason: 'path_parameter' });
    assert.deepEqual(norm('/api/admin;jsessionid=1/users'), { ok: false, reason: 'path_parameter' });
    assert.deepEqual(norm('/api/%61dmin;'), { ok: false, reason: 'path_parameter' });
    const keep = { keepEscapedSlashes: false, keepPathParameters: true };
    assert.deepEqual(normalizePath('/a;b=c', keep), { ok: true, path: '/a;b=c' });
    assert.deepEqual(normalizePath('/a/./b;v=1/../c;x', keep), { ok: true, path: '/a/c;x' });
    assert.deepEqual(normalizePath('/public/..;/admin', keep), { ok: false, reason: 'dot_segment_parameter' });
    assert.deepEqual(norm('/a%3Bb'), { ok: true, path: '/a%3Bb' }, 'an encoded semicolon is data, not a parameter');
  });

  it('keeps encoded slashes when told to, without treating them as separators', () => {
    assert.deepEqual(normalizePath('/repos/a%2fb/..', { keepEscapedSlashes: true }), { ok: true, path: '/repos/' });
    assert.deepEqual(normalizePath('/repos/a%2fb', { keepEscapedSlashes: true }), { ok: true, path: '/repos/a%2Fb' });
  });
});
