/**
 * The per-environment example configs (examples/environments/) validate
 * against certificate sets made by the built-in CA: the documented layout
 * works, and each file is complete.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCaDir, writeFileAtomic } from '../../src/ca/store.js';
import { cli, ROOT } from '../helpers/cli.js';

async function certificateSet(dir: string, environment: string): Promise<void> {
  const ca = await initCaDir(join(dir, 'ca'), { name: `${environment} mesh CA` });
  const issue = async (name: string, options: { dns?: string[]; spiffe?: string }) => {
    const issued = await ca.authority.issue({ ttlMs: 90 * 86_400_000, ...options });
    writeFileAtomic(join(dir, `${name}.key`), issued.keyPem, 0o600);
    writeFileAtomic(join(dir, `${name}.crt`), issued.certPem, 0o644);
  };
  await issue('api', { dns: [`api.${environment}.example.com`, 'api.example.com'] });
  await issue('internal', { dns: [`internal.${environment}.example.com`, 'internal.example.com'] });
  await issue('gateway', { spiffe: `spiffe://example.org/ns/${environment}/sa/portcullis` });
  writeFileAtomic(join(dir, 'mesh-ca.crt'), ca.authority.certPem, 0o644);
  writeFileAtomic(join(dir, 'mesh.crl'), await ca.authority.crl([], 7 * 86_400_000, 1), 0o644);
}

describe('per-environment example configs', () => {
  const sets: Record<string, string> = {};

  before(async () => {
    for (const environment of ['production', 'staging']) {
      sets[environment] = mkdtempSync(join(tmpdir(), `portcullis-${environment}-tls-`));
      await certificateSet(sets[environment], environment);
    }
  });

  for (const environment of ['production', 'staging']) {
    it(`${environment}.yaml validates with the ${environment} certificate set`, async () => {
      const env = { ...process.env, PORTCULLIS_TLS_DIR: sets[environment], ACME_API_KEY: 'k1', TESTER_API_KEY: 'k2' };
      const result = await cli(['validate', join(ROOT, `examples/environments/${environment}.yaml`)], { env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /valid \(3 listeners, 1 service, 3 routes, 2 consumers\)/);
    });
  }

  it('names the missing variable instead of using an empty path', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ACME_API_KEY: 'k1' };
    delete env.PORTCULLIS_TLS_DIR;
    const result = await cli(['validate', join(ROOT, 'examples/environments/production.yaml')], { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /production\.yaml:13: listeners\[0\]\.tls\.certificates\[0\]\.cert: environment variable PORTCULLIS_TLS_DIR is not set/);
  });
});
