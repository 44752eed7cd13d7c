/**
 * What a control plane pushes and what a data plane runs.
 *
 * The control plane pushes its config text less what belongs to it alone:
 * `fleet` (its CA key's path, its state) and `admin` (its admin listener and
 * tokens). The data plane runs that document with its own node-local sections
 * put back from its local file: `listeners` (its addresses and certificate
 * files), `admin`, `fleet`, `telemetry.node_id` and `gateway.workers`. References
 * (${env:X}, ${file:X}) travel as written and are resolved on the data plane,
 * against its environment and its local file's directory: a secret can differ
 * per node, and a file a pushed config names must exist on every node.
 */
import { createHash } from 'node:crypto';
import { isMap, parseDocument, type Document } from 'yaml';

/** Top-level sections that stay on their node. */
export const NODE_LOCAL = ['listeners', 'admin', 'fleet'] as const;

export interface Pushed {
  /** SHA-256 of the text, hex: the version's identity (a rollback to the same text has the same hash). */
  readonly hash: string;
  readonly text: string;
}

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function mapDocument(text: string, what: string): Document {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`${what}: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new Error(`${what}: not a mapping`);
  return doc;
}

/** The control plane's config text as data planes get it: its node-local sections removed. */
export function forDataPlanes(controlPlaneText: string): Pushed {
  const doc = mapDocument(controlPlaneText, 'control plane config');
  for (const key of NODE_LOCAL) doc.delete(key);
  const text = doc.toString();
  return { hash: hashText(text), text };
}

/**
 * The document a data plane runs: the pushed one with the local file's
 * node-local sections in place of the pushed ones. `gateway.watch` is off:
 * a data plane's config changes only by a push (or its own restart).
 */
export function composeForNode(pushedText: string, localText: string): string {
  const pushed = mapDocument(pushedText, 'pushed config');
  const local = mapDocument(localText, 'local config');
  for (const key of NODE_LOCAL) {
    pushed.delete(key);
    if (local.has(key)) pushed.set(key, local.get(key, true));
  }
  const nodeId: unknown = local.getIn(['telemetry', 'node_id'], true);
  if (nodeId !== undefined) {
    if (!pushed.has('telemetry')) pushed.set('telemetry', pushed.createNode({}));
    if (isMap(pushed.get('telemetry', true))) pushed.setIn(['telemetry', 'node_id'], nodeId);
  }
  // How many workers is the host's (its cores): the local file's gateway.workers, when it sets one, wins.
  const workers: unknown = local.getIn(['gateway', 'workers'], true);
  if (workers !== undefined) {
    if (!pushed.has('gateway')) pushed.set('gateway', pushed.createNode({}));
    if (isMap(pushed.get('gateway', true))) pushed.setIn(['gateway', 'workers'], workers);
  }
  if (pushed.has('gateway') && isMap(pushed.get('gateway', true))) pushed.setIn(['gateway', 'watch'], false);
  return pushed.toString();
}
