/**
 * The headers policy over real sockets: a real gateway in front of a real
 * upstream that echoes the request it received and answers with headers of
 * its own, so each assertion is what the upstream or the client saw.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { InvalidConfigError } from '../../config/errors.js';
import { CLIENT_FORBIDDEN_HEADERS, FORWARDING_HEADERS, HOP_BY_HOP, IDENTITY_HEADERS, PROXY_HEADERS } from '../../upstream/headers.js';
import { outOfReach } from './reach.js';

const KEY = 'alice-key-0123456789abcdef';

const config = (upstream: string, policy: string, extra = '') => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: app, targets: [{ url: "${upstream}" }] }]
consumers:
  - { name: alice, credentials: { key-auth: [{ key: "${KEY}" }] } }
routes:
  - name: api
    service: app
    match: { paths: [/api] }
    policies:
      - key-auth: {}
      - headers:
${policy}
${extra}`;

/** What the upstream received under `name`, one entry per field line. */
function fieldLines(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

async function refusal(yaml: string): Promise<InvalidConfigError> {
  let gw: TestGateway | undefined;
  try {
    gw = await startGateway(yaml);
  } catch (err) {
    assert.ok(err instanceof InvalidConfigError, String(err));
    return err;
  } finally {
    await gw?.close();
  }
  assert.fail('the gateway started');
}

describe('headers through the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      const body = JSON.stringify({ headers: req.headers });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        server: 'werkzeug/2.0',
        'x-powered-by': 'php/5.4',
        'x-internal-trace': 'abc',
        'cache-control': 'no-store',
      });
      res.end(body);
    });
    gw = await startGateway(
      config(
        upstream.url,
        `          request:
            remove: [x-debug]
            rename: { x-legacy-tenant: x-tenant, x-api-key: x-key }
            set: { x-caller: "\${consumer}", x-via: "gw \${route} \${client_ip}", x-trace: "rid=\${request_id}" }
            add: { x-tag: [one, two] }
          response:
            remove: [server, x-powered-by]
            rename: { x-internal-trace: x-trace-id }
            set: { cache-control: "private, max-age=60", strict-transport-security: "max-age=63072000" }
            add: { x-served-for: "\${consumer}", vary: Accept-Language }`,
      ),
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const call = (headers: Record<string, string> = {}) => send(gw.url, '/api/orders', { headers: { 'x-api-key': KEY, ...headers } });

  it('sets request headers with variables, replacing the client\'s copies', async () => {
    const res = await call({ 'x-caller': 'mallory', 'x-request-id': 'ignored-by-default' });
    assert.equal(res.status, 200);
    const seen = res.json<{ headers: Record<string, string> }>().headers;
    assert.equal(seen['x-caller'], 'alice');
    assert.equal(seen['x-via'], 'gw api 127.0.0.1');
    const rid = res.headers['x-request-id'];
    assert.equal(typeof rid, 'string');
    assert.equal(seen['x-trace'], `rid=${String(rid)}`);
  });

  it('removes and renames request headers, and adds values as field lines of their own', async () => {
    const res = await call({ 'x-debug': '1', 'x-legacy-tenant': 'acme', 'x-tag': 'zero' });
    assert.equal(res.status, 200);
    const seen = res.json<{ headers: Record<string, string> }>().headers;
    assert.equal(seen['x-debug'], undefined);
    assert.equal(seen['x-legacy-tenant'], undefined);
    assert.equal(seen['x-tenant'], 'acme');
    assert.equal(seen['x-key'], undefined, 'a credential key-auth removed is not brought back by a rename');
    assert.equal(seen['x-api-key'], undefined);
    assert.deepEqual(fieldLines(upstream.seen.at(-1)!.rawHeaders, 'x-tag'), ['zero', 'one', 'two']);
  });

  it('changes the response headers the client receives', async () => {
    const res = await call();
    assert.equal(res.headers.server, undefined);
    assert.equal(res.headers['x-powered-by'], undefined);
    assert.equal(res.headers['x-internal-trace'], undefined);
    assert.equal(res.headers['x-trace-id'], 'abc');
    assert.equal(res.headers['cache-control'], 'private, max-age=60');
    assert.equal(res.headers['strict-transport-security'], 'max-age=63072000');
    assert.equal(res.headers['x-served-for'], 'alice');
    assert.equal(res.headers.vary, 'Accept-Language');
  });

  it('leaves out a header whose variable has no value: a refused caller has no consumer', async () => {
    const res = await send(gw.url, '/api/orders');
    assert.equal(res.status, 401);
    assert.equal(res.headers['x-served-for'], undefined);
    assert.equal(res.headers['strict-transport-security'], 'max-age=63072000', 'response changes apply to refusals too');
  });

  it('keeps the gateway\'s own headers: the identity and forwarding headers the upstream gets are the gateway\'s', async () => {
    const res = await call({ 'x-consumer-name': 'admin', 'x-forwarded-for': '10.0.0.1' });
    const seen = res.json<{ headers: Record<string, string> }>().headers;
    assert.equal(seen['x-consumer-name'], 'alice');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  });
});

describe('headers refused at load', () => {
  let upstream: TestUpstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream?.close();
  });

  const refused = async (policy: string, extra = '') => (await refusal(config(upstream.url, policy, extra))).issues;

  it('refuses hop-by-hop, framing, forwarding, identity and request id headers, naming each', async () => {
    const issues = await refused(`          request:
            set: { X-Consumer-Name: admin, host: evil.example, transfer-encoding: chunked, x_forwarded_for: 1.2.3.4, x-real-ip: 1.2.3.4 }
            remove: [x-request-id]
            rename: { x-user-hint: x-remote-user }
          response:
            set: { connection: close, content-length: "0" }`);
    const byPath = new Map(issues.map((i) => [i.path, i.message]));
    assert.match(byPath.get('routes[0].policies[1].headers.request.set.X-Consumer-Name') ?? '', /x-consumer-name is an identity header only authentication sets: out of the headers policy's reach/);
    assert.match(byPath.get('routes[0].policies[1].headers.request.set.host') ?? '', /forwarding header/);
    assert.match(byPath.get('routes[0].policies[1].headers.request.set.transfer-encoding') ?? '', /hop-by-hop/);
    assert.match(byPath.get('routes[0].policies[1].headers.request.set.x_forwarded_for') ?? '', /forwarding header/);
    assert.match(byPath.get('routes[0].policies[1].headers.request.set.x-real-ip') ?? '', /client address/);
    assert.match(byPath.get('routes[0].policies[1].headers.request.remove[0]') ?? '', /request id header/);
    assert.match(byPath.get('routes[0].policies[1].headers.request.rename.x-user-hint') ?? '', /x-remote-user is a header upstreams believe/);
    assert.match(byPath.get('routes[0].policies[1].headers.response.set.connection') ?? '', /hop-by-hop/);
    assert.match(byPath.get('routes[0].policies[1].headers.response.set.content-length') ?? '', /framing/);
    assert.equal(issues.length, 9, JSON.stringify(issues));
  });

  it('refuses a value with CR or LF', async () => {
    const issues = await refused(`          request:
            set: { x-ok: "a\\r\\nx-injected: 1" }
          response:
            add: { x-ok: ["fine", "b\\nset-cookie: a=b"] }`);
    assert.deepEqual(issues.map((i) => i.path), ['routes[0].policies[1].headers.request.set.x-ok', 'routes[0].policies[1].headers.response.add.x-ok']);
    assert.match(issues[0]!.message, /is not valid here \(the value;/);
    assert.match(issues[1]!.message, /matches none of the allowed forms/);
  });

  it('refuses a name that is not a token, an unknown variable and a name changed twice', async () => {
    const issues = await refused(`          request:
            set: { "x-a b": "1", x-var: "\${consumer_name}" }
            remove: [X-Twice]
            add: { x-twice: "2" }`);
    const text = issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    assert.match(text, /request\.set\.x-a b: "x-a b" is not a header name/);
    assert.match(text, /request\.set\.x-var: unknown variable \$\{consumer_name\}: the variables are \$\{consumer\}, \$\{request_id\}, \$\{client_ip\}, \$\{route\}/);
    assert.match(text, /request\.add\.x-twice: x-twice is already changed by remove\.0; name each header once/);
  });

  it('refuses the request id header under the name the gateway is configured with', async () => {
    const issues = await refused(`          response:
            remove: [X-Correlation-Id]`, 'gateway: { request_id: { header: x-correlation-id } }');
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.match(issues[0]!.message, /x-correlation-id is the request id header/);
  });

  it('keeps every header the proxy boundary owns out of reach (the lists cannot drift apart)', () => {
    for (const name of [...HOP_BY_HOP, ...FORWARDING_HEADERS, ...IDENTITY_HEADERS, ...CLIENT_FORBIDDEN_HEADERS, ...PROXY_HEADERS]) {
      assert.ok(outOfReach(name, 'request', 'x-request-id'), `${name} is within reach`);
    }
    for (const name of HOP_BY_HOP) assert.ok(outOfReach(name, 'response', 'x-request-id'), `${name} is within reach of responses`);
  });
});
