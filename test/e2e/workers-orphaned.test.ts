/**
 * Workers whose supervisor is gone (SIGKILLed, or crashed) answer the
 * requests they hold, then end by themselves. Before, node:cluster ended them
 * at once, cutting those requests, and one that still held log lines never
 * ended: its last flush at exit retried the write to the dead supervisor's
 * pipe every 100 ms for ever (orphans ran for hours, holding memory).
 * `portcullis start` with two workers in a child process, real processes and
 * pipes; traffic runs until the kill so that each worker holds unwritten
 * access lines when its supervisor dies. In EXCLUSIVE (test/all.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { childCliPids, startCli, type RunningCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** How long the workers get to end: their budget is shutdown_timeout (10 s) + 2 s (docs/workers.md), this allows for a loaded machine. */
const GIVE_UP_MS = 30_000;

/** A process by pid and start time (field 22 of /proc/PID/stat): a pid the kernel reused for another process is not it. */
interface Proc {
  pid: number;
  start: string;
}

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state is field 3, start time field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function identify(pid: number): Proc | undefined {
  const fields = statFields(pid);
  return fields ? { pid, start: fields[19]! } : undefined;
}

/** Still running (a zombie has ended: only its parent's wait() is missing). */
function running(proc: Proc): boolean {
  const fields = statFields(proc.pid);
  return fields !== undefined && fields[19] === proc.start && fields[0] !== 'Z';
}

/** What a process left running is doing, for the failure message. */
function describeProc(proc: Proc): string {
  const read = (name: string) => {
    try {
      return readFileSync(`/proc/${proc.pid}/${name}`, 'utf8').trim();
    } catch {
      return '?';
    }
  };
  return `pid ${proc.pid}: state ${statFields(proc.pid)?.[0] ?? '?'}, wchan ${read('wchan')}, syscall ${read('syscall')}`;
}

/** One GET on a connection of its own: its status, or the error that ended it. */
function get(port: number, path: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.setTimeout(GIVE_UP_MS, () => req.destroy(new Error('no answer')));
    req.end();
  });
}

/** Requests on new connections (node:cluster hands each to the next worker) until stop(); answers are not checked. */
function traffic(port: number) {
  let going = true;
  const one = () =>
    new Promise<void>((done) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', done);
        res.on('error', () => done());
      });
      req.on('error', () => done());
      req.setTimeout(5_000, () => req.destroy());
      req.end();
    });
  const loop = (async () => {
    while (going) await one();
  })();
  return async () => {
    going = false;
    await loop;
  };
}

describe('workers of a supervisor killed with SIGKILL', () => {
  let upstream: TestUpstream;
  let node: RunningCli | undefined;
  let port: number;
  const workers: Proc[] = [];
  /** /held requests wait at the upstream until the test lets them go. */
  const held: ServerResponse[] = [];
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));

  before(async () => {
    upstream = await startUpstream((req, res, seen) => {
      if (!seen.url.startsWith('/held')) return echo(req, res, seen);
      held.push(res);
      void released.then(() => res.end('answered after the supervisor died'));
    });
    port = await freePort();
    const file = writeConfig(`
gateway: { drain_delay: 0s, shutdown_timeout: 10s }
listeners: [{ name: main, address: "127.0.0.1:${port}" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
`);
    node = startCli(['start', '-c', file], { env: { ...process.env, PORTCULLIS_WORKERS: '2' } });
    await node.waitFor('portcullis: 2 workers', 120_000);
  });

  after(async () => {
    // Whatever failed above, no process this file started is left running: the supervisor's workers
    // (looked up now if the test did not get to it), then the supervisor; each by pid and start time.
    const supervisor = node?.child.pid !== undefined ? identify(node.child.pid) : undefined;
    if (supervisor && running(supervisor)) {
      for (const pid of childCliPids(supervisor.pid)) {
        const proc = identify(pid);
        if (proc && !workers.some((w) => w.pid === pid)) workers.push(proc);
      }
      process.kill(supervisor.pid, 'SIGKILL');
    }
    for (const worker of workers) if (running(worker)) process.kill(worker.pid, 'SIGKILL');
    release();
    await upstream?.close();
  });

  it('answer the requests they hold, then end by themselves, with access lines still unwritten when it died', async () => {
    for (const pid of childCliPids(node!.child.pid!)) {
      const proc = identify(pid);
      if (proc) workers.push(proc);
    }
    assert.equal(workers.length, 2, 'two worker processes');
    const stop = traffic(port);
    // A request a worker holds (the upstream answers it only after the kill), and a few hundred ms of
    // requests: every worker has answered some, and its latest lines wait in its buffers.
    let answered = false;
    const answer = get(port, '/held').finally(() => (answered = true));
    while (held.length === 0 && !answered) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(held.length, 1, `the held request reached the upstream: ${JSON.stringify(answered ? await answer : 'pending')}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const gone = new Promise((resolve) => node!.child.once('exit', resolve));
    node!.child.kill('SIGKILL');
    await gone;
    release();
    await stop();
    const deadline = Date.now() + GIVE_UP_MS;
    while (workers.some(running) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const left = workers.filter(running);
    assert.deepEqual(left.map((w) => w.pid), [], `workers still running ${GIVE_UP_MS / 1000} s after their supervisor died: ${left.map(describeProc).join('; ')}`);
    assert.deepEqual(await answer, { status: 200, body: 'answered after the supervisor died' }, 'the held request is answered');
  });
});
