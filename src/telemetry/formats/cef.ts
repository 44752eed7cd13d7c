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

export function cefHeader(value: string): string {
  return value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
}

export function cefValue(value: string): string {
  return value.replace(/[\\=\r\n]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\${c}`));
}

/** Header fields are bounded too: a CEF reader splits on "|", and long names are truncated by receivers anyway. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

type Ext = Array<[string, string | number | undefined]>;

function extension(pairs: Ext): string {
  const out: string[] = [];
  for (const [key, value] of pairs) if (value !== undefined && value !== '') out.push(`${key}=${cefValue(String(value))}`);
  return out.join(' ');
}

function eventExtension(e: TelemetryEvent): Ext {
  const r = e.request;
  return [
    ['rt', Date.parse(e.time)],
    ['dvchost', e.node],
    ['act', e.action],
    ['cat', e.category],
    ['msg', e.message],
    ['reason', e.reason],
    ['src', r?.clientIp],
    ['dhost', r?.host],
    ['requestMethod', r?.method],
    ['request', r?.path],
    ['suser', r?.consumer],
    ['externalId', r?.id],
    ['cn1', r?.status],
    ['cn1Label', r?.status === undefined ? undefined : 'status'],
    ['cs1', r?.route],
    ['cs1Label', r?.route === undefined ? undefined : 'route'],
    ['cs2', r?.service],
    ['cs2Label', r?.service === undefined ? undefined : 'service'],
    ['cs3', e.source],
    ['cs3Label', 'policy'],
    ['cs4', r?.traceId],
    ['cs4Label', r?.traceId === undefined ? undefined : 'traceId'],
    ['cs5', r?.credentialId],
    ['cs5Label', r?.credentialId === undefined ? undefined : 'credentialId'],
    ['cs6', e.details === undefined ? undefined : JSON.stringify(e.details)],
    ['cs6Label', e.details === undefined ? undefined : 'details'],
    ['flexString1', e.code],
    ['flexString1Label', e.code === undefined ? undefined : 'code'],
  ];
}

function accessExtension(a: AccessRecord): Ext {
  return [
    ['rt', Date.parse(a.time)],
    ['dvchost', a.node],
    ['src', a.clientIp],
    ['dhost', a.host],
    ['requestMethod', a.method],
    ['request', a.path],
    ['suser', a.consumer],
    ['externalId', a.requestId],
    ['out', a.bytesSent],
    ['cn1', a.status],
    ['cn1Label', 'status'],
    ['cn2', Math.round(a.totalMs)],
    ['cn2Label', 'totalMs'],
    ['cn3', a.upstreamMs === undefined ? undefined : Math.round(a.upstreamMs)],
    ['cn3Label', a.upstreamMs === undefined ? undefined : 'upstreamMs'],
    ['cs1', a.route],
    ['cs1Label', a.route === undefined ? undefined : 'route'],
    ['cs2', a.service],
    ['cs2Label', a.service === undefined ? undefined : 'service'],
    ['cs3', a.target],
    ['cs3Label', a.target === undefined ? undefined : 'target'],
    ['cs4', a.traceId],
    ['cs4Label', a.traceId === undefined ? undefined : 'traceId'],
    ['cs6', a.events?.join(',')],
    ['cs6Label', a.events === undefined ? undefined : 'events'],
    ['flexString1', a.code],
    ['flexString1Label', a.code === undefined ? undefined : 'code'],
    ['outcome', a.completed ? undefined : 'aborted'],
  ];
}

export function cefFormatter(product: Product) {
  const prefix = `CEF:0|${cefHeader(product.vendor)}|${cefHeader(product.name)}|${cefHeader(product.version)}|`;
  return (record: SinkRecord): string => {
    const severity = CEF_SEVERITY[severityOf(record)];
    if (record.stream === 'events') {
      const e = record.event;
      return `${prefix}${cefHeader(clip(e.type, 100))}|${cefHeader(clip(e.message, 256))}|${severity}|${extension(eventExtension(e))}`;
    }
    const a = record.access;
    return `${prefix}access|HTTP request|${severity}|${extension(accessExtension(a))}`;
  };
}
