/**
 * A port where TCP connects hang: a Python listener with a backlog of 0 that
 * never accepts, whose queue the helper fills itself, so the kernel drops
 * every further SYN and a client's connect times out. Node cannot play this
 * part: its servers accept every connection at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface UnansweredPort {
  port: number;
  close(): Promise<void>;
}

const LISTENER = `
import socket, sys
server = socket.socket()
server.bind(('127.0.0.1', 0))
server.listen(0)
port = server.getsockname()[1]
fillers = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(('127.0.0.1', port))
    except BlockingIOError:
        pass
    fillers.append(c)
print(port, flush=True)
sys.stdin.read()
`;

export async function startUnansweredPort(): Promise<UnansweredPort> {
  const child: ChildProcess = spawn('python3', ['-c', LISTENER], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.split('\n')[0]));
    });
    child.once('exit', (code) => reject(new Error(`python3 listener exited (${code}): ${stderr}`)));
    child.once('error', reject);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    async close() {
      if (child.exitCode === null) {
        child.stdin!.end();
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
