/** Who wrote a record, as CEF's header and OCSF's and ECS's metadata name it. */
import { readFileSync } from 'node:fs';

export interface Product {
  readonly vendor: string;
  readonly name: string;
  readonly version: string;
}

let cached: Product | undefined;

/** The running gateway: its version from package.json, read once. */
export function gatewayProduct(): Product {
  if (!cached) {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    cached = { vendor: 'Portcullis', name: 'Portcullis', version: pkg.version };
  }
  return cached;
}
