/**
 * The one place @peculiar/x509 is loaded: it needs reflect-metadata first and
 * a WebCrypto provider (Node's own). Everything that builds certificates or
 * CRLs imports it from here.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
export const subtle = webcrypto.subtle;
