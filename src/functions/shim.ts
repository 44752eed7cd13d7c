/**
 * The JavaScript evaluated inside every sandbox before the function's own
 * code: a small Fetch-API surface (Headers, Request, Response, URL,
 * URLSearchParams, TextEncoder/TextDecoder, fetch, console) built on a few
 * host calls. QuickJS has none of these, and nothing of the host is reachable
 * but the `__host_*` functions installed by sandbox.ts, which take and give
 * only strings, numbers and ArrayBuffers (copies, never host objects).
 *
 * The entry point (returned by `__portcullis_seal()`, held by the host and
 * reachable from no global) runs the module's factory, builds the Request,
 * runs the handler and returns `{ j, b }`: the result's head as JSON and its
 * body as an ArrayBuffer. Sealing freezes the realm, so a sandbox can serve
 * call after call: see sandbox.ts for what makes it reusable.
 */
export const SHIM = String.raw`
'use strict';
(function () {
const g = globalThis;
const hostText = g.__host_text, hostBytes = g.__host_bytes, hostLog = g.__host_log, hostFetch = g.__host_fetch, hostKv = g.__host_kv;
// FinalizationRegistry and WeakRef could run a callback of one call during a later call of a recycled sandbox.
for (const k of ['__host_text', '__host_bytes', '__host_log', '__host_fetch', '__host_kv', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'FinalizationRegistry', 'WeakRef']) delete g[k];

function toBytes(body) {
  if (body === undefined || body === null) return undefined;
  if (body instanceof ArrayBuffer) return body.slice(0);
  if (ArrayBuffer.isView(body)) return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
  if (body instanceof URLSearchParams) return hostBytes(body.toString());
  return hostBytes(String(body));
}

class TextEncoder { get encoding() { return 'utf-8'; } encode(s = '') { return new Uint8Array(hostBytes(String(s))); } }
class TextDecoder { get encoding() { return 'utf-8'; } decode(b) { return b === undefined ? '' : hostText(toBytes(b)); } }

class Headers {
  constructor(init) {
    this._m = new Map();
    if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
    else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else if (init) for (const k of Object.keys(init)) this.append(k, init[k]);
  }
  append(k, v) { k = String(k).toLowerCase(); const old = this._m.get(k); this._m.set(k, old === undefined ? String(v) : old + ', ' + String(v)); }
  set(k, v) { this._m.set(String(k).toLowerCase(), String(v)); }
  get(k) { const v = this._m.get(String(k).toLowerCase()); return v === undefined ? null : v; }
  has(k) { return this._m.has(String(k).toLowerCase()); }
  delete(k) { this._m.delete(String(k).toLowerCase()); }
  forEach(f, self) { for (const [k, v] of this._m) f.call(self, v, k, this); }
  keys() { return this._m.keys(); }
  values() { return this._m.values(); }
  entries() { return this._m.entries(); }
  [Symbol.iterator]() { return this._m.entries(); }
}

class URLSearchParams {
  constructor(init) {
    this._l = [];
    if (typeof init === 'string') {
      for (const part of init.replace(/^\?/, '').split('&')) {
        if (part === '') continue;
        const i = part.indexOf('=');
        const dec = (s) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };
        this._l.push(i < 0 ? [dec(part), ''] : [dec(part.slice(0, i)), dec(part.slice(i + 1))]);
      }
    } else if (init) for (const k of Object.keys(init)) this._l.push([k, String(init[k])]);
  }
  get(k) { const e = this._l.find((p) => p[0] === k); return e ? e[1] : null; }
  getAll(k) { return this._l.filter((p) => p[0] === k).map((p) => p[1]); }
  has(k) { return this._l.some((p) => p[0] === k); }
  append(k, v) { this._l.push([String(k), String(v)]); }
  set(k, v) { this.delete(k); this.append(k, v); }
  delete(k) { this._l = this._l.filter((p) => p[0] !== k); }
  entries() { return this._l.map((p) => [p[0], p[1]])[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return this._l.map((p) => encodeURIComponent(p[0]) + '=' + encodeURIComponent(p[1])).join('&'); }
}

const URL_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*:)\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/;
class URL {
  constructor(input, base) {
    let s = String(input);
    if (!URL_RE.test(s) && base !== undefined) {
      const b = new URL(base);
      s = s.startsWith('/') ? b.origin + s : b.origin + b.pathname.replace(/[^/]*$/, '') + s;
    }
    const m = URL_RE.exec(s);
    if (!m) throw new TypeError('Invalid URL: ' + s);
    this.protocol = m[1].toLowerCase();
    const host = m[2].replace(/^.*@/, '');
    const hm = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(host);
    this.hostname = (hm ? hm[1] : host).toLowerCase();
    this.port = hm && hm[2] ? hm[2] : '';
    this.pathname = m[3] || '/';
    this.search = m[4] && m[4] !== '?' ? m[4] : '';
    this.hash = m[5] && m[5] !== '#' ? m[5] : '';
    this.searchParams = new URLSearchParams(this.search);
  }
  get host() { return this.port ? this.hostname + ':' + this.port : this.hostname; }
  get origin() { return this.protocol + '//' + this.host; }
  get href() { return this.origin + this.pathname + this.search + this.hash; }
  toString() { return this.href; }
  toJSON() { return this.href; }
}

class Body {
  _init(body) { this._b = toBytes(body); this.bodyUsed = false; }
  get body() { return this._b === undefined ? null : this._b; }
  _take() { if (this.bodyUsed) throw new TypeError('Body already used'); this.bodyUsed = true; return this._b === undefined ? new ArrayBuffer(0) : this._b; }
  async arrayBuffer() { return this._take(); }
  async text() { return hostText(this._take()); }
  async json() { return JSON.parse(hostText(this._take())); }
}

class Request extends Body {
  constructor(input, init = {}) {
    super();
    const from = input instanceof Request ? input : undefined;
    this.url = from ? from.url : String(input);
    this.method = String(init.method || (from ? from.method : 'GET')).toUpperCase();
    this.headers = new Headers(init.headers || (from ? from.headers : undefined));
    this._init(init.body !== undefined ? init.body : from ? from._b : undefined);
  }
  clone() { return new Request(this); }
}

class Response extends Body {
  constructor(body, init = {}) {
    super();
    this.status = init.status === undefined ? 200 : init.status | 0;
    this.statusText = init.statusText === undefined ? '' : String(init.statusText);
    this.headers = new Headers(init.headers);
    this._init(body);
    if (typeof body === 'string' && !this.headers.has('content-type')) this.headers.set('content-type', 'text/plain;charset=UTF-8');
  }
  get ok() { return this.status >= 200 && this.status < 300; }
  clone() { return new Response(this._b, this); }
  static json(data, init = {}) {
    const r = new Response(JSON.stringify(data), init);
    r.headers.set('content-type', 'application/json');
    return r;
  }
  static redirect(url, status = 302) { return new Response(null, { status, headers: { location: String(url) } }); }
}

const fmt = (args) => args.map((a) => (typeof a === 'string' ? a : (() => { try { return JSON.stringify(a); } catch { return String(a); } })())).join(' ');
const console = {};
for (const level of ['log', 'info', 'warn', 'error', 'debug']) console[level] = (...args) => hostLog(level, fmt(args));

async function fetch(input, init = {}) {
  const req = input instanceof Request && Object.keys(init).length === 0 ? input : new Request(input, init);
  const head = JSON.stringify({ url: req.url, method: req.method, headers: [...req.headers] });
  const out = await hostFetch(head, req._b);
  const meta = JSON.parse(out.j);
  return new Response(out.b, { status: meta.status, headers: meta.headers });
}

function btoa(s) { return hostText(hostBytes(String(s)), 'btoa'); }
function atob(s) { return hostText(hostBytes(String(s)), 'atob'); }

const kv = {
  get: (key) => hostKv('get', String(key), '', 0),
  set: (key, value, options = {}) => hostKv('set', String(key), String(value), Number(options.ttl || 0)),
  delete: (key) => hostKv('delete', String(key), '', 0),
};

Object.assign(g, { Headers, Request, Response, URL, URLSearchParams, TextEncoder, TextDecoder, console, fetch, btoa, atob });

// The entry point of every call; the host takes it (sandbox.ts) and __portcullis_seal removes it from the globals.
let factory;
const call = async function (kind, headJson, body, secretsJson) {
  const head = JSON.parse(headJson);
  // The module's top level runs afresh for each call: nothing it keeps outlives the call.
  const mod = factory();
  const handler = typeof mod.default === 'function' ? mod.default
    : mod.default && typeof mod.default.fetch === 'function' ? mod.default.fetch.bind(mod.default)
    : typeof mod.handler === 'function' ? mod.handler
    : typeof mod.fetch === 'function' ? mod.fetch : undefined;
  if (!handler) throw new TypeError('the module exports no handler');
  const env = Object.freeze({ secrets: Object.freeze(JSON.parse(secretsJson)), kv: Object.freeze(kv) });
  let input;
  if (kind === 'response') input = new Response(body, { status: head.status, headers: head.headers });
  else input = new Request(head.url, { method: head.method, headers: head.headers, body: body });
  const ctx = Object.freeze({ requestId: head.requestId, route: head.route, phase: kind });
  const out = await handler(input, env, ctx);
  if (out === undefined || out === null) return { j: '{"kind":"none"}' };
  if (out instanceof Response) return { j: JSON.stringify({ kind: 'response', status: out.status, headers: [...out.headers] }), b: out._b };
  if (out instanceof Request) return { j: JSON.stringify({ kind: 'request', url: out.url, method: out.method, headers: [...out.headers] }), b: out._b };
  throw new TypeError('the handler returned neither a Response, a Request nor nothing');
};

/**
 * Freezes everything reachable from the globals and the intrinsics that are
 * not (the prototypes of async and generator functions and of iterators), so
 * a call cannot change what the next call of a recycled sandbox sees:
 * writes to globalThis, Object.prototype, JSON, Array.prototype... throw.
 */
function harden() {
  // The override mistake: once Object.prototype.toString or Error.prototype.message is frozen, an assignment to
  // the same name on an ordinary object throws. These become accessors that define the property on the object.
  const errors = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
  if (typeof AggregateError === 'function') errors.push(AggregateError);
  const tame = [[Object.prototype, Reflect.ownKeys(Object.prototype)], [Function.prototype, ['toString']]];
  for (const E of errors) tame.push([E.prototype, ['message', 'name', 'toString']]);
  for (const [proto, keys] of tame) {
    for (const key of keys) {
      const d = Object.getOwnPropertyDescriptor(proto, key);
      if (d === undefined || !('value' in d) || key === '__proto__') continue;
      const value = d.value;
      Object.defineProperty(proto, key, {
        get() { return value; },
        set(v) {
          if (this === proto) throw new TypeError('Cannot assign to read only property ' + String(key));
          Object.defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true });
        },
        enumerable: d.enumerable,
        configurable: false,
      });
    }
  }
  const roots = [g, async function () {}, function* () {}, async function* () {}, [][Symbol.iterator](), new Map()[Symbol.iterator](),
    new Set()[Symbol.iterator](), ''[Symbol.iterator](), /a/[Symbol.matchAll]('a'), new Map().entries(), new Headers().entries(), Promise.resolve(), call];
  const seen = new Set();
  const todo = roots.slice();
  while (todo.length > 0) {
    const o = todo.pop();
    if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) continue;
    seen.add(o);
    Object.freeze(o);
    todo.push(Object.getPrototypeOf(o));
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d === undefined) continue;
      if ('value' in d) todo.push(d.value);
      else todo.push(d.get, d.set);
    }
  }
}

/** Whether a module exports something the shim can call (the load-time check; runs the module's top level once). */
function hasHandler() {
  const m = factory();
  return typeof m.default === 'function' || !!(m.default && typeof m.default.fetch === 'function') || typeof m.handler === 'function' || typeof m.fetch === 'function';
}

/**
 * Called once the module's script is evaluated: takes its factory, warms the
 * shim's paths, freezes the realm; returns the entry point (or, for the
 * load-time check, hasHandler).
 */
g.__portcullis_seal = function (check) {
  factory = g.__portcullis_factory;
  delete g.__portcullis_factory;
  delete g.__portcullis_seal;
  if (typeof factory !== 'function') throw new TypeError('the module did not evaluate');
  // The first use of each class and shape costs more in QuickJS: paid here, ahead of the call, with the shim's own objects only.
  const warm = new Request('http://warm.up/a?b=c', { method: 'GET', headers: [['a', 'b']] });
  warm.headers.set('c', 'd');
  JSON.stringify({ kind: 'request', url: warm.url, method: warm.method, headers: [...warm.headers] });
  JSON.stringify({ kind: 'response', status: new Response('x').status, headers: [...new Response(null, { headers: { a: 'b' } }).headers] });
  JSON.parse('{"url":"http://warm.up/","headers":[["a","b"]]}');
  harden();
  return check ? hasHandler : call;
};
})();
`;
