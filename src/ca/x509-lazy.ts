/**
 * @peculiar/x509 loaded synchronously on first use, for the few synchronous
 * places that need it (reading a CRL while a config compiles). Loading it
 * costs ~150 ms, which a gateway without CRLs should not pay at start-up.
 */
import { webcrypto } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as X509 from '@peculiar/x509';

let loaded: typeof X509 | undefined;

export function x509Sync(): typeof X509 {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  require('reflect-metadata');
  const lib = require('@peculiar/x509') as typeof X509;
  lib.cryptoProvider.set(webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0]);
  loaded = lib;
  return lib;
}
