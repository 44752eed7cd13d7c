/**
 * A real syslog receiver for the tests: Debian's rsyslogd (with its GnuTLS
 * module, rsyslog-gnutls) run in the foreground (-n) as a child of the test,
 * with its own config and work folder, an imtcp listener on 127.0.0.1 (TLS
 * with the certificate given, or plain TCP) and an imudp one, writing each
 * message's MSG part, one per line, to a file. stop() and start() again keep
 * the ports and the file, as a receiver restart would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Rsyslog {
  readonly tcpPort: number;
  readonly udpPort: number;
  readonly out: string;
  /** The lines written so far: each message's MSG. */
  lines(): string[];
  /** Each message's header as PRI|HOSTNAME|APP-NAME|MSGID. */
  headers(): string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startRsyslog(options: { tls?: { caFile: string; certFile: string; keyFile: string } }): Promise<Rsyslog> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-rsyslog-'));
  const tcpPort = await freePort();
  const udpPort = await freePort();
  const out = join(dir, 'messages.log');
  const tls = options.tls;
  writeFileSync(
    join(dir, 'rsyslog.conf'),
    `global(workDirectory="${dir}" maxMessageSize="64k"${tls ? ` defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="${tls.caFile}" defaultNetstreamDriverCertFile="${tls.certFile}" defaultNetstreamDriverKeyFile="${tls.keyFile}"` : ''})
# rsyslog drops what its queue still holds when stopped past 1.5 s (the default): it has closed our connection in order by then, so the sink counted it sent. A receiver in production needs the same (or a disk queue); here it drains for up to 60 s.
main_queue(queue.timeoutShutdown="60000" queue.timeoutActionCompletion="60000")
module(load="imtcp"${tls ? ' streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"' : ''})
module(load="imudp")
input(type="imtcp" port="${tcpPort}" address="127.0.0.1")
input(type="imudp" port="${udpPort}" address="127.0.0.1")
template(name="msgOnly" type="string" string="%msg%\\n")
*.* action(type="omfile" file="${out}" template="msgOnly")
template(name="header" type="string" string="%pri%|%hostname%|%app-name%|%msgid%\\n")
*.* action(type="omfile" file="${join(dir, 'headers.log')}" template="header")
`,
  );
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    child = spawn('rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`rsyslogd exited: ${output}`);
      if (await portOpen(tcpPort)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`rsyslogd did not listen on ${tcpPort}: ${output}`);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    tcpPort,
    udpPort,
    out,
    headers: () => (existsSync(join(dir, 'headers.log')) ? readFileSync(join(dir, 'headers.log'), 'utf8').split('\n').filter((l) => l !== '') : []),
    lines: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '') : []),
    start,
    stop,
  };
}
