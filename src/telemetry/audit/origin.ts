/** Who and where, as far as this process can know it. */
import { statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { AuditActor, AuditOrigin } from './record.js';

/** This host and process, and the OS user it runs as (when the system can name it). */
export function localOrigin(): AuditOrigin {
  let user: string | undefined;
  let uid: number | undefined;
  try {
    const info = userInfo();
    user = info.username;
    uid = info.uid >= 0 ? info.uid : undefined;
  } catch {
    // No passwd entry (a container's arbitrary uid): the uid alone, where the platform has one.
    uid = process.getuid?.();
  }
  return { host: hostname(), pid: process.pid, user, uid };
}

/** A reload because the config file changed: the file, and who owns it (not necessarily who wrote it). */
export function fileActor(file: string): AuditActor {
  let owner: number | undefined;
  try {
    owner = statSync(file).uid;
  } catch {
    owner = undefined;
  }
  return { kind: 'file', file: resolve(file), file_uid: owner };
}
