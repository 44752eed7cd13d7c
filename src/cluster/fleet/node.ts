/**
 * What `portcullis start` runs, by the file's fleet.role: a plain gateway
 * (standalone), a gateway with the fleet listener (control_plane), or a
 * gateway fed by a control plane (data_plane). One shape for the CLI: the
 * gateway, what SIGHUP does, and how to stop.
 */
import { parseSource, readSource, type SourceText } from '../../config/load.js';
import { Gateway, type ReloadResult } from '../../gateway.js';
import type { ControlPlane } from './control-plane.js';
import { DataPlane } from './data-plane.js';
import { workerCount } from '../workers/node-config.js';

export interface RunningNode {
  readonly gateway: Gateway;
  /** The fleet listener's URL on a control plane. */
  readonly fleetUrl?: string;
  /** On a control plane: its nodes and their reports (`nodes()`), the version it serves (`current`), for an admin API to show. */
  readonly controlPlane?: ControlPlane;
  /** On a data plane: the version it runs (`running`). */
  readonly dataPlane?: DataPlane;
  /** SIGHUP: re-read the file (a data plane: its local file, with the pushed config kept). */
  reload(): Promise<ReloadResult>;
  shutdown(): Promise<void>;
}

/** The role a config file asks for; standalone when it says none or cannot be read (the gateway's load then says why). */
export function fleetRoleOf(file: string, env: NodeJS.ProcessEnv): string {
  try {
    const parsed = parseSource(readSource(file), env);
    const role = parsed.ok ? (parsed.source.data as { fleet?: { role?: unknown } } | null)?.fleet?.role : undefined;
    return typeof role === 'string' ? role : 'standalone';
  } catch {
    return 'standalone';
  }
}

/** `source`: the file's text when the caller has read it already (a standalone node's worker count). */
export async function startNode(configFile: string, watch: boolean, env: NodeJS.ProcessEnv, source?: SourceText): Promise<RunningNode> {
  const role = fleetRoleOf(configFile, env);
  const signal = { kind: 'signal', signal: 'SIGHUP' } as const;
  if (role === 'data_plane') {
    // No file watch: a data plane's config changes by a push, or by SIGHUP for its local sections.
    const plane = await DataPlane.start({ configFile, env });
    return { gateway: plane.gateway, dataPlane: plane, reload: () => plane.reloadLocal(), shutdown: () => plane.shutdown() };
  }
  const gateway = await Gateway.start({ configFile, watch, env, ...(source ? { source } : {}) });
  if (role !== 'control_plane') return { gateway, reload: () => gateway.reload(signal), shutdown: () => gateway.shutdown() };
  // The fleet listener, enrolment and its events, and the admin API's fleet view hang on this one gateway
  // (docs/workers.md): a control plane runs one process, and says so rather than ignore the setting quietly.
  const workers = workerCount(gateway.snapshot.config.gateway.workers, env.PORTCULLIS_WORKERS);
  if (typeof workers === 'number' && workers > 1) {
    gateway.logger.warn({ workers_configured: workers, workers: 1 }, 'fleet: a control plane runs one process: gateway.workers is not applied (run data planes with workers for more cores)');
  }
  let plane: ControlPlane;
  try {
    // Loaded only here: the X.509 library the CA uses costs start-up time other nodes need not pay.
    const { ControlPlane } = await import('./control-plane.js');
    plane = await ControlPlane.start(gateway);
  } catch (err) {
    await gateway.shutdown({ quiet: true });
    throw err;
  }
  return {
    gateway,
    fleetUrl: plane.url,
    controlPlane: plane,
    reload: () => gateway.reload(signal),
    shutdown: async () => {
      await plane.close();
      await gateway.shutdown();
    },
  };
}
