/**
 * Syslog: records as RFC 5424 messages, over UDP (RFC 5426), TCP (RFC 6587)
 * or TLS (RFC 5425), both stream transports with octet counting
 * ("<length> <message>"), so a message may hold any byte and framing never
 * depends on line ends.
 *
 * A stream delivery opens a connection, writes the batch in one write, closes
 * its side and waits for the receiver to close its own. Syslog has no
 * acknowledgement: a write succeeds once the kernel has the bytes, and a
 * receiver that stops takes what sat unread in its socket with it. The
 * receiver's orderly close after reading our end of stream is the only sign
 * it has read everything; a reset or a timeout means it may not have, and the
 * batch is retried (from the spool when there is one). A connection per
 * batch costs a handshake per batch (batches fill under load, so at most a few
 * per second); what it buys is that a receiver restart loses nothing.
 *
 * UDP has no such sign: a datagram is sent or not, and is lost silently when
 * the receiver is down. It is there for receivers that take nothing else.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { SinkRecord } from '../formats/record.js';
import { SYSLOG_SEVERITY, severityOf } from '../formats/severity.js';
import type { Formatter } from '../formats/record.js';
import type { Transport } from './delivery.js';

/** RFC 5426 allows up to 65507 bytes over IPv4; larger messages are cut there. */
const UDP_MAX = 65_000;

/** PRINTUSASCII without spaces, at most `max` long; "-" (NILVALUE) when nothing is left. */
function headerField(value: string, max: number): string {
  const clean = value.replace(/[^!-~]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

export interface SyslogHeader {
  readonly facility: number;
  readonly appName: string;
  readonly hostname: string;
}

/** The whole RFC 5424 message: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG. */
export function syslogEncoder(format: Formatter, header: SyslogHeader): (record: SinkRecord) => string {
  const host = headerField(header.hostname, 255);
  const app = headerField(header.appName, 48);
  const procid = String(process.pid);
  return (record) => {
    const pri = header.facility * 8 + SYSLOG_SEVERITY[severityOf(record)];
    const time = record.stream === 'events' ? record.event.time : record.access.time;
    return `<${pri}>1 ${time} ${host} ${app} ${procid} ${record.stream} - ${format(record)}`;
  };
}

export interface StreamOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: ConnectionOptions;
  readonly timeoutMs: number;
}

export class StreamSyslog implements Transport {
  constructor(private readonly options: StreamOptions) {}

  send(units: readonly string[]): Promise<void> {
    let frames = '';
    for (const unit of units) frames += `${Buffer.byteLength(unit)} ${unit}`;
    const { host, port, tls, timeoutMs } = this.options;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const holder: { socket?: Socket } = {};
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        holder.socket?.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`no orderly close from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      const write = () => {
        holder.socket?.end(frames);
      };
      const socket = tls
        ? tlsConnect({ host, port, ...tls, servername: tls.servername ?? (isIP(host) ? undefined : host) }, write)
        : netConnect({ host, port }, write);
      holder.socket = socket;
      socket.on('error', fail);
      socket.on('data', () => {}); // nothing is expected; reading keeps the close observable
      socket.on('close', (hadError) => {
        clearTimeout(timer);
        if (hadError) return fail(new Error(`the connection to ${host}:${port} failed`));
        if (settled) return;
        settled = true;
        resolve();
      });
    });
  }

  async close(): Promise<void> {}
}

export class UdpSyslog implements Transport {
  private socket: UdpSocket | undefined;

  constructor(private readonly host: string, private readonly port: number) {}

  private open(): UdpSocket {
    if (!this.socket) {
      this.socket = createSocket(isIP(this.host) === 6 ? 'udp6' : 'udp4');
      this.socket.on('error', () => {}); // each send reports its own failure
      this.socket.unref();
    }
    return this.socket;
  }

  async send(units: readonly string[]): Promise<void> {
    const socket = this.open();
    for (const unit of units) {
      let data = Buffer.from(unit);
      if (data.length > UDP_MAX) data = data.subarray(0, UDP_MAX);
      await new Promise<void>((resolve, reject) => socket.send(data, this.port, this.host, (err) => (err ? reject(err) : resolve())));
    }
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

