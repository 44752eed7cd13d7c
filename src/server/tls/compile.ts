/**
 * Listener checks that need the whole config (https needs tls, redirect_to
 * names an https listener, HSTS preload rules) and the loading of every
 * https listener's TLS material, reported with file, line and path.
 */
import { didYouMean, type ConfigPath } from '../../config/errors.js';
import type { ListenerConfig } from '../../config/schema.js';
import { parseDuration } from '../../config/units.js';
import { loadListenerTls, type ListenerTls } from './material.js';

const YEAR_MS = 365 * 86_400_000;

export function compileListenersTls(
  listeners: readonly ListenerConfig[],
  baseDir: string,
  report: (path: ConfigPath, message: string) => void,
): Map<string, ListenerTls> {
  const out = new Map<string, ListenerTls>();
  const byName = new Map(listeners.map((l) => [l.name, l]));
  listeners.forEach((listener, i) => {
    const base: ConfigPath = ['listeners', i];
    if (listener.protocol === 'https' && !listener.tls) {
      report([...base, 'protocol'], 'an https listener needs tls: { certificates: [{ cert: FILE, key: FILE }] }');
    }
    if (listener.protocol === 'http' && listener.tls) report([...base, 'tls'], 'tls settings need protocol: https');
    if (listener.redirect_to !== undefined) {
      const target = byName.get(listener.redirect_to);
      if (listener.protocol !== 'http') report([...base, 'redirect_to'], 'only an http listener redirects (to an https one)');
      else if (!target) {
        const hint = didYouMean(listener.redirect_to, byName.keys());
        report([...base, 'redirect_to'], `no listener named "${listener.redirect_to}"${hint ? `; did you mean "${hint}"?` : ''}`);
      } else if (target.protocol !== 'https') report([...base, 'redirect_to'], `listener "${target.name}" is not an https listener`);
    }
    if (listener.redirect_port !== undefined && listener.redirect_to === undefined) report([...base, 'redirect_port'], 'redirect_port goes with redirect_to');
    const hsts = listener.tls?.hsts;
    if (hsts?.preload && (!hsts.include_subdomains || parseDuration(hsts.max_age) < YEAR_MS)) {
      report([...base, 'tls', 'hsts', 'preload'], 'HSTS preload needs include_subdomains: true and a max_age of at least 365d');
    }
    if (listener.protocol === 'https' && listener.tls) {
      const material = loadListenerTls(listener.name, listener.tls, baseDir, (path, message) => report([...base, ...path], message));
      if (material) out.set(listener.name, material);
    }
  });
  return out;
}

/** The Strict-Transport-Security value a listener sends, if it has HSTS on. */
export function hstsHeader(listener: ListenerConfig): string | undefined {
  const hsts = listener.tls?.hsts;
  if (!hsts || listener.protocol !== 'https') return undefined;
  let value = `max-age=${Math.floor(parseDuration(hsts.max_age) / 1000)}`;
  if (hsts.include_subdomains) value += '; includeSubDomains';
  if (hsts.preload) value += '; preload';
  return value;
}

/**
 * Whether a reload can hand a running https listener its new TLS material in
 * place (certificates, client CA and CRL, versions, ciphers, SNI strictness)
 * rather than closing and reopening it: true when nothing else differs.
 */
export function swappableInPlace(running: ListenerConfig, next: ListenerConfig): boolean {
  const fixed = (l: ListenerConfig): string => {
    if (!l.tls) return JSON.stringify(l);
    const { certificates: _c, min_version: _v, ciphers: _ci, require_sni: _s, expiry_warning: _e, client_auth, ...rest } = l.tls;
    return JSON.stringify({ ...l, tls: { ...rest, client_auth_mode: client_auth.mode } });
  };
  return running.protocol === 'https' && fixed(running) === fixed(next);
}
