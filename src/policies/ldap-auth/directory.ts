/**
 * One search-then-bind against the directory: bind as the service account,
 * find exactly one entry for the username, bind as that entry with the
 * password. A fresh connection each time (a user bind changes who the
 * connection is), always unbound. Unknown users get a bind to a DN that does
 * not exist, so they take one round trip more like a wrong password does.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError } from 'ldapts';
import { DependencyUnavailableError } from '../../errors.js';

export interface DirectorySettings {
  readonly url: string;
  readonly startTls: boolean;
  readonly tls: ConnectionOptions;
  readonly bindDn: string;
  readonly bindPassword: string;
  readonly baseDn: string;
  readonly filter: string;
  readonly scope: 'sub' | 'one';
  /** The attribute holding the username as the directory spells it. */
  readonly usernameAttribute: string;
  readonly groupAttribute: string | undefined;
  readonly timeoutMs: number;
}

/** `username` is the directory's own spelling: a filter matches "ALICE" or " alice" to uid=alice. */
export type BindResult = { ok: true; username: string; groups: string[] } | { ok: false; reason: string };

/** RFC 4515 §3: characters that must be escaped in a filter value. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * The search filter with {username} replaced by the RFC 4515-escaped name. A
 * function replacer: a replacement string would read the username's `$&`,
 * `$'`, `` $` `` and `$$` as patterns and splice pieces of the filter into it.
 */
export function filterFor(template: string, username: string): string {
  const escaped = escapeFilterValue(username);
  return template.replaceAll('{username}', () => escaped);
}

/** The value of a DN's first RDN ("cn=staff,ou=groups,..." → "staff"). */
export function firstRdnValue(dn: string): string | undefined {
  // the attribute type starts with a non-space, so \s* and it never compete for the same characters (linear time)
  const m = /^\s*[^=,\s][^=,]*=((?:\\.|[^,\\+])*)/.exec(dn);
  return m ? m[1]!.replace(/\\(.)/g, '$1').trim() : undefined;
}

export function tlsOptionsFor(url: string, ca: string | undefined, serverName: string | undefined): ConnectionOptions {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const name = serverName ?? host;
  // Node checks the certificate against `host` (not "localhost" as it would for a wrapped socket) and sends SNI for names only.
  return { ca, host: name, servername: isIP(name) ? undefined : name, minVersion: 'TLSv1.2' };
}

export async function searchThenBind(settings: DirectorySettings, username: string, password: string): Promise<BindResult> {
  const ldaps = settings.url.startsWith('ldaps:');
  const client = new Client({
    url: settings.url,
    timeout: settings.timeoutMs,
    connectTimeout: settings.timeoutMs,
    // Only for ldaps://: given with ldap://, ldapts would speak TLS at once instead of StartTLS.
    tlsOptions: ldaps ? settings.tls : undefined,
  });
  try {
    let entries;
    try {
      if (settings.startTls) await client.startTLS(settings.tls);
      await client.bind(settings.bindDn, settings.bindPassword);
      const filter = filterFor(settings.filter, username);
      const result = await client.search(settings.baseDn, {
        scope: settings.scope,
        filter,
        attributes: settings.groupAttribute ? [settings.usernameAttribute, settings.groupAttribute] : [settings.usernameAttribute],
        sizeLimit: 2,
      });
      entries = result.searchEntries;
    } catch (err) {
      if ((err as Error).name === 'SizeLimitExceededError') return { ok: false, reason: 'the filter matches several entries' };
      throw new DependencyUnavailableError('LDAP directory', { cause: err });
    }
    if (entries.length !== 1) {
      await bindAs(client, `cn=portcullis-no-such-user,${settings.baseDn}`, password);
      return { ok: false, reason: entries.length === 0 ? 'no such user' : 'the filter matches several entries' };
    }
    const entry = entries[0]!;
    if (!(await bindAs(client, entry.dn, password))) return { ok: false, reason: 'wrong password' };
    const canonical = firstValue(entry, settings.usernameAttribute);
    if (canonical === undefined) return { ok: false, reason: `the entry has no ${settings.usernameAttribute}` };
    const groups: string[] = [];
    if (settings.groupAttribute) {
      const raw = entry[settings.groupAttribute];
      for (const value of Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) {
        const name = firstRdnValue(String(value));
        if (name) groups.push(name);
      }
    }
    return { ok: true, username: canonical, groups };
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** An attribute's first value; attribute names are matched without regard to case, as LDAP does. */
function firstValue(entry: Record<string, unknown>, attribute: string): string | undefined {
  const wanted = attribute.toLowerCase();
  const name = Object.keys(entry).find((key) => key.toLowerCase() === wanted);
  const raw = name === undefined ? undefined : entry[name];
  const value: unknown = Array.isArray(raw) ? (raw as unknown[])[0] : raw;
  const text = typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  return text === '' ? undefined : text;
}

/** True when the bind succeeds, false for wrong credentials; anything else means the directory failed. */
async function bindAs(client: Client, dn: string, password: string): Promise<boolean> {
  try {
    await client.bind(dn, password);
    return true;
  } catch (err) {
    if (err instanceof InvalidCredentialsError) return false;
    throw new DependencyUnavailableError('LDAP directory', { cause: err });
  }
}
