/**
 * The audit trail as the gateway and load-config use it: the key checked
 * with the config (a bad key is a config error with its line), and the trail
 * opened at start.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ConfigPath } from '../../config/errors.js';
import type { Config } from '../../config/schema.js';
import type { EventBus } from '../event.js';
import { signingKey } from './keys.js';
import { AuditTrail } from './trail.js';

export { AuditTrail } from './trail.js';
export { configView, type ConfigView } from './view.js';
export { fileActor } from './origin.js';
export type { AuditActor } from './record.js';

/** The problem with telemetry.audit.key, if any, for load-config to report at its line (never the key). */
export function auditKeyProblem(config: Config): { path: ConfigPath; message: string } | undefined {
  const key = config.telemetry.audit?.key;
  if (key === undefined) return undefined;
  try {
    signingKey(key);
    return undefined;
  } catch (err) {
    return { path: ['telemetry', 'audit', 'key'], message: `${(err as Error).message} (the value is secret and not shown)` };
  }
}

/**
 * Opens the trail the config names, or none. A trail that cannot be opened
 * at start (the file or its directory not writable, not readable) stops the
 * start: the error says so, and a trail asked for is never silently missing.
 */
export function openAuditTrail(config: Config, baseDir: string, events: EventBus, logger: Logger): AuditTrail | undefined {
  const audit = config.telemetry.audit;
  if (!audit) return undefined;
  const file = isAbsolute(audit.file) ? audit.file : resolve(baseDir, audit.file);
  try {
    return AuditTrail.open({ file, key: signingKey(audit.key), checkpointEvery: audit.checkpoint_every, events, logger });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`telemetry.audit.file: cannot open ${file}: ${code ?? (err as Error).message}`);
  }
}
