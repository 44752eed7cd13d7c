/**
 * The answer to `portcullis reload`, written where the CLI polls for it
 * (`<pid file>.reload`). Written to a temporary file and renamed over it:
 * written in place, the CLI could read it truncated, between the truncation
 * and the write, and fail with "Unexpected end of JSON input" (seen in CI).
 */
import { renameSync, writeFileSync } from 'node:fs';

export function writeReloadStatus(statusFile: string, result: object): void {
  const temporary = `${statusFile}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ at: Date.now(), ...result }));
  renameSync(temporary, statusFile);
}
