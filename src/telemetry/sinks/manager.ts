/**
 * The sinks of the events and access streams, kept on the Telemetry hub
 * (`telemetry.sinks`). prepare() turns the config into a plan (reading TLS
 * files, so a reload with an unreadable file is refused before anything
 * changes); apply() starts, reconfigures and stops deliveries to match it.
 * A sink keeps its queue and spool across reloads while its name and spool
 * stay the same: only its transport and format change.
 *
 * stdout sinks write straight into the gateway's log stream (itself buffered
 * off the request path); the default access sink (stdout, json) is the
 * hand-built access line of telemetry/access-log.ts, unchanged.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { DestinationStream, Logger } from 'pino';
import { SYSLOG_FACILITIES, sinkName, type SinkConfig } from '../../config/telemetry/sinks.js';
import type { TelemetryConfig } from '../../config/telemetry/index.js';
import { parseDuration, parseSize } from '../../config/units.js';
import type { AccessLog } from '../access-log.js';
import type { TelemetryEvent } from '../event.js';
import { formatter, type FormatName } from '../formats/index.js';
import type { SinkRecord } from '../formats/record.js';
import type { SinkStatus, Telemetry } from '../hub.js';
import { accessRecordOf } from './access-tap.js';
import { Delivery, type DeliveryOptions, type Encoder, type Transport } from './delivery.js';
import { FileTransport } from './file.js';
import { HttpTransport, httpEncoder } from './http.js';
import { DiskSpool } from './spool.js';
import { StreamSyslog, UdpSyslog, syslogEncoder } from './syslog.js';

type Stream = 'events' | 'access';

export interface SinksEnv {
  readonly logger: Logger;
  /** The gateway's log stream: where stdout sinks write. */
  readonly destination: DestinationStream;
  readonly accessLog: AccessLog;
  readonly telemetry: Telemetry;
}

export interface SinkSettings {
  readonly telemetry: TelemetryConfig;
  /** gateway.access_log: false turns the access stream off whatever its sinks. */
  readonly accessLog: boolean;
  /** Relative paths (files, spools, TLS files) are resolved from here. */
  readonly baseDir: string;
}

interface PlannedSink {
  readonly key: string;
  readonly stream: Stream;
  readonly name: string;
  readonly config: SinkConfig;
  /** Where to write the stdout line; undefined for queued sinks. */
  readonly direct?: (record: SinkRecord) => string;
  readonly build?: () => { transport: Transport; encode: Encoder; options: DeliveryOptions };
  readonly spool?: { dir: string; maxBytes: number };
}

export interface SinkPlan {
  readonly sinks: readonly PlannedSink[];
  /** The stdout access line stays the hand-built one. */
  readonly accessLine: boolean;
}

interface DirectSink {
  readonly name: string;
  readonly stream: Stream;
  readonly write: (record: SinkRecord) => void;
  sent: number;
}

type Target = Delivery | DirectSink;

export class SinkManager {
  private deliveries = new Map<string, { delivery: Delivery; spool: string | undefined; config: string }>();
  private direct: DirectSink[] = [];
  private eventTargets: Target[] = [];
  private accessTargets: Target[] = [];
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(private readonly env: SinksEnv) {}

  /** The config as sinks to run; throws (with the config path) when a file it names cannot be read. */
  prepare(settings: SinkSettings): SinkPlan {
    const sinks: PlannedSink[] = [];
    let accessLine = false;
    const streams: Array<[Stream, string, SinkConfig[]]> = [
      ['events', 'events', settings.telemetry.events.sinks],
      ['access', 'access_log', settings.accessLog ? settings.telemetry.access_log.sinks : []],
    ];
    for (const [stream, key, list] of streams) {
      list.forEach((config, i) => {
        const where = `telemetry.${key}.sinks[${i}]`;
        const name = sinkName(stream, config, i);
        const format = formatter(config.format as FormatName);
        if (config.kind === 'stdout') {
          if (stream === 'access' && config.format === 'json') accessLine = true;
          else sinks.push({ key: `${stream}/${name}`, stream, name, config, direct: format });
          return;
        }
        const path = (file: string) => (isAbsolute(file) ? file : resolve(settings.baseDir, file));
        const read = (field: 'ca' | 'cert' | 'key') => {
          const file = config[field];
          if (file === undefined) return undefined;
          try {
            return readFileSync(path(file));
          } catch (err) {
            throw new Error(`${where}.${field}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          }
        };
        const tls: ConnectionOptions = { ca: read('ca'), cert: read('cert'), key: read('key'), rejectUnauthorized: config.verify ?? true, minVersion: 'TLSv1.2' };
        if (config.verify === false) this.env.logger.warn({ sink: name }, `${where}.verify is false: the receiver's certificate is not checked`);
        const options: DeliveryOptions = {
          name,
          stream,
          queue: config.queue,
          batchRecords: config.batch.max_records,
          batchBytes: parseSize(config.batch.max_bytes),
          batchIntervalMs: parseDuration(config.batch.interval),
          retryInitialMs: parseDuration(config.retry.initial),
          retryMaxMs: parseDuration(config.retry.max),
        };
        const timeoutMs = parseDuration(config.timeout);
        const node = this.env.telemetry.node;
        let build: PlannedSink['build'];
        if (config.kind === 'file') {
          const rotate = config.rotate;
          const file = path(config.path!);
          build = () => ({
            transport: new FileTransport({
              path: file,
              maxBytes: rotate?.max_size === undefined ? undefined : parseSize(rotate.max_size),
              intervalMs: rotate?.interval === undefined ? undefined : parseDuration(rotate.interval),
              keep: rotate?.keep ?? 10,
            }),
            encode: format,
            options,
          });
        } else if (config.kind === 'syslog') {
          const m = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(config.address!)!;
          const host = m[1] ?? m[2]!;
          const port = Number(m[3]);
          const transportKind = config.transport ?? 'tls';
          const encode = syslogEncoder(format, { facility: SYSLOG_FACILITIES[(config.facility ?? 'authpriv') as keyof typeof SYSLOG_FACILITIES], appName: config.app_name ?? 'portcullis', hostname: node });
          build = () => ({
            transport:
              transportKind === 'udp'
                ? new UdpSyslog(host, port)
                : new StreamSyslog({ host, port, timeoutMs, tls: transportKind === 'tls' ? { ...tls, servername: config.server_name } : undefined }),
            encode,
            options: transportKind === 'udp' ? options : { ...options, batchBytes: Math.min(options.batchBytes, 16 * 1024) },
          });
        } else {
          const preset = config.preset ?? 'json-lines';
          const index = config.index ?? `portcullis-${stream}`;
          const encode = httpEncoder(format, config.format, preset, node, config.index);
          build = () => ({
            transport: new HttpTransport({ url: config.url!, preset, token: config.token, headers: config.headers ?? {}, timeoutMs, tls: config.url!.startsWith('https:') ? tls : undefined }, index),
            encode,
            options,
          });
        }
        const spool = config.spool ? { dir: join(path(config.spool.dir), name), maxBytes: parseSize(config.spool.max_size) } : undefined;
        sinks.push({ key: `${stream}/${name}`, stream, name, config, build, spool });
      });
    }
    return { sinks, accessLine };
  }

  /** Makes the running sinks match the plan; records already queued or spooled keep their place. */
  apply(plan: SinkPlan): void {
    if (this.closed) return;
    const { logger, destination, accessLog, telemetry } = this.env;
    const wanted = new Set(plan.sinks.map((s) => s.key));
    for (const [key, entry] of this.deliveries) {
      if (!wanted.has(key)) {
        this.deliveries.delete(key);
        void entry.delivery.close(0); // what it holds goes to its spool (kept for when it is configured again)
      }
    }
    const eventTargets: Target[] = [];
    const accessTargets: Target[] = [];
    const direct: DirectSink[] = [];
    for (const sink of plan.sinks) {
      let target: Target;
      if (sink.direct) {
        const format = sink.direct;
        const previous = this.direct.find((d) => d.name === sink.name && d.stream === sink.stream);
        const d: DirectSink = {
          name: sink.name,
          stream: sink.stream,
          sent: previous?.sent ?? 0,
          write: (record) => {
            destination.write(format(record) + '\n');
            d.sent++;
          },
        };
        direct.push(d);
        target = d;
      } else {
        const existing = this.deliveries.get(sink.key);
        const config = JSON.stringify(sink.config);
        if (existing && existing.config === config) {
          target = existing.delivery; // unchanged: its connection, backoff and queue go on as they were
        } else if (existing && existing.spool === sink.spool?.dir) {
          const built = sink.build!();
          existing.delivery.reconfigure(built.options, built.transport, built.encode);
          existing.config = config;
          target = existing.delivery;
        } else {
          const built = sink.build!();
          if (existing) void existing.delivery.close(0);
          let spool: DiskSpool | undefined;
          if (sink.spool) {
            try {
              spool = DiskSpool.open(sink.spool.dir, sink.spool.maxBytes);
              if (spool.count > 0) logger.info({ sink: sink.name, spooled: spool.count }, `sink ${sink.name}: ${spool.count} records from an earlier run wait in the spool`);
            } catch (err) {
              logger.error({ sink: sink.name, err: (err as Error).message }, `sink ${sink.name}: the spool cannot be opened; records are kept in memory only`);
            }
          }
          const delivery = new Delivery(built.options, built.transport, built.encode, spool, logger);
          this.deliveries.set(sink.key, { delivery, spool: sink.spool?.dir, config });
          if (spool && spool.count > 0) delivery.kick();
          target = delivery;
        }
      }
      (sink.stream === 'events' ? eventTargets : accessTargets).push(target);
    }
    this.direct = direct;
    this.eventTargets = eventTargets;
    this.accessTargets = accessTargets;

    if (eventTargets.length > 0 && !this.unsubscribe) this.unsubscribe = telemetry.events.subscribe((event) => this.onEvent(event));
    if (eventTargets.length === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
    }
    accessLog.stdout = plan.accessLine;
    accessLog.tap =
      accessTargets.length === 0
        ? undefined
        : (ctx, status, completed, totalMs) => {
            const record: SinkRecord = { stream: 'access', access: accessRecordOf(telemetry.node, ctx, status, completed, totalMs) };
            for (const target of this.accessTargets) push(target, record);
          };
  }

  private onEvent(event: TelemetryEvent): void {
    const record: SinkRecord = { stream: 'events', event };
    for (const target of this.eventTargets) push(target, record);
  }

  status(): SinkStatus[] {
    const out: SinkStatus[] = this.direct.map((d) => ({ name: d.name, stream: d.stream, queued: 0, spooled: 0, sent: d.sent, dropped: 0, failures: 0 }));
    for (const { delivery } of this.deliveries.values()) out.push(delivery.status());
    return out;
  }

  /** SIGUSR1: file sinks open their files anew (after logrotate renamed them). */
  reopen(): void {
    for (const { delivery } of this.deliveries.values()) delivery.transport.reopen?.();
  }

  /** Shutdown: deliver what can be delivered within deadlineMs; the rest stays in the spools for the next start. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.env.accessLog.tap = undefined;
    await Promise.all([...this.deliveries.values()].map(({ delivery }) => delivery.close(deadlineMs)));
    this.deliveries.clear();
  }
}

function push(target: Target, record: SinkRecord): void {
  if (target instanceof Delivery) target.push(record);
  else target.write(record);
}

/** What the sinks read of a compiled config. */
export function sinkSettings(snapshot: { readonly config: { readonly telemetry: TelemetryConfig; readonly gateway: { readonly access_log: boolean } }; readonly baseDir: string }): SinkSettings {
  return { telemetry: snapshot.config.telemetry, accessLog: snapshot.config.gateway.access_log, baseDir: snapshot.baseDir };
}
