/**
 * Header values with variables, parsed once at load: `${consumer}`,
 * `${request_id}`, `${client_ip}`, `${route}`. A value naming anything else
 * is refused at load (a typo would otherwise be sent as text).
 */
import { ConfigError, type ConfigPath } from '../../config/errors.js';
import type { RequestContext } from '../../pipeline/context.js';

const VARIABLES = {
  consumer: (ctx: RequestContext) => ctx.consumer?.name,
  request_id: (ctx: RequestContext) => ctx.id,
  client_ip: (ctx: RequestContext) => ctx.clientIp,
  route: (ctx: RequestContext) => ctx.routeName,
} as const satisfies Record<string, (ctx: RequestContext) => string | undefined>;

type Part = string | ((ctx: RequestContext) => string | undefined);

/** Longest value sent; a longer expansion (a long consumer name) leaves the header out. */
const MAX_VALUE = 8192;
/** Anything that would end or split a header line, or that Node refuses in one. */
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f]/;

export type Template = (ctx: RequestContext) => string | undefined;

export function compileTemplate(text: string, path: ConfigPath): Template {
  const parts: Part[] = [];
  let at = 0;
  // Index scans rather than a regular expression: `${` repeated made /\$\{([^}]*)\}/g take quadratic time.
  for (let open = text.indexOf('${'); open !== -1; open = text.indexOf('${', at)) {
    const close = text.indexOf('}', open + 2);
    if (close === -1) break;
    const name = text.slice(open + 2, close);
    if (!Object.hasOwn(VARIABLES, name)) {
      throw new ConfigError(`unknown variable \${${name}}: the variables are ${Object.keys(VARIABLES).map((v) => `\${${v}}`).join(', ')}`, path);
    }
    if (open > at) parts.push(text.slice(at, open));
    parts.push(VARIABLES[name as keyof typeof VARIABLES]);
    at = close + 1;
  }
  if (at < text.length) parts.push(text.slice(at));
  if (parts.every((p) => typeof p === 'string')) {
    const fixed = parts.join('');
    return () => fixed;
  }
  return (ctx) => {
    let out = '';
    for (const part of parts) {
      if (typeof part === 'string') {
        out += part;
        continue;
      }
      const value = part(ctx);
      // No consumer on a public route: no header, rather than an empty or half-made one.
      if (value === undefined || value === '') return undefined;
      out += value;
    }
    // The variables come from the gateway (names from an issuer's claims among them): re-checked, never trusted to be clean.
    if (out.length > MAX_VALUE || UNSAFE.test(out)) return undefined;
    return out;
  };
}
