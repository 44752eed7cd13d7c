// The dashboard: plain browser JavaScript, no framework, nothing from another
// origin. Every value is written with textContent (never innerHTML), the
// token travels only in the Authorization header (no cookie: another site
// cannot make the browser send it), and buttons are drawn only for what the
// token's role grants (GET /api/v1/me). Without a token, the browser's client
// certificate may speak for the page (admin mTLS): requests go with
// credentials 'same-origin' so that it is presented; the listener sets no
// cookie, and refuses a cross-site request on a certificate.

const TOKEN_KEY = 'portcullis-admin-token';
const POINTS = 150;
const $ = (id) => document.getElementById(id);

let token = sessionStorage.getItem(TOKEN_KEY);
let me = null;
const samples = [];
let timers = [];
let events = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'className') node.className = v;
    else if (k === 'onclick') node.addEventListener('click', v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function can(resource, verb) {
  return Boolean(me && me.grants[resource] && me.grants[resource].includes(verb));
}

/** The token when there is one; without it the browser's client certificate (admin mTLS) speaks for the page. */
function auth() {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function api(method, path, options = {}) {
  const headers = auth();
  if (options.ifMatch) headers['if-match'] = options.ifMatch;
  let body;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(path, { method, headers, body, cache: 'no-store', credentials: 'same-origin' });
  if (res.status === 401) {
    logout('The token was refused.');
    throw new Error('unauthorized');
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, etag: res.headers.get('etag'), json, text };
}

function fill(tableId, rows) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren(...rows);
}

function errorText(r) {
  if (r.json && Array.isArray(r.json.errors)) return r.json.errors.join('\n');
  return (r.json && (r.json.message || r.json.error)) || `HTTP ${r.status}`;
}

// --- traffic -----------------------------------------------------------------

function draw(svgId, values) {
  const svg = $(svgId);
  const max = Math.max(1e-9, ...values);
  const step = 300 / Math.max(1, POINTS - 1);
  const offset = POINTS - values.length;
  const points = values.map((v, i) => `${((offset + i) * step).toFixed(1)},${(78 - (v / max) * 74).toFixed(1)}`).join(' ');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', points);
  svg.replaceChildren(line);
}

async function traffic() {
  const r = await api('GET', '/api/v1/traffic');
  if (r.status !== 200) return;
  $('metrics-off').hidden = r.json.metrics;
  const routes = r.json.routes;
  const total = { t: Date.parse(r.json.time), requests: 0, errors: 0, seconds: 0 };
  for (const row of routes) {
    total.requests += row.requests;
    total.errors += row.by_class['5xx'] || 0;
    total.seconds += row.seconds;
  }
  samples.push(total);
  if (samples.length > POINTS + 1) samples.shift();
  const rates = { rps: [], err: [], lat: [] };
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    const dt = Math.max(0.001, (b.t - a.t) / 1000);
    const n = Math.max(0, b.requests - a.requests);
    rates.rps.push(n / dt);
    rates.err.push(Math.max(0, b.errors - a.errors) / dt);
    rates.lat.push(n > 0 ? ((b.seconds - a.seconds) / n) * 1000 : 0);
  }
  draw('chart-rps', rates.rps);
  draw('chart-err', rates.err);
  draw('chart-lat', rates.lat);
  const last = (list) => (list.length ? list[list.length - 1] : 0);
  $('now-rps').textContent = last(rates.rps).toFixed(1);
  $('now-err').textContent = last(rates.err).toFixed(2);
  $('now-lat').textContent = last(rates.lat).toFixed(1);
  const consumers = r.json.consumers || [];
  $('consumer-labels-off').hidden = !r.json.metrics || consumers.length > 0;
  fill(
    'top-consumers',
    consumers.slice(0, 10).map((c) => el('tr', {}, el('td', { text: c.consumer }), el('td', { className: 'num', text: c.requests }), el('td', { className: 'num', text: c.errors }))),
  );
  fill(
    'routes',
    routes.slice(0, 10).map((row) =>
      el(
        'tr',
        {},
        el('td', { text: row.route }),
        el('td', { text: row.service }),
        el('td', { className: 'num', text: row.requests }),
        el('td', { className: 'num', text: row.by_class['4xx'] || 0 }),
        el('td', { className: 'num', text: row.by_class['5xx'] || 0 }),
        el('td', { className: 'num', text: row.requests ? ((row.seconds / row.requests) * 1000).toFixed(1) : '' }),
      ),
    ),
  );
}

// --- state -------------------------------------------------------------------

async function state() {
  const r = await api('GET', '/api/v1/state');
  if (r.status !== 200) return;
  const s = r.json;
  $('node').textContent = `node ${s.node} · config version ${s.version} (stored ${s.stored_version ?? '-'}) · source of truth: ${s.source_of_truth}`;
  const rows = [];
  for (const svc of s.services) {
    for (const t of svc.targets) {
      rows.push(
        el(
          'tr',
          {},
          el('td', { text: svc.name }),
          el('td', { text: t.origin }),
          el('td', { className: t.healthy ? 'up' : 'down', text: t.healthy ? 'healthy' : 'down' }),
          el('td', { className: t.breaker === 'open' ? 'down' : '', text: t.breaker ?? '-' }),
        ),
      );
    }
  }
  fill('upstreams', rows);
  fill(
    'certificates',
    s.certificates.map((c) =>
      el(
        'tr',
        {},
        el('td', { text: `${c.source} (${c.role})` }),
        el('td', { text: c.subject }),
        el('td', { text: c.expires.slice(0, 10) }),
        el('td', { className: `num ${c.days_left < 14 ? 'down' : c.days_left < 30 ? 'soon' : ''}`, text: Math.floor(c.days_left) }),
      ),
    ),
  );
}

// --- consumers ---------------------------------------------------------------

function confirmButton(label, action) {
  const button = el('button', { type: 'button', className: 'danger', text: label });
  let armed = false;
  button.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      button.textContent = `${label}: sure?`;
      setTimeout(() => {
        armed = false;
        button.textContent = label;
      }, 5000);
      return;
    }
    button.disabled = true;
    await action();
  });
  return button;
}

async function consumers() {
  const r = await api('GET', '/api/v1/consumers');
  if (r.status !== 200) return;
  const rows = [];
  for (const c of r.json.items) {
    const creds = c.credentials.length ? c.credentials : [null];
    for (const cred of creds) {
      const actions = el('td');
      if (cred && can('credentials', 'write')) {
        actions.append(
          confirmButton('Revoke', async () => {
            const current = await api('GET', `/api/v1/consumers/${encodeURIComponent(c.name)}`);
            const done = await api('DELETE', `/api/v1/consumers/${encodeURIComponent(c.name)}/credentials/${encodeURIComponent(cred.id)}`, { ifMatch: current.etag });
            $('consumers-error').textContent = done.status === 204 ? '' : errorText(done);
            await consumers();
            await versions();
          }),
        );
      }
      rows.push(
        el(
          'tr',
          { 'data-consumer': c.name },
          el('td', { text: c.name }),
          el('td', { text: cred ? `${cred.method} ${cred.id}` : '-' }),
          el('td', { className: 'muted', text: cred ? cred.fingerprint : '' }),
          actions,
        ),
      );
    }
  }
  fill('consumers', rows);
}

// --- defense actions -----------------------------------------------------------

function describeAction(a) {
  if (a.kind === 'tighten') return `tighten to ${a.limit} per ${Math.round(a.per_ms / 1000)} s`;
  if (a.kind === 'require') return `require ${a.policy}`;
  return a.kind;
}

async function defense() {
  const r = await api('GET', '/api/v1/defense/actions');
  if (r.status !== 200) return;
  $('defense-off').hidden = r.json.enabled;
  fill(
    'defense',
    r.json.actions.map((a) => {
      const actions = el('td');
      if (can('defense', 'write')) {
        actions.append(
          confirmButton('Lift', async () => {
            const done = await api('DELETE', `/api/v1/defense/actions/${encodeURIComponent(a.id)}`);
            $('defense-error').textContent = done.status === 200 || done.status === 404 ? '' : errorText(done);
            await defense();
          }),
        );
      }
      return el(
        'tr',
        { 'data-action': a.id, 'data-target': a.target },
        el('td', { text: `${a.scope} ${a.target}` }),
        el('td', { text: describeAction(a) }),
        el('td', { text: a.expires_at.replace('T', ' ').slice(0, 19) }),
        el('td', { text: a.by }),
        el('td', { text: a.reason }),
        actions,
      );
    }),
  );
}

// --- fleet -----------------------------------------------------------------------

async function fleet() {
  const r = await api('GET', '/api/v1/fleet');
  if (r.status !== 200) return;
  const f = r.json;
  const short = (hash) => (hash ? hash.slice(0, 12) : '-');
  if (f.role === 'standalone') $('fleet-role').textContent = 'standalone node: no control plane, no data planes';
  else if (f.role === 'data_plane') $('fleet-role').textContent = `data plane of ${f.control_plane}, running config ${short(f.version.hash)}`;
  else $('fleet-role').textContent = `control plane serving config ${short(f.version.hash)} (revision ${f.version.revision}) to ${f.nodes.length} data plane(s)`;
  fill(
    'fleet',
    f.nodes.map((n) => {
      const total = Object.values(n.requests).reduce((a, b) => a + b, 0);
      return el(
        'tr',
        { 'data-node': n.name },
        el('td', { text: n.name }),
        el('td', { text: n.software || '-' }),
        el('td', { className: 'muted', text: short(n.hash) }),
        el('td', { className: n.in_step ? 'up' : 'down', text: n.in_step ? 'yes' : n.refused ? 'refused the latest' : 'no' }),
        el('td', { className: n.ready ? 'up' : 'down', text: n.ready ? 'ready' : n.reasons.join(', ') || 'not ready' }),
        el('td', { className: 'num', text: total }),
        el('td', { text: n.seen.replace('T', ' ').slice(0, 19) }),
      );
    }),
  );
}

// --- config history ----------------------------------------------------------

async function showDiff(id) {
  const r = await api('GET', `/api/v1/config/versions/${id}/diff`);
  const pre = $('diff');
  pre.hidden = false;
  if (r.status !== 200) {
    pre.textContent = errorText(r);
    return;
  }
  const lines = [el('div', { className: 'muted', text: `version ${r.json.from ?? '(none)'} → ${r.json.to}` })];
  if (r.json.changes.length === 0) lines.push(el('div', { text: 'no changes' }));
  for (const c of r.json.changes) {
    const text =
      c.op === 'added' ? `+ ${c.path}: ${JSON.stringify(c.after)}` : c.op === 'removed' ? `- ${c.path}: ${JSON.stringify(c.before)}` : `~ ${c.path}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`;
    lines.push(el('div', { className: c.op, text }));
  }
  pre.replaceChildren(...lines);
}

async function versions() {
  const r = await api('GET', '/api/v1/config/versions?limit=30');
  if (r.status !== 200) return;
  fill(
    'versions',
    r.json.items.map((v) => {
      const link = el('a', { href: `#version-${v.id}`, text: `#${v.id}` });
      link.addEventListener('click', (e) => {
        e.preventDefault();
        void showDiff(v.id);
      });
      const actions = el('td');
      if (v.current) actions.append(el('span', { className: 'muted', text: 'running' }));
      else if (can('config', 'write')) {
        actions.append(
          confirmButton('Roll back', async () => {
            const config = await api('GET', '/api/v1/config');
            const done = await api('POST', `/api/v1/config/versions/${v.id}/rollback`, { ifMatch: config.etag });
            $('versions-error').textContent = done.status === 200 ? '' : errorText(done);
            await versions();
            await consumers();
          }),
        );
      }
      return el('tr', { 'data-version': v.id }, el('td', {}, link), el('td', { text: v.time.replace('T', ' ').slice(0, 19) }), el('td', { text: v.kind }), el('td', { text: v.actor }), actions);
    }),
  );
}

// --- live events (server-sent events over fetch: EventSource cannot send the Authorization header) ---

async function streamEvents() {
  if (events) events.abort();
  events = new AbortController();
  const signal = events.signal;
  $('events-state').textContent = '(connecting)';
  try {
    const res = await fetch('/api/v1/events', { headers: auth(), signal, cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    $('events-state').textContent = '(live)';
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (data) addEvent(JSON.parse(data));
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    $('events-state').textContent = `(${err.message}; retrying)`;
  }
  if (!signal.aborted) setTimeout(() => void streamEvents(), 3000);
}

function addEvent(e) {
  const body = $('events').tBodies[0];
  const row = el(
    'tr',
    { 'data-type': e.type },
    el('td', { text: e.time.slice(11, 19) }),
    el('td', { className: `sev-${e.severity}`, text: e.severity }),
    el('td', { text: e.type }),
    el('td', { text: e.message }),
    el('td', { text: (e.request && e.request.client_ip) || '' }),
  );
  body.prepend(row);
  while (body.rows.length > 100) body.deleteRow(body.rows.length - 1);
}

// --- start and stop ----------------------------------------------------------

function logout(message = '') {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  me = null;
  for (const t of timers) clearInterval(t);
  timers = [];
  if (events) events.abort();
  $('app').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login').hidden = false;
  $('login-error').textContent = message;
}

async function open() {
  const r = await api('GET', '/api/v1/me');
  if (r.status !== 200) return logout(errorText(r));
  me = r.json;
  $('who').textContent = `${me.name} (${me.role})${me.via === 'certificate' ? ' by client certificate' : ''}`;
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = me.via === 'certificate';
  const safely = (fn) => () => fn().catch(() => {});
  for (const fn of [traffic, state, consumers, versions, defense, fleet]) void safely(fn)();
  timers.push(
    setInterval(safely(traffic), 2000),
    setInterval(safely(state), 5000),
    setInterval(safely(consumers), 5000),
    setInterval(safely(versions), 5000),
    setInterval(safely(defense), 3000),
    setInterval(safely(fleet), 3000),
  );
  void streamEvents();
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  $('token').value = '';
  sessionStorage.setItem(TOKEN_KEY, token);
  open().catch(() => {});
});
$('logout').addEventListener('click', () => logout());

/** No token yet: over HTTPS, a client certificate the listener maps to an admin client opens the page at once. */
async function byCertificate() {
  logout();
  if (location.protocol !== 'https:') return;
  const res = await fetch('/api/v1/me', { cache: 'no-store', credentials: 'same-origin' });
  if (res.status === 200) await open();
}

if (token) open().catch(() => {});
else byCertificate().catch(() => {});
