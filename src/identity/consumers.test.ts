/**
 * ConsumerResolver namespaces (red-team finding: names crossing issuers): a
 * party without a prefix may not name a consumer holding ":", which could be
 * another party's prefixed name. Shared by jwt, oauth2-introspection,
 * ldap-auth and oidc.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConsumerResolver, ConsumerMappingSchema, type ConsumerMapping } from './consumers.js';
import { Value } from '@sinclair/typebox/value';

const mapping = (extra: Partial<ConsumerMapping>): ConsumerMapping => ({ ...(Value.Default(ConsumerMappingSchema, {}) as ConsumerMapping), ...extra });
const consumers = new Map([['billing', { name: 'billing', groups: ['finance'], metadata: {} }]]);

describe('ConsumerResolver: names from a party without a prefix never hold ":"', () => {
  it('refuses an unprefixed name holding ":" (claims and plain names, as ldap-auth resolves them) and keeps the rest', () => {
    const plain = new ConsumerResolver(mapping({ prefix: '' }), consumers);
    assert.deepEqual(plain.resolveClaims({ sub: 'partner:jdoe' }), { refused: 'namespace' });
    assert.equal(plain.fromClaims({ sub: 'partner:jdoe' }), undefined);
    assert.deepEqual(plain.resolveName('partner:jdoe'), { refused: 'namespace' });
    assert.equal(plain.fromClaims({ sub: 'jdoe' })?.consumer.name, 'jdoe');
  });

  it('keeps names holding ":" under a prefix, and mapped ones whatever they hold', () => {
    const prefixed = new ConsumerResolver(mapping({ prefix: 'corp:' }), consumers);
    assert.equal(prefixed.fromClaims({ sub: 'partner:jdoe' })?.consumer.name, 'corp:partner:jdoe');
    const mapped = new ConsumerResolver(mapping({ prefix: '', mapping: { 'svc:billing': 'billing' } }), consumers);
    assert.equal(mapped.fromClaims({ sub: 'svc:billing' })?.consumer.name, 'billing');
  });
});
