/**
 * URL-valued parameters: remote file inclusion (a URL the application might
 * include or fetch, pointing at a bare IP or cut short with "?") and SSRF
 * (a URL pointing at a cloud metadata service, the loopback address, a
 * private network, or using a scheme only SSRF uses).
 *
 * Hosts are read the way lenient URL parsers read them: after any "@",
 * "\" ending the authority like "/", IPv4 in decimal, octal, hex and short
 * forms (2130706433, 0x7f.1, 0177.0.0.1), IPv4-mapped IPv6, and DNS names
 * that embed an address (127.0.0.1.nip.io).
 */
import { RULES, type Rule } from '../rules.js';

const SSRF_SCHEMES: ReadonlySet<string> = new Set(['gopher', 'dict', 'file', 'ldap', 'ldaps', 'tftp', 'jar', 'netdoc', 'sftp', 'smb', 'telnet', 'ftps']);
const FETCH_SCHEMES: ReadonlySet<string> = new Set(['http', 'https', 'ftp', 'ftps', 'ws', 'wss']);

const METADATA_HOSTS: ReadonlySet<string> = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.com',
  'metadata.tencentyun.com',
  'metadata.platformequinix.com',
]);

/** 169.254.169.254 (AWS, GCP, Azure, OpenStack...), 169.254.170.2 (ECS tasks), 100.100.100.200 (Alibaba), 192.0.0.192 (Oracle). */
const METADATA_IPV4: ReadonlySet<number> = new Set([ipv4(169, 254, 169, 254), ipv4(169, 254, 170, 2), ipv4(100, 100, 100, 200), ipv4(192, 0, 0, 192)]);

const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback', 'localtest.me', 'lvh.me', 'vcap.me']);

/** Public DNS names registered to answer with 127.0.0.1, for them and every name under them. */
const LOOPBACK_SERVICES: readonly string[] = ['localtest.me', 'lvh.me', 'vcap.me'];

/** Wildcard DNS services that answer with the address written in the name. */
const ECHO_DNS_SUFFIXES: readonly string[] = ['.nip.io', '.sslip.io', '.xip.io', '.traefik.me', '.localtest.me', '.lvh.me'];

/** Out-of-band interaction services: a URL or host pointing there is an attack tool calling home. */
const OAST_SUFFIXES: readonly string[] = [
  'burpcollaborator.net',
  'oastify.com',
  'oast.pro',
  'oast.live',
  'oast.site',
  'oast.online',
  'oast.fun',
  'oast.me',
  'interact.sh',
  'interactsh.com',
  'dnslog.cn',
  'ceye.io',
  'requestrepo.com',
  'canarytokens.com',
  'xip.io',
];

function isOast(host: string): boolean {
  for (const suffix of OAST_SUFFIXES) if (host === suffix || host.endsWith('.' + suffix)) return true;
  return false;
}

function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

export interface UrlInfo {
  scheme: string;
  /** Every host a lenient parser might read from the authority, lower-cased, without brackets or port. */
  hosts: string[];
  /** The URL ends in "?" (the classic way to cut off an appended suffix). */
  endsWithQuestion: boolean;
}

/** Reads scheme://authority from the start of the value; undefined when the value is not a URL. */
export function parseUrlValue(value: string): UrlInfo | undefined {
  let s = value.trim();
  if (s.length < 4) return undefined;
  let scheme = '';
  let rest: string;
  if (s.startsWith('//') || s.startsWith('\\\\')) {
    rest = s.slice(2);
  } else {
    const colon = s.indexOf(':');
    if (colon < 2 || colon > 16) return undefined;
    for (let i = 0; i < colon; i++) {
      const c = s.charCodeAt(i) | 0x20;
      const ok = (c >= 0x61 && c <= 0x7a) || (i > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e));
      if (!ok) return undefined;
    }
    scheme = s.slice(0, colon).toLowerCase();
    s = s.slice(colon + 1);
    // http:/host and http:\\host are read as http://host by browsers and some clients
    let k = 0;
    while (k < s.length && k < 3 && (s.charCodeAt(k) === 0x2f || s.charCodeAt(k) === 0x5c)) k++;
    if (k === 0) {
      if (scheme === 'jar' || scheme === 'netdoc' || scheme === 'file') return { scheme, hosts: [], endsWithQuestion: false };
      return undefined;
    }
    rest = s.slice(k);
  }
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c === 0x2f || c === 0x5c || c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  const authority = rest.slice(0, end).toLowerCase();
  const hosts: string[] = [];
  for (const part of authority.split('@')) {
    const host = hostOf(part);
    if (host) hosts.push(host);
  }
  return { scheme, hosts, endsWithQuestion: value.trimEnd().endsWith('?') };
}

function hostOf(hostPort: string): string {
  let h = hostPort;
  if (h.startsWith('[')) {
    const close = h.indexOf(']');
    return close === -1 ? h.slice(1) : h.slice(1, close);
  }
  const colon = h.lastIndexOf(':');
  if (colon !== -1 && h.indexOf(':') === colon) h = h.slice(0, colon);
  // "user:pass" userinfo keeps its first part as a possible host too
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/**
 * inet_aton: "127.1", "0x7f000001", "2130706433", "0177.0.0.01" are all
 * 127.0.0.1 to C libraries. Returns the address as an unsigned number, or -1.
 */
export function parseLenientIPv4(host: string): number {
  if (host.length === 0 || host.length > 40) return -1;
  const parts = host.split('.');
  if (parts.length > 4) return -1;
  const values: number[] = [];
  for (const part of parts) {
    if (part === '') return -1;
    let v: number;
    if (/^0x[0-9a-f]*$/.test(part)) v = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) v = parseInt(part, 8);
    else if (/^[0-9]+$/.test(part)) v = Number(part);
    else return -1;
    if (!Number.isFinite(v)) return -1;
    values.push(v);
  }
  const last = values.length - 1;
  let address = 0;
  for (let i = 0; i < last; i++) {
    if (values[i]! > 255) return -1;
    address += values[i]! * 2 ** (8 * (3 - i));
  }
  const tailBits = 8 * (4 - last);
  if (values[last]! >= 2 ** tailBits) return -1;
  return address + values[last]!;
}

/** The IPv4 address an IPv6 literal carries (::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::a.b.c.d), or -1. */
function embeddedIPv4(host: string): number {
  const lastColon = host.lastIndexOf(':');
  if (lastColon === -1) return -1;
  const tail = host.slice(lastColon + 1);
  if (tail.includes('.')) return parseLenientIPv4(tail);
  // ::ffff:7f00:1
  if (host.startsWith('::ffff:') && /^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(host)) {
    const [hi, lo] = host.slice(7).split(':');
    return parseInt(hi!, 16) * 65536 + parseInt(lo!, 16);
  }
  return -1;
}

type HostClass = 'metadata' | 'loopback' | 'private' | 'public-ip' | 'name';

export function classifyHost(raw: string): HostClass {
  if (raw === '') return 'name';
  // ①②⑦.⓪.⓪.⓪ and full-width digits: URL parsers map them to ASCII (IDNA), so compare what they map to
  const host = /^[\x00-\x7f]*$/.test(raw) ? raw : raw.normalize('NFKC').replaceAll('。', '.').toLowerCase();
  if (METADATA_HOSTS.has(host)) return 'metadata';
  if (LOOPBACK_NAMES.has(host) || host.endsWith('.localhost')) return 'loopback';
  for (const suffix of ECHO_DNS_SUFFIXES) {
    if (host.endsWith(suffix)) {
      const embedded = classifyEmbedded(host.slice(0, -suffix.length));
      if (embedded) return embedded;
      if (suffix === '.localtest.me' || suffix === '.lvh.me') return 'loopback';
    }
  }
  if (host.includes(':')) {
    const v4 = embeddedIPv4(host);
    if (v4 >= 0) return classifyIPv4(v4);
    return classifyIPv6(host);
  }
  const v4 = parseLenientIPv4(host);
  if (v4 >= 0) return classifyIPv4(v4);
  // example.com.127.0.0.1: a name ending in an address, for parsers and resolvers that read the address
  const trailing = trailingDottedQuad(host);
  if (trailing >= 0) {
    const kind = classifyIPv4(trailing);
    if (kind === 'loopback' || kind === 'metadata') return kind;
  }
  return 'name';
}

/** The address in the last four labels of a longer name (x.127.0.0.1), or -1. */
function trailingDottedQuad(host: string): number {
  let dots = 0;
  let at = host.length;
  while (dots < 4) {
    at = host.lastIndexOf('.', at - 1);
    if (at <= 0) return -1;
    dots++;
  }
  const quad = host.slice(at + 1);
  return /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(quad) ? parseLenientIPv4(quad) : -1;
}

/**
 * A public DNS name that exists to resolve to an address an IP filter would refuse: 127.0.0.1.nip.io,
 * app.169.254.169.254.sslip.io, localtest.me. Nobody sends one as a parameter but to get past such a filter.
 */
function isFilterBypassName(host: string): boolean {
  for (const service of LOOPBACK_SERVICES) if (host === service || host.endsWith('.' + service)) return true;
  for (const suffix of ECHO_DNS_SUFFIXES) if (host.endsWith(suffix) && classifyEmbedded(host.slice(0, -suffix.length)) !== undefined) return true;
  return false;
}

/** 127-0-0-1.nip.io, 127.0.0.1.nip.io, app.10.0.0.1.sslip.io, 7f000001.nip.io */
function classifyEmbedded(label: string): HostClass | undefined {
  const dotted = label.replaceAll('-', '.');
  const parts = dotted.split('.');
  for (let start = 0; start + 4 <= parts.length; start++) {
    const v4 = parseLenientIPv4(parts.slice(start, start + 4).join('.'));
    if (v4 >= 0) return classifyIPv4(v4);
  }
  const last = parts.at(-1) ?? '';
  if (/^[0-9a-f]{8}$/.test(last)) return classifyIPv4(parseInt(last, 16));
  return undefined;
}

function classifyIPv4(a: number): HostClass {
  if (METADATA_IPV4.has(a)) return 'metadata';
  const first = Math.floor(a / 16777216);
  if (first === 127 || a === 0) return 'loopback';
  if (first === 0) return 'loopback'; // 0.0.0.0/8 reaches the local host on Linux
  const second = Math.floor(a / 65536) % 256;
  if (first === 10 || (first === 172 && second >= 16 && second < 32) || (first === 192 && second === 168)) return 'private';
  if (first === 169 && second === 254) return 'private';
  if (first === 100 && second >= 64 && second < 128) return 'private';
  return 'public-ip';
}

function classifyIPv6(host: string): HostClass {
  const h = host.split('%')[0]!;
  if (!/^[0-9a-f:]+$/.test(h) || !h.includes(':')) return 'name';
  // eight groups, or fewer with one "::": a MAC address (fc:1f:f3:f8:22:c1) is not an IPv6 address
  const groups = h.split(':').length;
  const compressed = h.includes('::');
  if (compressed ? h.indexOf('::') !== h.lastIndexOf('::') || groups > 9 : groups !== 8) return 'name';
  if (h === '::1' || h === '::' || /^(0{1,4}:){7}0{0,3}1$/.test(h) || /^0*:0*:0*:0*:0*:0*:0*:0*$/.test(h)) return 'loopback';
  if (h === 'fd00:ec2::254') return 'metadata';
  if (h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe8') || h.startsWith('fe9') || h.startsWith('fea') || h.startsWith('feb')) return 'private';
  return 'public-ip';
}

/** host:port where the port is not a plain port number: signed, zero-padded, or with letters after it. */
function hasMalformedPort(hostPort: string): boolean {
  if (hostPort.startsWith('[')) return false;
  const colon = hostPort.indexOf(':');
  if (colon === -1 || hostPort.indexOf(':', colon + 1) !== -1) return false; // no port, or IPv6
  const port = hostPort.slice(colon + 1);
  if (port === '') return false;
  return !/^[1-9]\d{0,4}$/.test(port);
}

/** A value that is only a host (and maybe a port): 127.0.0.1, localhost:11211, 169.254.169.254 */
function bareHost(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  if (v.length < 3 || v.length > 253) return undefined;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x3a || c === 0x5b || c === 0x5d || c === 0x2b;
    if (!ok) return undefined;
  }
  return hostOf(v);
}

export function detectUrl(value: string, paranoia: number, requestHost: string): Rule | undefined {
  const url = parseUrlValue(value);
  if (!url) {
    const host = bareHost(value);
    if (!host || (!host.includes('.') && !host.includes(':') && host !== 'localhost')) return undefined;
    // "10.09" is a price, not an address: a bare IPv4 must be a dotted quad
    if (/^[0-9.]+$/.test(host) && !/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return undefined;
    if (isOast(host)) return RULES.ssrfOast;
    const kind = classifyHost(host);
    if (kind === 'metadata' && (host.includes('.') || host.includes(':'))) return RULES.ssrfMetadata;
    // "localhost" or "127.0.0.1" alone can be a setting; a name made to resolve there cannot, nor a port that is no
    // port number (localhost:+11211aaa, localhost:00011211): parsers that disagree on where the port ends
    if (kind === 'loopback' && (isFilterBypassName(host) || hasMalformedPort(value.trim()))) return RULES.ssrfLoopback;
    if ((kind === 'loopback' || kind === 'private' || kind === 'metadata') && paranoia >= 2) return RULES.ssrfBareHost;
    return undefined;
  }
  if (SSRF_SCHEMES.has(url.scheme)) return RULES.ssrfScheme;
  if (url.scheme !== '' && !FETCH_SCHEMES.has(url.scheme)) return undefined;
  let publicIp = false;
  let offDomain = false;
  for (const host of url.hosts) {
    if (isOast(host)) return RULES.ssrfOast;
    switch (classifyHost(host)) {
      case 'metadata':
        return RULES.ssrfMetadata;
      case 'loopback':
        return RULES.ssrfLoopback;
      case 'private':
        if (paranoia >= 2) return RULES.ssrfPrivate;
        publicIp = true; // still an IP-address URL for RFI
        break;
      case 'public-ip':
        publicIp = true;
        break;
      case 'name':
        if (host !== requestHost && !host.endsWith('.' + requestHost)) offDomain = true;
        break;
    }
  }
  if (publicIp && url.scheme !== '') return RULES.rfiIpUrl;
  if (url.endsWithQuestion && url.scheme !== '') return RULES.rfiQuestionMark;
  if (offDomain && paranoia >= 2 && url.scheme !== '') return RULES.rfiOffDomain;
  return undefined;
}
