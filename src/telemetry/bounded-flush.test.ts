/**
 * The stdout stream's last flush ends whatever its reader does: gone (EPIPE),
 * there but not reading (EAGAIN), or reading (every line, in order). On real
 * FIFOs and a real child process's stdout pipe; the stream is pino's own
 * destination (sonic-boom), whose fields bounded-flush.ts reads.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { flushWithin } from './bounded-flush.js';

const dir = mkdtempSync(join(tmpdir(), 'portcullis-flush-'));
let fifos = 0;

/** A FIFO opened at both ends, the writer non-blocking as a worker's may be: reads and closes are the test's. */
async function fifo(): Promise<{ reader: number; writer: number }> {
  const path = join(dir, `f${fifos++}`);
  await promisify(execFile)('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  return { reader, writer };
}

/** pino's destination (sonic-boom) on `fd`, holding `lines`: under its minLength, nothing is written yet. It closes `fd` when destroyed. */
function streamHolding(fd: number, lines: string[]) {
  const stream = pino.destination({ dest: fd, sync: false, minLength: 1024 * 1024 - 1, maxWrite: 1024 * 1024 });
  for (const line of lines) stream.write(line);
  return stream;
}

function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    let n = 0;
    try {
      n = readSync(fd, buf);
    } catch {
      break; // EAGAIN: all read
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

describe('the last flush of stdout', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every line, in order, when the reader reads', async () => {
    const { reader, writer } = await fifo();
    const lines = Array.from({ length: 20 }, (_, i) => `{"n":${i},"msg":"é✓"}\n`);
    const stream = streamHolding(writer, lines);
    assert.equal(flushWithin(stream, 1_000), true);
    assert.equal(readAll(reader), lines.join(''));
    closeSync(reader);
    stream.destroy();
  });

  it('drops the lines at once when nobody will read them (EPIPE)', async () => {
    const { reader, writer } = await fifo();
    const stream = streamHolding(writer, ['{"a":1}\n', '{"b":2}\n']);
    closeSync(reader);
    assert.equal(flushWithin(stream, 60_000), false);
    // Nothing is left to write: the next flush has nothing to drop.
    assert.equal(flushWithin(stream, 60_000), true);
    stream.destroy();
  });

  it('drops what a reader that does not read has no room for, after its budget (EAGAIN)', async () => {
    const { reader, writer } = await fifo();
    // Four times a pipe's default capacity (64 KiB): whole lines, then nothing more fits.
    const lines = Array.from({ length: 256 }, (_, i) => `{"n":${String(i).padStart(6, '0')},"pad":"${'x'.repeat(1000)}"}\n`);
    const stream = streamHolding(writer, lines);
    assert.equal(flushWithin(stream, 50), false);
    const got = readAll(reader);
    assert.ok(got.length > 0 && got.length < lines.join('').length, 'part was written');
    assert.ok(lines.join('').startsWith(got.slice(0, got.lastIndexOf('\n') + 1)), 'in order, from the first line');
    closeSync(reader);
    stream.destroy();
  });

  it('lets a process whose stdout reader is gone exit with lines still buffered', async () => {
    // A child process logging through createLogger to its stdout pipe; the test closes that pipe's only
    // reader, then asks the child to exit. pino flushes at exit: with sonic-boom's own flushSync the child
    // slept and retried for ever.
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = `
      import { createLogger } from './src/telemetry/logger.ts';
      const { logger } = createLogger();
      for (let i = 0; i < 10; i++) logger.info({ i }, 'a line held in the buffer');
      process.stdin.once('data', () => process.exit(0));
      process.stderr.write('logged\\n');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('logged')) resolve();
      });
      child.on('exit', () => reject(new Error(`the child ended before logging: ${stderr}`)));
    });
    child.stdout.destroy();
    child.stdin.write('exit\n');
    // Generous: the child needs a few ms; a loaded machine may take seconds. Past it, the child hung.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, `the child exited by itself (null: killed after 30 s); stderr: ${stderr}`);
  });
});
