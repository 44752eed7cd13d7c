/** The formats a sink writes: one function per format, each turning a record into one line. */
import { cefFormatter } from './cef.js';
import { ecsFormatter } from './ecs.js';
import { formatJson } from './json.js';
import { ocsfFormatter } from './ocsf.js';
import { gatewayProduct, type Product } from './product.js';
import type { Formatter } from './record.js';

export type FormatName = 'json' | 'cef' | 'ocsf' | 'ecs';

/**
 * JSON.stringify leaves NEL and U+2028/9 raw (JSON allows them), and readers
 * that split lines the Unicode way end a line there: a client's Host header
 * could start a line of its own. Written as \u escapes (the same JSON).
 */
const UNICODE_BREAK = /[\u0085\u2028\u2029]/;
const UNICODE_BREAKS = /[\u0085\u2028\u2029]/g;
function oneLine(format: Formatter): Formatter {
  return (record) => {
    const line = format(record);
    return UNICODE_BREAK.test(line) ? line.replace(UNICODE_BREAKS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : line;
  };
}

export function formatter(name: FormatName, product: Product = gatewayProduct()): Formatter {
  switch (name) {
    case 'json':
      return oneLine(formatJson);
    case 'cef':
      return cefFormatter(product);
    case 'ocsf':
      return oneLine(ocsfFormatter(product));
    case 'ecs':
      return oneLine(ecsFormatter(product));
  }
}

export type { AccessRecord, Formatter, SinkRecord } from './record.js';
