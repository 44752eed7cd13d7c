/**
 * What an `ip`-keyed detection counts a client as (source.ts): IPv4 per
 * address, IPv6 per network of `ipv6_prefix` bits, in one spelling whatever
 * the spelling of the address; and the ranges that are not one subscriber's
 * (::/64 with the IPv4-mapped space, link-local) per address.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkOf, sourceBits, sourceOf } from './source.js';
import { canonicalBlockTarget } from './actions.js';
import { canonicalAddress } from './deny-list.js';
import { TrustedProxies } from '../net/ip.js';

describe('the source a client counts as', () => {
  it('is the address for IPv4, in any spelling Node accepts, mapped or not', () => {
    for (const ip of ['203.0.113.7', '::ffff:203.0.113.7', '::FFFF:203.0.113.7', ' 203.0.113.7 ']) assert.equal(sourceOf(ip, 64), '203.0.113.7', ip);
    // the hex spelling of a mapped address is the same IPv4 client, not an IPv6 network that holds all of IPv4
    assert.equal(sourceOf('::ffff:cb00:7107', 64), '203.0.113.7');
  });

  it('is the /64 for IPv6, one spelling for every way of writing an address of it', () => {
    const spellings = ['2001:db8:1:2::7', '2001:DB8:1:2:0:0:0:7', '2001:0db8:0001:0002:0000:0000:0000:0007', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:Db8:1:2:a:B:c:D'];
    for (const ip of spellings) assert.equal(sourceOf(ip, 64), '2001:db8:1:2::/64', ip);
    assert.equal(sourceOf('2001:db8:1:3::7', 64), '2001:db8:1:3::/64', 'the neighbouring /64 is another source');
  });

  it('follows the configured prefix; 128 is the address', () => {
    assert.equal(sourceOf('2001:db8:1:2:3:4:5:6', 48), '2001:db8:1::/48');
    assert.equal(sourceOf('2001:db8:1:2ab:3:4:5:6', 56), '2001:db8:1:200::/56');
    assert.equal(sourceOf('2001:DB8:0:0:0:0:0:1', 128), '2001:db8::1');
    assert.equal(sourceBits('2001:db8::/64'), 64);
    assert.equal(sourceBits('2001:db8::1'), 128);
    assert.equal(sourceBits('192.0.2.1'), 32);
  });

  it('counts loopback, IPv4-compatible and link-local addresses one by one (their /64 is no subscriber\'s)', () => {
    assert.equal(sourceOf('::1', 64), '::1');
    assert.equal(sourceOf('::203.0.113.7', 64), '::cb00:7107');
    assert.equal(sourceOf('fe80::1', 64), 'fe80::1');
    assert.equal(sourceOf('FE80::abcd:1', 64), 'fe80::abcd:1');
    assert.equal(sourceOf('febf::1', 64), 'febf::1');
    assert.equal(sourceOf('fec0::1', 64), 'fec0::/64');
  });

  it('counts translated IPv4 clients one by one: NAT64 and Teredo put many clients in one /64', () => {
    // SIIT-DC / NAT64: every IPv4 client of the translator is 64:ff9b::<its IPv4>, all in 64:ff9b::/64
    assert.equal(sourceOf('64:ff9b::198.51.100.7', 64), '64:ff9b::c633:6407');
    assert.equal(sourceOf('64:ff9b:1::c633:6407', 64), '64:ff9b:1::c633:6407');
    // Teredo: 2001:0:<server IPv4>:<flags>:<port>:<client IPv4>, the /64 is the server's
    assert.equal(sourceOf('2001:0:4136:e378:8000:63bf:3fff:fdd2', 64), '2001:0:4136:e378:8000:63bf:3fff:fdd2');
    assert.equal(sourceOf('2001:1::1', 64), '2001:1::/64', 'outside Teredo\'s /32');
  });

  it('is nothing for what is no address', () => {
    for (const ip of ['', 'unknown', '2001:db8::1::2', '203.0.113.07', '2001:db8::1/64']) assert.equal(sourceOf(ip, 64), undefined, ip);
  });
});

describe('networks in one spelling', () => {
  it('clears host bits, so one network is one block target', () => {
    assert.equal(networkOf('203.0.113.7', 24), '203.0.113.0/24');
    assert.equal(networkOf('203.0.113.7', 8), '203.0.0.0/8');
    assert.equal(networkOf('255.255.255.255', 31), '255.255.255.254/31');
    assert.equal(networkOf('2001:db8:1:2:3:4:5:6', 64), '2001:db8:1:2::/64');
    assert.equal(canonicalBlockTarget('2001:DB8:1:2:3:4:5:6/64'), '2001:db8:1:2::/64');
    assert.equal(canonicalBlockTarget('203.0.113.99/24'), '203.0.113.0/24');
    assert.equal(canonicalBlockTarget('203.0.113.99/32'), '203.0.113.99');
  });
});

describe('addresses with a zone id', () => {
  it('are the address without it, and a value that does not expand to eight groups is no address (it used to throw)', () => {
    assert.equal(canonicalAddress('::ffff:198.51.100.7%eth0'), '198.51.100.7');
    assert.equal(canonicalAddress('fe80::1%eth0'), 'fe80::1');
    assert.equal(canonicalAddress('2001:db8:9:9::1%:2001:db8:1:2::5'), '2001:db8:9:9::1');
    assert.equal(canonicalAddress('1:2:3:4::5:6:7:8'), undefined);
    assert.doesNotThrow(() => sourceOf('2001:db8:9:9::1%:2001:db8:1:2::5', 64));
  });

  it('are not believed in X-Forwarded-For: the last readable hop is the client', () => {
    const proxies = new TrustedProxies(['127.0.0.1']);
    assert.equal(proxies.clientIp('127.0.0.1', '2001:db8:9:9::1%:2001:db8:1:2::5'), '127.0.0.1');
    assert.equal(proxies.clientIp('127.0.0.1', '203.0.113.5, fe80::1%eth0'), '127.0.0.1');
    assert.equal(proxies.clientIp('127.0.0.1', '203.0.113.5'), '203.0.113.5');
  });
});
