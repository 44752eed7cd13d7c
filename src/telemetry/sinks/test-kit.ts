/**
 * For the sink tests: a sink manager on a real Telemetry hub with its log
 * lines captured, events to emit with numbered request ids, and configs with
 * the schema's defaults filled in (through the same ajv as config loading).
 */
import { Writable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { ajv } from '../../config/ajv.js';
import { TelemetrySchema, type TelemetryConfig } from '../../config/telemetry/index.js';
import { AccessLog } from '../access-log.js';
import type { TelemetryEvent } from '../event.js';
import { Telemetry } from '../hub.js';
import { createLogger } from '../logger.js';
import { SinkManager } from './manager.js';

const validate = ajv.compile<{ t: TelemetryConfig }>(Type.Object({ t: TelemetrySchema }));

export function telemetryConfig(input: { events?: unknown[]; access_log?: unknown[] }): TelemetryConfig {
  const holder = { t: { events: { sinks: input.events ?? [] }, access_log: { sinks: input.access_log ?? [] } } };
  if (!validate(holder)) throw new Error(JSON.stringify(validate.errors));
  return holder.t;
}

export interface Kit {
  telemetry: Telemetry;
  sinks: SinkManager;
  accessLog: AccessLog;
  /** Log lines and stdout-sink lines, as written. */
  output(): string;
  dir: string;
  apply(input: { events?: unknown[]; access_log?: unknown[] }): void;
}

export function sinkKit(): Kit {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  const { logger } = createLogger({ destination, level: 'info' });
  const telemetry = new Telemetry('node-1', logger);
  const accessLog = new AccessLog(destination);
  const sinks = new SinkManager({ logger, destination, accessLog, telemetry });
  telemetry.sinks = sinks;
  telemetry.sinkStatus = () => sinks.status();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-sinks-'));
  return {
    telemetry,
    sinks,
    accessLog,
    dir,
    output: () => text,
    apply: (input) => sinks.apply(sinks.prepare({ telemetry: telemetryConfig(input), accessLog: true, baseDir: dir })),
  };
}

/** An event whose request id carries its number: evt-000042. */
export function numberedEvent(n: number): TelemetryEvent {
  return {
    time: new Date(Date.UTC(2026, 11, 7, 12, 0, 0, n % 1000)).toISOString(),
    node: 'node-1',
    type: 'waf.sqli',
    category: 'threat',
    severity: 'high',
    action: 'blocked',
    message: 'SQL injection in query:id',
    source: 'waf',
    code: 'request_blocked',
    reason: 'sqli',
    request: { id: `evt-${String(n).padStart(6, '0')}`, method: 'GET', path: '/v1/items', host: 'api.example.com', clientIp: '198.51.100.7', route: 'items', status: 403 },
    details: { rule: 'sqli-001', target: 'query:id' },
  };
}

/** Waits until check() holds, polling; fails with what was last seen after the limit (a bound, not a measurement). */
export async function until(check: () => boolean, what: () => string, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
