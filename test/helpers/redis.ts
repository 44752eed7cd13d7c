/**
 * Real redis-server processes for the tests (Debian's redis-server, see
 * .ci/install), on free loopback ports, with nothing persisted. They can be
 * killed and restarted on the same port, or frozen (SIGSTOP) to play a
 * Redis that stops answering without closing its connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Sends one inline command and returns the raw reply (or throws when nothing answers). */
export function redisCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on ${port} did not answer ${command}`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.endsWith('\r\n') && !/^\*|^\$/.test(reply)) finish();
      else if (/^\$(-1|\d+\r\n[\s\S]*\r\n)$/.test(reply)) finish();
      else if (/^\*/.test(reply) && complete(reply)) finish();
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const finish = () => {
      clearTimeout(timer);
      socket.end();
      resolve(reply);
    };
    socket.write(command + '\r\n');
  });
}

/** Good enough for the flat arrays of bulk strings and integers the tests read. */
function complete(reply: string): boolean {
  const lines = reply.split('\r\n');
  const count = Number(lines[0]!.slice(1));
  let i = 1;
  for (let n = 0; n < count; n++) {
    const line = lines[i];
    if (line === undefined) return false;
    if (line.startsWith('$') && line !== '$-1') i += 2;
    else i += 1;
  }
  return lines.length > i;
}

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: the server is gone, connections drop. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that stops answering but keeps its connections. */
  freeze(): void;
  thaw(): void;
  command(command: string): Promise<string>;
  close(): Promise<void>;
}

async function waitForPing(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output()}`);
    try {
      if ((await redisCommand(port, 'PING', 500)).startsWith('+PONG')) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function spawnRedis(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  return { child, output: () => output };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning', ...extraArgs];
  let running = spawnRedis(args);
  await waitForPing(port, running.child, running.output);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      running.child.kill('SIGKILL');
      await exited(running.child);
    },
    async restart() {
      running = spawnRedis(args);
      await waitForPing(port, running.child, running.output);
    },
    freeze() {
      running.child.kill('SIGSTOP');
    },
    thaw() {
      running.child.kill('SIGCONT');
    },
    command: (command) => redisCommand(port, command),
    async close() {
      running.child.kill('SIGCONT');
      running.child.kill('SIGKILL');
      await exited(running.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestRedisCluster {
  readonly nodes: string[];
  close(): Promise<void>;
}

/** Three masters, no replicas: the smallest Redis Cluster. */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-cluster-'));
  const servers: Array<{ child: ChildProcess; output: () => string; port: number }> = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const s = spawnRedis([
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--loglevel', 'warning',
      ]);
      servers.push({ ...s, port });
      await waitForPing(port, s.child, s.output);
    }
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
    await new Promise<void>((resolve, reject) => {
      const create = spawn('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'pipe' });
      let out = '';
      create.stdout.on('data', (d: Buffer) => (out += d.toString()));
      create.stderr.on('data', (d: Buffer) => (out += d.toString()));
      create.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cluster create failed: ${out}`))));
    });
    const deadline = Date.now() + 15_000;
    for (const s of servers) {
      while (!(await redisCommand(s.port, 'CLUSTER INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('cluster did not become ready');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      nodes,
      async close() {
        for (const s of servers) s.child.kill('SIGKILL');
        await Promise.all(servers.map((s) => exited(s.child)));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const s of servers) s.child.kill('SIGKILL');
    throw err;
  }
}

export interface TestRedisSentinel {
  readonly master: TestRedis;
  readonly sentinels: string[];
  readonly name: string;
  close(): Promise<void>;
}

/** One master watched by one sentinel (quorum 1). */
export async function startRedisSentinel(): Promise<TestRedisSentinel> {
  const master = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-sentinel-'));
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor portcullis 127.0.0.1 ${master.port} 1\nsentinel resolve-hostnames no\n`);
  const s = spawnRedis([conf, '--sentinel', '--loglevel', 'warning']);
  try {
    await waitForPing(port, s.child, s.output);
    const deadline = Date.now() + 10_000;
    while (!(await redisCommand(port, 'SENTINEL get-master-addr-by-name portcullis')).includes(String(master.port))) {
      if (Date.now() > deadline) throw new Error('sentinel does not know the master');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    s.child.kill('SIGKILL');
    await master.close();
    throw err;
  }
  return {
    master,
    sentinels: [`127.0.0.1:${port}`],
    name: 'portcullis',
    async close() {
      s.child.kill('SIGKILL');
      await exited(s.child);
      await master.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
