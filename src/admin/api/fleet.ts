/**
 * The fleet as this node sees it (docs/fleet.md#control-plane-and-data-planes):
 * on a control plane, the version it serves and every data plane's latest
 * report (the version each runs, whether it is in step, ready, a version it
 * refused and why); on a data plane, its control plane and the version it
 * runs; standalone otherwise. Read-only: the fleet changes through the config.
 */
import type { ApiRoute, JsonSchema } from './types.js';

const NODE: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    seen: { type: 'string', format: 'date-time', description: 'when its last report came' },
    hash: { type: ['string', 'null'], description: 'the pushed version it runs (SHA-256 of the pushed text), null before its first' },
    in_step: { type: 'boolean', description: 'it runs the version the control plane serves now' },
    gateway_version: { type: 'integer', description: "its gateway's own version counter (counts reloads since its start)" },
    ready: { type: 'boolean' },
    reasons: { type: 'array', items: { type: 'string' } },
    requests: { type: 'object', description: 'requests answered since its start, by status class (its metrics on)' },
    refused: { type: ['object', 'null'], description: "the last version it refused (hash) and how many issues; the issues themselves are in the control plane's log (a config error can quote a value)" },
    started_at: { type: 'string', format: 'date-time' },
    software: { type: ['string', 'null'], description: 'the Portcullis and Node versions it runs' },
  },
  required: ['name', 'seen', 'hash', 'in_step', 'gateway_version', 'ready'],
};

export const fleetRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/fleet',
    resource: 'state',
    verb: 'read',
    tag: 'state',
    summary: "The fleet: this node's role, the config version served (control plane) or run (data plane), and each data plane's version, readiness and traffic from its latest report",
    ok: {
      status: 200,
      schema: {
        type: 'object',
        properties: {
          role: { type: 'string', enum: ['standalone', 'control_plane', 'data_plane'] },
          version: { type: 'object', properties: { hash: { type: 'string' }, revision: { type: 'integer' } } },
          control_plane: { type: 'string' },
          nodes: { type: 'array', items: NODE },
        },
        required: ['role', 'nodes'],
      },
    },
    handle(_call, api) {
      const fleet = api.link.fleet();
      if (!fleet) return { status: 200, body: { role: 'standalone', nodes: [] } };
      const current = fleet.current();
      const nodes = fleet
        .nodes()
        .map((n) => ({
          name: n.name,
          seen: new Date(n.seen).toISOString(),
          hash: n.hash ?? null,
          in_step: n.hash !== undefined && n.hash === current.hash,
          gateway_version: n.version,
          ready: n.ready,
          reasons: n.reasons ?? [],
          requests: n.requests ?? {},
          refused: n.refused ? { hash: n.refused.hash, issues: n.refused.issues.length } : null,
          started_at: n.started_at,
          software: n.software ?? null,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
      return { status: 200, body: { role: fleet.role, version: current, ...(fleet.controlPlane ? { control_plane: fleet.controlPlane } : {}), nodes } };
    },
  },
];
