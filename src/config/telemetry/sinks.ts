/**
 * Event and access-log sinks: where each stream goes and in which format.
 *
 * One flat object per sink: `kind` says which of the kind-specific keys apply
 * (file: path, rotate; syslog: address, transport, facility, app_name and the
 * TLS files; http: url, preset, token, headers, index). The kind-specific keys
 * have no schema defaults, so that checkSinks can refuse a key given to the
 * wrong kind (a `url` on a syslog sink is a mistake, not something to ignore);
 * their defaults are applied where the sink is built and named in each
 * description.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { ConfigPath } from '../errors.js';
import { Secret, Size, Timer } from '../types.js';
import { MAX_TIMER_MS, parseDuration, parseSize } from '../units.js';

export const SINK_KINDS = ['stdout', 'file', 'syslog', 'http'] as const;
export const SINK_FORMATS = ['json', 'cef', 'ocsf', 'ecs'] as const;

/** RFC 5424 facility codes (section 6.2.1). */
export const SYSLOG_FACILITIES = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11, ntp: 12,
  security: 13, console: 14, 'solaris-cron': 15, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const;

const literals = <T extends string>(values: readonly T[], options: { description: string; default?: T }) =>
  Type.Union(values.map((v) => Type.Literal(v)), options);

const HostPort = Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:/\\[\\]]+):\\d{1,5}$', description: 'syslog: host:port of the receiver' });

export const SinkSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]{1,64}$',
        description: 'names the sink in logs, sink status and metrics, and its spool folder; "<stream>-<kind>-<n>" when not set',
      }),
    ),
    kind: literals(SINK_KINDS, { description: 'stdout (with the gateway\'s log lines), file, syslog (RFC 5424) or http (batches)' }),
    format: literals(SINK_FORMATS, { default: 'json', description: 'json (the record as is), cef (ArcSight), ocsf (1.x) or ecs (Elastic); docs/siem.md maps every field' }),

    path: Type.Optional(Type.String({ minLength: 1, description: 'file: the file appended to (relative to the config file\'s folder)' })),
    rotate: Type.Optional(
      Type.Object(
        {
          max_size: Type.Optional(Size({ description: 'rotate when the file would grow past this' })),
          interval: Type.Optional(Timer({ description: 'rotate this often (counted from start or the last rotation)' })),
          keep: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'rotated files kept (FILE.1 newest ... FILE.keep oldest)' }),
        },
        { additionalProperties: false, description: 'file: rotation by size and/or time; without it the file only grows (use logrotate and SIGUSR1)' },
      ),
    ),

    address: Type.Optional(HostPort),
    transport: Type.Optional(
      literals(['udp', 'tcp', 'tls'], {
        description: 'syslog: tls (default; RFC 5425 octet counting), tcp (RFC 6587 octet counting) or udp (RFC 5426: no delivery confirmation, can lose records)',
      }),
    ),
    facility: Type.Optional(literals(Object.keys(SYSLOG_FACILITIES), { description: 'syslog: the facility (default authpriv: security messages, private on most systems)' })),
    app_name: Type.Optional(Type.String({ pattern: '^[!-~]{1,48}$', description: 'syslog: APP-NAME (default portcullis)' })),
    ca: Type.Optional(Type.String({ minLength: 1, description: 'syslog tls, https: PEM bundle the receiver\'s certificate must chain to (default: the system roots)' })),
    cert: Type.Optional(Type.String({ minLength: 1, description: 'syslog tls, https: client certificate file the gateway presents' })),
    key: Type.Optional(Secret({ description: 'syslog tls, https: its private key file' })),
    server_name: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'syslog tls: the name the receiver\'s certificate must carry (default: the address\'s host)' })),
    verify: Type.Optional(Type.Boolean({ description: 'syslog tls, https: check the receiver\'s certificate chain and name (default true; turning it off is logged as a warning)' })),

    url: Type.Optional(Type.String({ format: 'upstream-url', description: 'http: where batches are POSTed, e.g. https://splunk:8088/services/collector/event or https://es:9200/_bulk' })),
    preset: Type.Optional(
      literals(['splunk-hec', 'elasticsearch-bulk', 'json-lines'], {
        description: 'http: splunk-hec (HEC event batches, Authorization: Splunk <token>), elasticsearch-bulk (_bulk NDJSON, create with an id so a retry never duplicates), json-lines (default; one record per line)',
      }),
    ),
    token: Type.Optional(Secret({ description: 'http: splunk-hec: the HEC token; elasticsearch-bulk: an API key (Authorization: ApiKey); json-lines: a bearer token' })),
    headers: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }), Secret(), { description: 'http: extra request headers; values are secrets (never logged)' })),
    index: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'http: splunk-hec: the index; elasticsearch-bulk: the index or data stream (default portcullis-<stream>)' })),

    batch: Type.Object(
      {
        max_records: Type.Integer({ minimum: 1, maximum: 10_000, default: 500, description: 'records per batch at most' }),
        max_bytes: Size({ default: '1MiB', description: 'bytes per batch at most (a record larger than this goes alone)' }),
        interval: Timer({ default: '1s', description: 'how long a record may wait for its batch to fill' }),
      },
      { additionalProperties: false, default: {}, description: 'file, syslog tcp/tls, http: how records are grouped per write' },
    ),
    timeout: Timer({ default: '10s', description: 'syslog tcp/tls, http: how long one delivery may take before it counts as failed' }),
    queue: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'records held in memory; past it records go to the spool (or are dropped and counted when there is none)' }),
    spool: Type.Optional(
      Type.Object(
        {
          dir: Type.String({ minLength: 1, description: 'the spool folder (relative to the config file\'s folder); this sink\'s records go in a subfolder named after it, created 0700' }),
          max_size: Size({ default: '256MiB', description: 'spool bytes at most; past it new records are dropped and counted' }),
        },
        { additionalProperties: false, description: 'records wait here, on disk, while the receiver is away; replayed in order when it returns and kept across restarts' },
      ),
    ),
    retry: Type.Object(
      {
        initial: Timer({ default: '500ms', description: 'the wait after the first failed delivery' }),
        max: Timer({ default: '30s', description: 'the longest wait between attempts (the wait doubles each failure, with jitter)' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type SinkConfig = Static<typeof SinkSchema>;

export const EventsStreamSchema = Type.Object(
  {
    sinks: Type.Array(SinkSchema, { default: [{ kind: 'stdout' }], maxItems: 16, description: 'where security events go (default: JSON lines on stdout)' }),
  },
  { additionalProperties: false, default: {} },
);

export const AccessStreamSchema = Type.Object(
  {
    sinks: Type.Array(SinkSchema, {
      default: [{ kind: 'stdout' }],
      maxItems: 16,
      description: 'where access records go when gateway.access_log is on (default: the JSON access line on stdout); [] sends them nowhere',
    }),
  },
  { additionalProperties: false, default: {} },
);

type Report = (path: ConfigPath, message: string) => void;

/** Which kind each kind-specific key belongs to. */
const KEYS_OF: Record<string, ReadonlyArray<(typeof SINK_KINDS)[number]>> = {
  path: ['file'],
  rotate: ['file'],
  address: ['syslog'],
  transport: ['syslog'],
  facility: ['syslog'],
  app_name: ['syslog'],
  server_name: ['syslog'],
  ca: ['syslog', 'http'],
  cert: ['syslog', 'http'],
  key: ['syslog', 'http'],
  verify: ['syslog', 'http'],
  url: ['http'],
  preset: ['http'],
  token: ['http'],
  headers: ['http'],
  index: ['http'],
  spool: ['file', 'syslog', 'http'],
};

/** Cross-field checks the schema cannot say: what each kind needs, keys given to the wrong kind, unique names. */
export function checkSinks(streams: { events: { sinks: SinkConfig[] }; access_log: { sinks: SinkConfig[] } }, report: Report): void {
  const names = new Map<string, string>();
  for (const [stream, list] of [['events', streams.events.sinks], ['access_log', streams.access_log.sinks]] as const) {
    list.forEach((sink, i) => {
      const at = (...rest: Array<string | number>): ConfigPath => ['telemetry', stream, 'sinks', i, ...rest];
      for (const [key, kinds] of Object.entries(KEYS_OF)) {
        if ((sink as Record<string, unknown>)[key] !== undefined && !kinds.includes(sink.kind)) {
          report(at(key), `${key} is for ${kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} and ${kinds.at(-1)}` : kinds[0]} sinks, not ${sink.kind}`);
        }
      }
      if (sink.kind === 'file' && sink.path === undefined) report(at('path'), 'a file sink needs path');
      if (sink.kind === 'syslog' && sink.address === undefined) report(at('address'), 'a syslog sink needs address (host:port)');
      if (sink.kind === 'http' && sink.url === undefined) report(at('url'), 'an http sink needs url');
      if (sink.kind === 'syslog' && sink.transport !== 'tls' && sink.transport !== undefined) {
        for (const key of ['ca', 'cert', 'key', 'server_name', 'verify'] as const) {
          if (sink[key] !== undefined) report(at(key), `${key} is for transport tls`);
        }
      }
      if (sink.kind === 'http' && sink.url?.startsWith('http:')) {
        for (const key of ['ca', 'cert', 'key', 'verify'] as const) if (sink[key] !== undefined) report(at(key), `${key} is for an https url`);
      }
      if ((sink.cert === undefined) !== (sink.key === undefined)) report(at(sink.cert === undefined ? 'cert' : 'key'), 'cert and key go together');
      if (sink.kind === 'http' && sink.preset === 'splunk-hec' && sink.token === undefined) report(at('token'), 'a splunk-hec sink needs token (the HEC token)');
      if (sink.rotate && sink.rotate.max_size === undefined && sink.rotate.interval === undefined) report(at('rotate'), 'rotate needs max_size, interval or both');
      if (sink.rotate?.max_size !== undefined && parseSize(sink.rotate.max_size) < 4096) report(at('rotate', 'max_size'), 'at least 4KiB');
      if (sink.rotate?.interval !== undefined && parseDuration(sink.rotate.interval) < 1000) report(at('rotate', 'interval'), 'at least 1s');
      if (sink.spool && parseSize(sink.spool.max_size) < 64 * 1024) report(at('spool', 'max_size'), 'at least 64KiB');
      if (parseSize(sink.batch.max_bytes) < 1024) report(at('batch', 'max_bytes'), 'at least 1KiB');
      if (parseDuration(sink.retry.initial) < 10) report(at('retry', 'initial'), 'at least 10ms');
      if (parseDuration(sink.retry.max) < parseDuration(sink.retry.initial)) report(at('retry', 'max'), 'at least retry.initial');
      if (parseDuration(sink.timeout) < 100 || parseDuration(sink.timeout) > MAX_TIMER_MS) report(at('timeout'), 'at least 100ms');
      const name = sinkName(stream === 'events' ? 'events' : 'access', sink, i);
      const first = names.get(name);
      if (first !== undefined) report(at('name'), `"${name}" is already the name of ${first}`);
      else names.set(name, `telemetry.${stream}.sinks[${i}]`);
    });
  }
}

/** A sink's name: its own, or one made of its stream, kind and place. */
export function sinkName(stream: 'events' | 'access', sink: SinkConfig, index: number): string {
  return sink.name ?? `${stream}-${sink.kind}-${index}`;
}
