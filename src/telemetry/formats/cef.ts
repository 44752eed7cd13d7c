/**
 * ArcSight Common Event Format (CEF:0), as QRadar, ArcSight and most SIEMs
 * read it over syslog:
 *   CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|key=value key=value ...
 * Header fields escape "\" and "|"; extension values escape "\" and "=" and
 * write CR and LF as \r and \n, so a record is always one line and a value
 * can never start a key of its own (a client-chosen path holding " act=allowed"
 * stays inside `request`). docs/siem.md lists every key.
 */
import type { TelemetryEvent } from '../event.js';
import type { Product } from './product.js';
import type { AccessRecord, SinkRecord } from './record.js';
import { CEF_SEVERITY, severityOf } from './severity.js';

/**
 * Other control characters and the Unicode line separators (NEL, U+2028/9),
 * which readers that split lines the Unicode way (Python's splitlines, Java's
 * \R) end a line at: CEF has no escape for them, so they show as "?".
 */
const OTHER_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/g;

export function cefHeader(value: string): string {
  return value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ').replace(OTHER_BREAKS, '?');
}

export function cefValue(value: string): string {
  return value.replace(/[\\=\r\n]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\${c}`)).replace(OTHER_BREAKS, '?');
}

/** Header fields are bounded too: a CEF reader splits on "|", and long names are truncated by receivers anyway. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Builds the extension: key=value pairs, empty values left out, a label only beside its value. */
class Ext {
  text = '';
  add(key: string, value: string | number | undefined): this {
    if (value === undefined || value === '') return this;
    const v = typeof value === 'number' ? String(value) : cefValue(value);
    this.text += this.text === '' ? `${key}=${v}` : ` ${key}=${v}`;
    return this;
  }
  labelled(key: string, label: string, value: string | number | undefined): this {
    if (value === undefined || value === '') return this;
    return this.add(key, value).add(`${key}Label`, label);
  }
}

function eventExtension(e: TelemetryEvent): string {
  const r = e.request;
  const x = new Ext()
    .add('rt', Date.parse(e.time))
    .add('dvchost', e.node)
    .add('act', e.action)
    .add('cat', e.category)
    .add('msg', e.message)
    .add('reason', e.reason);
  if (r !== undefined) {
    x.add('src', r.clientIp).add('dhost', r.host).add('requestMethod', r.method).add('request', r.path).add('suser', r.consumer).add('externalId', r.id);
    x.labelled('cn1', 'status', r.status).labelled('cs1', 'route', r.route).labelled('cs2', 'service', r.service);
  }
  x.labelled('cs3', 'policy', e.source);
  if (r !== undefined) x.labelled('cs4', 'traceId', r.traceId).labelled('cs5', 'credentialId', r.credentialId);
  return x.labelled('cs6', 'details', e.details === undefined ? undefined : JSON.stringify(e.details)).labelled('flexString1', 'code', e.code).text;
}

function accessExtension(a: AccessRecord): string {
  return new Ext()
    .add('rt', Date.parse(a.time))
    .add('dvchost', a.node)
    .add('src', a.clientIp)
    .add('dhost', a.host)
    .add('requestMethod', a.method)
    .add('request', a.path)
    .add('suser', a.consumer)
    .add('externalId', a.requestId)
    .add('out', a.bytesSent)
    .labelled('cn1', 'status', a.status)
    .labelled('cn2', 'totalMs', Math.round(a.totalMs))
    .labelled('cn3', 'upstreamMs', a.upstreamMs === undefined ? undefined : Math.round(a.upstreamMs))
    .labelled('cs1', 'route', a.route)
    .labelled('cs2', 'service', a.service)
    .labelled('cs3', 'target', a.target)
    .labelled('cs4', 'traceId', a.traceId)
    .labelled('cs6', 'events', a.events?.join(','))
    .labelled('flexString1', 'code', a.code)
    .add('outcome', a.completed ? undefined : 'aborted').text;
}

export function cefFormatter(product: Product) {
  const prefix = `CEF:0|${cefHeader(product.vendor)}|${cefHeader(product.name)}|${cefHeader(product.version)}|`;
  return (record: SinkRecord): string => {
    const severity = CEF_SEVERITY[severityOf(record)];
    if (record.stream === 'events') {
      const e = record.event;
      return `${prefix}${cefHeader(clip(e.type, 100))}|${cefHeader(clip(e.message, 256))}|${severity}|${eventExtension(e)}`;
    }
    const a = record.access;
    return `${prefix}access|HTTP request|${severity}|${accessExtension(a)}`;
  };
}
