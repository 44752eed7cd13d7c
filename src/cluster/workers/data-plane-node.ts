/**
 * A data plane of several workers (`fleet.role: data_plane` with
 * `gateway.workers` above 1, docs/fleet.md and docs/workers.md): the
 * supervisor is the node's one fleet client. It keeps one long poll to the
 * control plane (not one per worker), applies each pushed version through
 * the all-or-nothing reload of every worker (supervisor.ts: one refusal and
 * no worker swaps it in), and reports the node as one: ready when every
 * worker is, the lowest version any worker serves, requests summed
 * (node-state.ts). The workers know nothing of the fleet: each is a gateway
 * started from, and reloaded with, the document the supervisor composed.
 */
import { formatIssue, type ConfigIssue } from '../../config/errors.js';
import { DataPlane, planeStart, type PlaneHost } from '../fleet/data-plane.js';
import { loadNodeConfig } from './node-config.js';
import { superviseNode, type NodeIo } from './node.js';
import type { NodeReloadResult, Supervisor } from './supervisor.js';

/**
 * Runs a data plane of workers until a signal ends it. Undefined when the
 * node has one worker: the caller runs it in this process (cluster/fleet/node.ts).
 */
export async function superviseDataPlane(file: string, pidFile: string, io: NodeIo): Promise<number | undefined> {
  const begin = planeStart(file, io.env);
  const loaded = loadNodeConfig(begin.source ?? file, io.env);
  if (!loaded.ok) {
    for (const issue of loaded.issues) io.stderr(formatIssue(issue) + '\n');
    return 1;
  }
  if (loaded.config.workers <= 1) return undefined;
  let plane: DataPlane | undefined;
  // No file watch: a data plane's config changes by a push, or by SIGHUP for its local sections.
  return superviseNode(file, loaded.config, false, pidFile, io, {
    serving(supervisor, logger) {
      // Follows only once every worker serves: a version pushed before would find no worker to prepare it.
      plane = DataPlane.follow(supervisorHost(supervisor, logger), begin, loaded.config.fleet, file);
    },
    reload: (supervisor) => (plane ? plane.reloadLocal() : supervisor.reload({ kind: 'signal', signal: 'SIGHUP' })),
    stopping: async () => {
      await plane?.stopSync();
    },
  });
}

/** The supervisor as the fleet client's node. */
function supervisorHost(supervisor: Supervisor, logger: PlaneHost['logger']): PlaneHost {
  return {
    logger,
    async reload(by, from) {
      const result = await supervisor.reload(by, from);
      return !result.ok && isTransient(result) ? { ...result, transient: true } : result;
    },
    state: () => supervisor.state(),
    shutdown: () => supervisor.shutdown(),
    running: (controlPlane, hash) => supervisor.fleetView(controlPlane, hash),
  };
}

/**
 * A round refused by the node's state rather than by the config (a worker
 * that exited during it or was still starting, none serving, shutting
 * down): the same version is tried again later instead of being refused
 * for good. Issues the config causes carry its path.
 */
function isTransient(result: Extract<NodeReloadResult, { ok: false }>): boolean {
  return result.issues.length > 0 && result.issues.every((i: ConfigIssue) => i.path === '(worker)' || i.path === '(gateway)');
}
