/**
 * The `fleet` section: whether this node runs on its own (standalone, the
 * default), holds the config for others (control_plane), or takes its config
 * from a control plane (data_plane). docs/fleet.md#control-plane-and-data-planes.
 *
 * The section is node-local: a control plane never pushes it, and a data
 * plane keeps its own (src/cluster/fleet/document.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { ConfigPath } from './errors.js';
import { Duration, Secret, Timer } from './types.js';
import { parseDuration } from './units.js';

const NODE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
/** A node's name: letters, digits, ".", "_", "-". */
const NodeName = (description = 'letters, digits, ".", "_", "-"') => Type.String({ pattern: NODE_NAME_PATTERN, description });

export const FleetSchema = Type.Object(
  {
    role: Type.Union([Type.Literal('standalone'), Type.Literal('control_plane'), Type.Literal('data_plane')], {
      default: 'standalone',
      description:
        'standalone: this file is the whole config; control_plane: serves this config to data planes over mTLS; data_plane: runs the config a control plane pushes (its own listeners, admin and fleet sections stay)',
    }),
    state_dir: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'a directory only this node writes (created 0700): enrolment tokens on a control plane; the node certificate and the last good config on a data plane',
      }),
    ),
    ca: Type.Optional(
      Type.Object(
        {
          cert: Type.String({ minLength: 1, description: 'the fleet CA certificate (PEM, from `portcullis ca init`): every peer must chain to it' }),
          key: Type.Optional(Type.String({ minLength: 1, description: 'control plane only: the CA key, to issue node certificates at enrolment' })),
          key_passphrase: Type.Optional(Secret({ description: 'the CA key\'s passphrase, when it has one' })),
        },
        { additionalProperties: false },
      ),
    ),
    address: Type.Optional(
      Type.String({ format: 'listen-address', description: 'control plane: host:port of the fleet listener (mTLS) data planes connect to' }),
    ),
    server_names: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
      default: ['localhost', '127.0.0.1'],
      maxItems: 32,
      description: 'control plane: the DNS names and IP addresses of its certificate (issued from the CA at start): what data planes write in `control_plane`',
    }),
    node_certificate_ttl: Duration({ default: '30d', description: 'control plane: lifetime of a node certificate; a data plane renews it past two thirds of it' }),
    poll_timeout: Timer({ default: '25s', description: 'control plane: how long a data plane\'s request for a newer version is held open when there is none (at most 60s)' }),
    max_nodes: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000, description: 'control plane: connections the fleet listener accepts at most' }),
    revoked: Type.Array(Type.String({ pattern: '^[0-9A-Fa-f]{2,64}$' }), {
      default: [],
      description: 'control plane: node certificate serials (hex, as enrolment logged them) refused from now on: a stolen or retired node',
    }),
    control_plane: Type.Optional(Type.String({ pattern: '^https://[^\\s/]+(/.*)?$', description: 'data plane: the control plane, https://host:port' })),
    name: Type.Optional(NodeName('data plane: its name in the fleet, in its certificate (the host name when absent)')),
    enrolment_token: Type.Optional(
      Secret({ maxLength: 256, description: 'data plane: the one-time token from `portcullis fleet token`, used once when it has no certificate yet (use ${env:...})' }),
    ),
    report_interval: Timer({ default: '5s', description: 'data plane: how often it reports its version, health and traffic counters' }),
  },
  { additionalProperties: false, default: {}, description: 'control plane and data planes: docs/fleet.md' },
);

export type FleetConfig = Static<typeof FleetSchema>;

/** A data plane takes its config from the control plane only: an admin API must refuse writes on it. */
export function acceptsAdminWrites(config: { fleet?: unknown }): boolean {
  // Read from the document as written (the API edits it before the schema's defaults apply).
  return (config.fleet as { role?: unknown } | undefined)?.role !== 'data_plane';
}

/** What the schema cannot say: which settings each role needs, and which it must not have. */
export function checkFleet(fleet: FleetConfig, report: (path: ConfigPath, message: string) => void): void {
  const need = (key: string, ok: boolean, why: string) => {
    if (!ok) report(['fleet', key], `${fleet.role} needs ${why}`);
  };
  if (fleet.role === 'control_plane') {
    need('address', fleet.address !== undefined, '"address", the fleet listener (host:port)');
    need('ca', fleet.ca?.key !== undefined, '"ca" with "cert" and "key" (it issues the node certificates)');
    need('state_dir', fleet.state_dir !== undefined, '"state_dir" (enrolment tokens live there)');
    if (fleet.control_plane !== undefined) report(['fleet', 'control_plane'], 'a control plane takes no "control_plane"');
    // A data plane takes a poll held longer than 90 s for a dead connection.
    if (parseDuration(fleet.poll_timeout) > 60_000) report(['fleet', 'poll_timeout'], 'at most 60s: data planes give up on a poll after 90 s');
  } else if (fleet.role === 'data_plane') {
    need('control_plane', fleet.control_plane !== undefined, '"control_plane", the URL of its control plane');
    need('ca', fleet.ca !== undefined, '"ca.cert", the CA the control plane must chain to');
    need('state_dir', fleet.state_dir !== undefined, '"state_dir" (its certificate and the last good config live there)');
    // The CA key signs node certificates: a data plane holding it could mint a certificate for any node.
    if (fleet.ca?.key !== undefined) report(['fleet', 'ca', 'key'], 'a data plane must not hold the CA key: give only "ca.cert"');
    if (fleet.address !== undefined) report(['fleet', 'address'], 'a data plane has no fleet listener');
  } else if (fleet.ca !== undefined || fleet.address !== undefined || fleet.control_plane !== undefined) {
    report(['fleet', 'role'], 'fleet settings are given but role is standalone: set role to control_plane or data_plane');
  }
}
