/**
 * The signature base of RFC 9421 §2.5 for a request as the gateway sees it:
 * the derived components (§2.2) and header fields a signature covers, then
 * its @signature-params line. Paths are the normalized path the gateway
 * routes on and forwards, so what is signed is what the upstream gets.
 */
import type { RequestContext } from '../../pipeline/context.js';
import { serializeInnerList, type InnerList } from './structured-fields.js';

/** A component's value, or undefined when the request has no such component. */
export function componentValue(ctx: RequestContext, name: string): string | undefined {
  const query = ctx.query === '' ? '' : `?${ctx.query}`;
  switch (name) {
    case '@method':
      return ctx.method;
    case '@authority':
      return (ctx.header('host') ?? '').toLowerCase();
    case '@scheme':
      return ctx.scheme;
    case '@path':
      return ctx.path;
    case '@query':
      return query === '' ? '?' : query;
    case '@request-target':
      return ctx.path + query;
    case '@target-uri':
      return `${ctx.scheme}://${(ctx.header('host') ?? '').toLowerCase()}${ctx.path}${query}`;
    default: {
      if (name.startsWith('@')) return undefined;
      const value = ctx.headers[name];
      if (value === undefined) return undefined;
      // §2.1: values trimmed, several field lines joined with ", ".
      return (Array.isArray(value) ? value : [value]).map((v) => v.trim()).join(', ');
    }
  }
}

export type BaseResult = { ok: true; base: string; components: string[] } | { ok: false; reason: string };

export function signatureBase(ctx: RequestContext, input: InnerList): BaseResult {
  const lines: string[] = [];
  const components: string[] = [];
  for (const item of input.items) {
    if (item.value.type !== 'string') return { ok: false, reason: 'a covered component is not a string' };
    if (item.params.size > 0) return { ok: false, reason: 'component parameters are not supported' };
    const name = item.value.value;
    if (name !== name.toLowerCase() || components.includes(name)) return { ok: false, reason: 'bad or repeated component name' };
    const value = componentValue(ctx, name);
    if (value === undefined) return { ok: false, reason: `the request has no ${name}` };
    lines.push(`"${name}": ${value}`);
    components.push(name);
  }
  lines.push(`"@signature-params": ${serializeInnerList(input)}`);
  return { ok: true, base: lines.join('\n'), components };
}
