/**
 * A client that drops its HTTP/2 connection (a TCP reset) is routine on the
 * internet: the gateway notes it at debug level, not a line per disconnect
 * at info (issue 13, item 6). The gateway runs at debug level here so that
 * the line is seen at all: a test that only looked for its absence at info
 * would pass if the disconnect were never noticed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { makePki, type Pki } from '../helpers/tls.js';

/** The HTTP/2 connection preface and an empty SETTINGS frame. */
const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

describe('HTTP/2 client disconnects in the log', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    pki = await makePki();
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    upstream = await startUpstream(echo);
    gw = await startGateway(
      `listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls: { certificates: [{ cert: server.crt, key: server.key }] }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: open, service: echo, public: true, match: { paths: [/] } }]
`,
      { dir: pki.dir, logLevel: 'debug' },
    );
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('logs a connection reset by the client at debug, not info', async () => {
    const tcp: Socket = tcpConnect(gw.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => tcp.once('connect', resolve).once('error', reject));
    const tls = tlsConnect({ socket: tcp, ALPNProtocols: ['h2'], servername: 'localhost', ca: pki.caPem });
    await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject));
    assert.equal(tls.alpnProtocol, 'h2');
    tls.write(PREFACE);
    // Let the session start on the gateway's side, then reset the TCP connection under it.
    await new Promise((r) => setTimeout(r, 100));
    tls.on('error', () => {});
    tcp.resetAndDestroy();

    const line = await gw.waitForLog((l) => l.msg === 'HTTP/2 session error');
    assert.equal(line.level, 'debug', JSON.stringify(line));
    assert.ok(['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(String(line.code)), JSON.stringify(line));
    assert.equal(
      gw.logs.filter((l) => l.msg === 'HTTP/2 session error' && l.level !== 'debug').length,
      0,
      'no disconnect is logged above debug',
    );
  });
});
