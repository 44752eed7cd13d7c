/**
 * The schema gate every event passes (redact.ts), the per-address limit of
 * gateway events (source-limit.ts), and the certificate inventory's expiry
 * events: what an event may say, whatever a decision site hands over.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { RequestContext } from '../pipeline/context.js';
import type { SecurityEvent } from '../pipeline/events.js';
import { CertificateInventory, certificateRecord } from './certificates.js';
import { EventBus, type TelemetryEvent } from './event.js';
import { EVENT_TYPES } from './event-types.js';
import { gatewayEvents } from './gateway-events.js';
import { cleanDetails, cleanReason, maskCredentials, sample, SAMPLE_MAX } from './redact.js';
import { emitRequestEvents, toTelemetry } from './request-events.js';
import { SourceLimit } from './source-limit.js';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';

describe('event redaction by schema', () => {
  it('drops detail fields the type does not declare, and values of the wrong kind', () => {
    const details = cleanDetails(EVENT_TYPES['waf.sqli'], { rule: 'sqli.tokens', score: 5, target: 'query:id', authorization: 'Bearer x', password: 'p', paranoia: 'high' });
    assert.deepEqual(details, { rule: 'sqli.tokens', score: 5, target: 'query:id' });
    assert.equal(cleanDetails(EVENT_TYPES['auth.replayed_signature'], { signature: 'abc' }), undefined);
  });

  it('withholds a sample whose target names a credential', () => {
    for (const target of ['header:authorization', 'header:proxy-authorization', 'header:cookie', 'cookie:_ga', 'body:user.password', 'query:access_token', 'body:api_key', 'query:client_secret', 'body:session_id']) {
      assert.equal(cleanDetails(EVENT_TYPES['waf.xss'], { target, sample: '<script>' })?.sample, '[redacted]', target);
    }
    assert.equal(cleanDetails(EVENT_TYPES['waf.xss'], { target: 'query:q', sample: '<script>' })?.sample, '<script>');
  });

  it('cuts samples to 128 characters and masks what looks like a credential in them', () => {
    const long = sample('x'.repeat(1000));
    assert.equal(long.length, SAMPLE_MAX + 1, 'cut, with an ellipsis');
    assert.equal(maskCredentials(`see ${JWT} end`), 'see [jwt] end');
    assert.equal(maskCredentials('sent Bearer abc.def'), 'sent Bearer [redacted]');
    assert.ok(!maskCredentials('Authorization: Basic dXNlcjpwYXNz').includes('dXNlcjpwYXNz'));
    assert.equal(maskCredentials("user=a&password=hunter2' or 1=1"), 'user=a&password=[redacted] or 1=1');
    assert.equal(maskCredentials('key A1b2C3d4E5f6G7h8I9j0K1l2M3 here'), 'key [redacted] here');
    assert.equal(maskCredentials('card 4111111111111111'), 'card 411111##########');
    assert.equal(maskCredentials('{"user":"a","token":"t0k-value","n":1}'), '{"user":"a","token":"[redacted]","n":1}');
    assert.equal(maskCredentials('Cookie: sid=abc; theme=dark'), 'Cookie: [redacted]; theme=dark');
    assert.equal(maskCredentials('Authorization: Bearer abc.def'), 'Authorization: Bearer [redacted]');
    assert.equal(maskCredentials('../../../../etc/passwd'), '../../../../etc/passwd', 'attacks stay readable');
    assert.equal(maskCredentials("1' OR '1'='1"), "1' OR '1'='1");
    assert.equal(sample('a\r\nb\u0000c\u001b[31m'), 'a\\r\\nb?c?[31m', 'no forged log lines or terminal sequences');
  });

  it('keeps only the reasons a type lists, and only tokens for a type that lists none', () => {
    assert.equal(cleanReason(EVENT_TYPES['auth.invalid_credentials'], 'wrong_issuer'), 'wrong_issuer');
    assert.equal(cleanReason(EVENT_TYPES['auth.invalid_credentials'], 'jwt: claim iss mismatch'), undefined);
    assert.equal(cleanReason(EVENT_TYPES['request.smuggling_attempt'], 'duplicate_host'), 'duplicate_host');
    assert.equal(cleanReason(EVENT_TYPES['request.smuggling_attempt'], `token ${JWT}`), undefined);
  });

  it('reports a type that escaped the type system as policy.refused, with its details dropped', () => {
    const e = { type: 'made.up', severity: undefined, policy: 'x', route: 'r', consumer: undefined, clientIp: '192.0.2.1', requestId: 'id', action: 'blocked', status: 403, code: 'forbidden', reason: undefined, message: undefined, data: { secret: 's3cr3t' } } as unknown as SecurityEvent;
    const out = toTelemetry('n', 't', { id: 'id', method: 'GET', path: '/', host: 'h', clientIp: '192.0.2.1' }, e);
    assert.equal(out.type, 'policy.refused');
    assert.equal(out.details, undefined);
    assert.equal(out.severity, 'low', 'the registered severity when the site gives none');
  });

  it('builds nothing when no one listens', () => {
    const bus = new EventBus('n');
    const ctx = new RequestContext('id', 'GET', '/', '', {}, 'h', '192.0.2.1', 'http', 0, undefined);
    ctx.events = [];
    let read = false;
    Object.defineProperty(ctx, 'routeName', { get: () => ((read = true), 'r') });
    emitRequestEvents(bus, ctx, 200);
    assert.equal(read, false);
  });
});

describe('per-address event limit', () => {
  it('lets 5 events per address per window through and says how many were left out', () => {
    const limit = new SourceLimit(5, 10_000, 100);
    const taken = Array.from({ length: 8 }, () => limit.take('203.0.113.9', 1000));
    assert.deepEqual(taken, [0, 0, 0, 0, 0, undefined, undefined, undefined]);
    assert.equal(limit.take('198.51.100.1', 1000), 0, 'another address has its own share');
    assert.equal(limit.take('203.0.113.9', 11_000), 3, 'the next window says 3 were left out');
    assert.equal(limit.take('203.0.113.9', 11_001), 0);
  });

  it('keeps its memory bounded: past maxSources, new addresses share one share', () => {
    const limit = new SourceLimit(1, 10_000, 2);
    assert.equal(limit.take('a', 0), 0);
    assert.equal(limit.take('b', 0), 0);
    assert.equal(limit.take('c', 0), 0);
    assert.equal(limit.take('d', 0), undefined, 'c and d share the overflow share');
  });
});

describe('certificate expiry events', () => {
  it('reports certificates inside their warning window once a day, expired ones as such', () => {
    const bus = new EventBus('n');
    const seen: TelemetryEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const inventory = new CertificateInventory(pino({ enabled: false }));
    const now = Date.now();
    const record = (serial: string, notAfter: number) =>
      certificateRecord('listener:public', 'server', ['api.example.com'], { subject: 'CN=api.example.com', serial, fingerprint256: serial, notBefore: new Date(now - 86_400_000), notAfter: new Date(notAfter) }, 30 * 86_400_000);
    inventory.set('listener:public', [record('aa', now + 5.5 * 86_400_000), record('bb', now - 1000), record('cc', now + 90 * 86_400_000)]);
    assert.equal(seen.length, 0, 'nothing before the stream is attached');
    inventory.reportTo(gatewayEvents(bus));
    inventory.check(now + 1000); // again within the day: no second event
    inventory.stop();
    assert.deepEqual(seen.map((e) => [e.type, e.details?.serial, e.details?.days_left]), [['certificate.expiring', 'aa', 5], ['certificate.expired', 'bb', undefined]]);
    assert.equal(seen[0]!.action, 'observed');
    assert.equal(seen[1]!.severity, 'high');
  });
});
