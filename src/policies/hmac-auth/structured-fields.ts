/**
 * The parts of RFC 8941 Structured Field Values that HTTP Message Signatures
 * (RFC 9421) and Content-Digest (RFC 9530) use: Dictionaries whose members
 * are Items or Inner Lists, with Parameters; parsing per §4.2 (strict: any
 * error fails the whole field) and serialization per §4.1.
 *
 * Kept hand-written rather than the npm structured-headers parser (issue 11
 * item 6), which parses everything these fields carry but reads Integers and
 * Decimals into one JS number: it cannot refuse `created=1618884473.0` (RFC
 * 9421 §2.3 makes created and expires Integers) and re-serializes a Decimal
 * `1.0` as `1`, so the "@signature-params" line would not be the one a signer
 * following §4.1 computed. structured-fields.test.ts runs both on a corpus of
 * RFC 9421/9530 fields and malformed ones: they agree everywhere but there
 * and on RFC 9651's Dates and Display Strings, which we refuse.
 */
export type BareItem =
  | { type: 'integer'; value: number }
  | { type: 'decimal'; value: number }
  | { type: 'string'; value: string }
  | { type: 'token'; value: string }
  | { type: 'binary'; value: Buffer }
  | { type: 'boolean'; value: boolean };

export type Params = Map<string, BareItem>;
export interface Item {
  readonly kind: 'item';
  readonly value: BareItem;
  readonly params: Params;
}
export interface InnerList {
  readonly kind: 'list';
  readonly items: readonly Item[];
  readonly params: Params;
}
export type Member = Item | InnerList;

export class StructuredFieldError extends Error {}

const MAX_FIELD = 8192;

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  fail(what: string): never {
    throw new StructuredFieldError(`${what} at ${this.i}`);
  }
  peek(): string {
    return this.s[this.i] ?? '';
  }
  skipSP(): void {
    while (this.s[this.i] === ' ') this.i++;
  }
  skipOWS(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
  }

  dictionary(): Map<string, Member> {
    const out = new Map<string, Member>();
    this.skipSP();
    if (this.i >= this.s.length) return out;
    for (;;) {
      const key = this.key();
      let member: Member;
      if (this.peek() === '=') {
        this.i++;
        member = this.peek() === '(' ? this.innerList() : this.item();
      } else {
        member = { kind: 'item', value: { type: 'boolean', value: true }, params: this.params() };
      }
      out.set(key, member);
      this.skipOWS();
      if (this.i >= this.s.length) return out;
      if (this.peek() !== ',') this.fail('expected ","');
      this.i++;
      this.skipOWS();
      if (this.i >= this.s.length) this.fail('trailing ","');
    }
  }

  innerList(): InnerList {
    this.i++; // (
    const items: Item[] = [];
    for (;;) {
      this.skipSP();
      if (this.peek() === ')') {
        this.i++;
        return { kind: 'list', items, params: this.params() };
      }
      items.push(this.item());
      const c = this.peek();
      if (c !== ' ' && c !== ')') this.fail('expected " " or ")" in inner list');
    }
  }

  item(): Item {
    const value = this.bareItem();
    return { kind: 'item', value, params: this.params() };
  }

  params(): Params {
    const out: Params = new Map();
    while (this.peek() === ';') {
      this.i++;
      this.skipSP();
      const key = this.key();
      let value: BareItem = { type: 'boolean', value: true };
      if (this.peek() === '=') {
        this.i++;
        value = this.bareItem();
      }
      out.set(key, value);
    }
    return out;
  }

  key(): string {
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(this.s.slice(this.i));
    if (!m) this.fail('expected a key');
    this.i += m[0].length;
    return m[0];
  }

  bareItem(): BareItem {
    const c = this.peek();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    if (c === '"') return this.string();
    if (c === ':') return this.binary();
    if (c === '?') return this.boolean();
    if (/[A-Za-z*]/.test(c)) return this.token();
    return this.fail('expected an item');
  }

  number(): BareItem {
    const m = /^-?(\d{1,15})(\.\d{1,3})?/.exec(this.s.slice(this.i));
    if (!m) this.fail('expected a number');
    if (m[2] === undefined && m[1]!.length > 15) this.fail('integer too long');
    if (m[2] !== undefined && m[1]!.length > 12) this.fail('decimal too long');
    this.i += m[0].length;
    return m[2] === undefined ? { type: 'integer', value: Number(m[0]) } : { type: 'decimal', value: Number(m[0]) };
  }

  string(): BareItem {
    this.i++;
    let out = '';
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) this.fail('unterminated string');
      if (c === '\\') {
        const next = this.s[this.i++];
        if (next !== '"' && next !== '\\') this.fail('bad escape');
        out += next;
      } else if (c === '"') return { type: 'string', value: out };
      else if (c < ' ' || c > '~') this.fail('bad character in string');
      else out += c;
    }
  }

  token(): BareItem {
    const m = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(this.s.slice(this.i));
    this.i += m![0].length;
    return { type: 'token', value: m![0] };
  }

  binary(): BareItem {
    this.i++;
    const end = this.s.indexOf(':', this.i);
    if (end === -1) this.fail('unterminated byte sequence');
    const text = this.s.slice(this.i, end);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) this.fail('bad base64');
    this.i = end + 1;
    return { type: 'binary', value: Buffer.from(text, 'base64') };
  }

  boolean(): BareItem {
    const c = this.s[this.i + 1];
    if (c !== '0' && c !== '1') this.fail('bad boolean');
    this.i += 2;
    return { type: 'boolean', value: c === '1' };
  }
}

/** Parses a Dictionary field; throws StructuredFieldError on any syntax error. */
export function parseDictionary(text: string): Map<string, Member> {
  if (text.length > MAX_FIELD) throw new StructuredFieldError('field too long');
  return new Parser(text).dictionary();
}

export function serializeBareItem(item: BareItem): string {
  switch (item.type) {
    case 'integer':
      return String(item.value);
    case 'decimal': {
      // trailing zeros trimmed by a loop, not /0+$/: every regex in src/ is checked for linear time
      const digits = item.value.toFixed(3);
      let end = digits.length;
      while (end > 0 && digits.charCodeAt(end - 1) === 0x30) end--;
      const fixed = digits.slice(0, end);
      return fixed.endsWith('.') ? `${fixed}0` : fixed;
    }
    case 'string':
      return `"${item.value.replace(/[\\"]/g, '\\$&')}"`;
    case 'token':
      return item.value;
    case 'binary':
      return `:${item.value.toString('base64')}:`;
    case 'boolean':
      return item.value ? '?1' : '?0';
  }
}

export function serializeParams(params: Params): string {
  let out = '';
  for (const [key, value] of params) out += value.type === 'boolean' && value.value ? `;${key}` : `;${key}=${serializeBareItem(value)}`;
  return out;
}

export function serializeItem(item: Item): string {
  return serializeBareItem(item.value) + serializeParams(item.params);
}

export function serializeInnerList(list: InnerList): string {
  return `(${list.items.map(serializeItem).join(' ')})${serializeParams(list.params)}`;
}
