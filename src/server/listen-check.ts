/**
 * The check a reload makes before it swaps or closes anything: every address
 * the new config listens on that is not already this process's (or node's)
 * is tried (net/bind-check.ts), so that a port another process holds, an
 * address this host does not have, or a privileged port is a refused reload
 * with the listener's place in the file and the system's answer, while the
 * running listeners go on serving. An address the gateway holds now is not
 * tried: it is let go of first when the reload swaps, and a failure then is
 * the rarer case that gateway.ts puts right by reopening the old listener.
 */
import { parseListenAddress } from '../config/ajv.js';
import { formatPath, type ConfigIssue, type ConfigPath } from '../config/errors.js';
import { lineIn, type SourceText } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { overlaps, sameHost, tryBind, type BindAddress } from '../net/bind-check.js';
import { ListenError } from './listen-error.js';

interface Wanted {
  readonly path: ConfigPath;
  /** How the issue names it: `listener "main"`, the admin listener. */
  readonly kind: string;
  readonly name: string;
  readonly address: string;
  readonly at: BindAddress;
}

export interface ListenCheck {
  /** Where this process (or node) listens now. */
  readonly held: readonly BindAddress[];
  /**
   * A node of workers: each worker lets go of a port only when it swaps, so
   * a listener cannot move to another host on a port the node holds (the
   * workers that have not swapped yet still hold it).
   */
  readonly shared?: boolean;
  /**
   * Where the admin listener listens now (also in `held`). It lets go of its
   * port only after the listeners have swapped, and a listener lets go of
   * its own only when the reload is done: neither can take the other's port
   * in one reload.
   */
  readonly admin?: BindAddress;
}

/** Where a config's admin listener listens, if it has one. */
export function adminOf(config: Pick<Config, 'admin'>): BindAddress | undefined {
  const admin = config.admin?.address;
  return admin === undefined ? undefined : parseListenAddress(admin);
}

const same = (a: BindAddress, b: BindAddress) => sameHost(a.host, b.host) && a.port === b.port;

/** A port handed between the admin listener and a listener in one reload (which swap order cannot do), as the issue's message. */
function handOver(w: Wanted, check: ListenCheck): string | undefined {
  const admin = check.admin;
  if (admin === undefined) return undefined;
  const next = 'move (or remove) the admin listener in one reload and the listener in the next';
  if (w.kind !== 'the admin listener') {
    return overlaps(admin, w.at) ? `${w.kind} cannot take port ${w.at.port} from the admin listener in the same reload (the admin listener holds it until the listeners have swapped): ${next}` : undefined;
  }
  const listener = check.held.find((h) => !same(h, admin) && overlaps(h, w.at));
  return listener ? `the admin listener cannot take port ${w.at.port} from a listener in the same reload (the listener holds it until the reload is done): ${next}` : undefined;
}

/** Every address a config listens on: its listeners, then the admin listener. */
export function addressesOf(config: Pick<Config, 'listeners' | 'admin'>): BindAddress[] {
  return wantedOf(config).map((w) => w.at);
}

function wantedOf(config: Pick<Config, 'listeners' | 'admin'>): Wanted[] {
  const wanted: Wanted[] = [];
  config.listeners.forEach((l, i) => {
    const at = parseListenAddress(l.address);
    if (at) wanted.push({ path: ['listeners', i, 'address'], kind: `listener "${l.name}"`, name: l.name, address: l.address, at });
  });
  const admin = config.admin?.address;
  const at = admin === undefined ? undefined : parseListenAddress(admin);
  if (admin !== undefined && at) wanted.push({ path: ['admin', 'address'], kind: 'the admin listener', name: 'admin', address: admin, at });
  return wanted;
}

/** What stands in the way of the config's listeners, each as an issue at its address in the file; none when every one can open. */
export async function listenIssues(config: Pick<Config, 'listeners' | 'admin'>, source: SourceText, check: ListenCheck): Promise<ConfigIssue[]> {
  const wanted = wantedOf(config);
  const found: Array<{ path: ConfigPath; message: string }> = [];
  const tries: Array<Promise<void>> = [];
  wanted.forEach((w, i) => {
    const before = wanted.slice(0, i).find((o) => overlaps(o.at, w.at));
    if (before) {
      found.push({ path: w.path, message: `${w.kind} cannot listen on ${w.address}: ${before.kind} (${formatPath(before.path)}) listens on ${before.address}` });
      return;
    }
    const held = check.held.filter((h) => overlaps(h, w.at));
    const handed = held.length > 0 ? handOver(w, check) : undefined;
    if (handed) {
      found.push({ path: w.path, message: handed });
      return;
    }
    if (held.length > 0) {
      if (check.shared && !held.every((h) => sameHost(h.host, w.at.host))) {
        found.push({ path: w.path, message: `${w.kind} cannot move to ${w.address} in one reload: the node's workers hold port ${w.at.port} on another address until each swaps; remove the listener in one reload and add it in the next, or restart the node` });
      }
      return;
    }
    tries.push(
      tryBind(w.at).then((err) => {
        if (err) found.push({ path: w.path, message: `${new ListenError({ name: w.name, address: w.address, kind: w.kind }, err).message}${err.code ? ` (${err.code})` : ''}` });
      }),
    );
  });
  await Promise.all(tries);
  return found.map((f) => ({ file: source.file, line: lineIn(source, f.path), path: formatPath(f.path), message: f.message })).sort((a, b) => a.line - b.line);
}
