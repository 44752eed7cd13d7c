/**
 * The receiver's side of webhook notifications (notify.ts): a signed
 * delivery id refuses a replay inside the ±5 minute window, and the memory
 * of ids is bounded (an id is forgotten once its timestamp is out of the
 * window; when full of live ids, new deliveries are refused, not let in).
 * The clock is passed in: no timer is waited on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SeenDeliveries, SIGNATURE_TOLERANCE_S, signWebhook, verifyWebhook, verifyWebhookSignature } from './notify.js';

const SECRET = 'a-receiver-secret';
const T = 1_800_000_000;
const body = (delivery?: string) => JSON.stringify({ schema: 'portcullis.defense.notification/1', delivery, detection: 'brute-force', key: '203.0.113.7' });
const id = () => randomBytes(16).toString('hex');

describe('webhook replays', () => {
  it('accepts a delivery once, and refuses the same signed request again within the window', () => {
    const seen = new SeenDeliveries();
    const b = body(id());
    const header = signWebhook(SECRET, b, T);
    assert.deepEqual(verifyWebhook(SECRET, b, header, { now: T + 1, seen }).ok, true);
    assert.deepEqual(verifyWebhook(SECRET, b, header, { now: T + 250, seen }), { ok: false, reason: 'replayed' });
    assert.equal(verifyWebhookSignature(SECRET, b, header, { now: T + 2, seen }), false);
    // Another delivery of the same notification (a new id, a new signature) is a new one.
    const other = body(id());
    assert.equal(verifyWebhookSignature(SECRET, other, signWebhook(SECRET, other, T), { now: T + 3, seen }), true);
  });

  it('cannot be dodged by re-signing with another timestamp or editing the id: both break the signature', () => {
    const seen = new SeenDeliveries();
    const delivery = id();
    const b = body(delivery);
    const header = signWebhook(SECRET, b, T);
    assert.equal(verifyWebhook(SECRET, b, header, { now: T, seen }).ok, true);
    const v1 = header.split('v1=')[1]!;
    assert.deepEqual(verifyWebhook(SECRET, b, `t=${T + 10},v1=${v1}`, { now: T + 10, seen }), { ok: false, reason: 'bad_signature' });
    const edited = b.replace(delivery, id());
    assert.deepEqual(verifyWebhook(SECRET, edited, header, { now: T, seen }), { ok: false, reason: 'bad_signature' });
  });

  it('refuses a body with no delivery id when replays are checked, and says why otherwise', () => {
    const b = body(undefined);
    const header = signWebhook(SECRET, b, T);
    assert.deepEqual(verifyWebhook(SECRET, b, header, { now: T, seen: new SeenDeliveries() }), { ok: false, reason: 'no_delivery_id' });
    assert.deepEqual(verifyWebhook(SECRET, b, header, { now: T }), { ok: true, delivery: undefined }, 'without a memory: the signature alone');
    assert.deepEqual(verifyWebhook(SECRET, b, header, { now: T + SIGNATURE_TOLERANCE_S + 1 }), { ok: false, reason: 'stale' });
    assert.deepEqual(verifyWebhook(SECRET, b, undefined, { now: T }), { ok: false, reason: 'malformed' });
    assert.equal(verifyWebhookSignature(SECRET, b, header, T), true, 'the clock as a number, as before');
  });

  it('remembers ids only while their timestamp is in the window, and refuses rather than forgets when full', () => {
    const seen = new SeenDeliveries(3);
    const sent = [id(), id(), id()].map((d) => ({ b: body(d), header: signWebhook(SECRET, body(d), T) }));
    for (const s of sent) assert.equal(verifyWebhook(SECRET, s.b, s.header, { now: T, seen }).ok, true);
    const fourth = body(id());
    assert.deepEqual(verifyWebhook(SECRET, fourth, signWebhook(SECRET, fourth, T), { now: T + 1, seen }), { ok: false, reason: 'full' });
    assert.deepEqual(verifyWebhook(SECRET, sent[0]!.b, sent[0]!.header, { now: T + 1, seen }), { ok: false, reason: 'replayed' }, 'nothing forgotten early');
    // Once the first three are past the window, their ids go, and a new delivery finds room.
    const later = T + SIGNATURE_TOLERANCE_S + 1;
    const fifth = body(id());
    assert.equal(verifyWebhook(SECRET, fifth, signWebhook(SECRET, fifth, later), { now: later, seen }).ok, true);
    assert.equal(seen.size, 1);
    assert.deepEqual(verifyWebhook(SECRET, sent[0]!.b, sent[0]!.header, { now: later, seen }), { ok: false, reason: 'stale' }, 'the forgotten one is refused by its time');
  });
});
