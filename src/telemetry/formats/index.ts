/** The formats a sink writes: one function per format, each turning a record into one line. */
import { cefFormatter } from './cef.js';
import { ecsFormatter } from './ecs.js';
import { formatJson } from './json.js';
import { ocsfFormatter } from './ocsf.js';
import { gatewayProduct, type Product } from './product.js';
import type { Formatter } from './record.js';

export type FormatName = 'json' | 'cef' | 'ocsf' | 'ecs';

export function formatter(name: FormatName, product: Product = gatewayProduct()): Formatter {
  switch (name) {
    case 'json':
      return formatJson;
    case 'cef':
      return cefFormatter(product);
    case 'ocsf':
      return ocsfFormatter(product);
    case 'ecs':
      return ecsFormatter(product);
  }
}

export type { AccessRecord, Formatter, SinkRecord } from './record.js';
