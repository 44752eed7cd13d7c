/**
 * The bcrypt worker threads never keep a process alive: a process that
 * checked a bcrypt password and has nothing else to do exits (a worker whose
 * 'message' listener was added after unref() held its port, and a CLI run or a
 * test file run alone with a bcrypt consumer never ended).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PASSWORDS = fileURLToPath(new URL('./passwords.ts', import.meta.url));
const BCRYPT = pathToFileURL(createRequire(import.meta.url).resolve('bcryptjs')).href;

describe('password worker threads', () => {
  it('let a process that checked a bcrypt password exit on its own', async () => {
    const script = `
      import bcrypt from ${JSON.stringify(BCRYPT)};
      import { PasswordHasher, parsePasswordHash } from ${JSON.stringify(PASSWORDS)};
      const stored = parsePasswordHash(bcrypt.hashSync('secret', 4));
      const [ok] = await new PasswordHasher().check('secret', [stored]);
      console.log(ok ? 'checked' : 'wrong');
    `;
    // A file, not -e: --input-type=module would pass on to the worker and make its CommonJS source ESM.
    const file = join(mkdtempSync(join(tmpdir(), 'portcullis-passwords-')), 'check.mts');
    writeFileSync(file, script);
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // A generous bound: the process either exits by itself within seconds or never does.
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    assert.equal(out.trim(), 'checked');
    assert.deepEqual([code, signal], [0, null], 'the process exited by itself');
  });
});
