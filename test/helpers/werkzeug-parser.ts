/**
 * Werkzeug's own parsers, as Flask runs them, in one long-lived Python
 * process: each request is a JSON line on stdin (Content-Type, body in
 * base64, query string, Cookie header), each answer a JSON line with what
 * Werkzeug read — form fields, files (name and file name), query arguments,
 * cookies, and get_json(force=True) flattened into its strings and keys.
 * A process per case would cost ~100 ms each; this costs well under 1 ms.
 * Werkzeug comes from Debian (python3-werkzeug 2.2.2, for /usr/bin/python3:
 * a python3 earlier on PATH may carry another Werkzeug); `python` picks another.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface WerkzeugInput {
  contentType?: string;
  body?: Buffer;
  query?: string;
  cookie?: string;
  /** The request target's path as sent (percent-encoded): the WSGI server unquotes it into PATH_INFO as wsgiref does. */
  path?: string;
}

export interface WerkzeugReading {
  form: Array<[string, string]>;
  files: Array<[string, string]>;
  args: Array<[string, string]>;
  cookies: Array<[string, string]>;
  /** Every string and key of get_json(force=True), or null when it did not parse. */
  json: { strings: string[]; keys: string[] } | null;
  /** request.path */
  path: string;
  errors: string[];
}

const SCRIPT = String.raw`
import sys, json, base64, io
from urllib.parse import unquote
from werkzeug.test import create_environ
from werkzeug.wrappers import Request

def flatten(value, strings, keys):
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            strings.append(v)
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            for k, item in v.items():
                keys.append(k)
                stack.append(item)

for line in sys.stdin:
    case = json.loads(line)
    body = base64.b64decode(case.get('body') or '')
    environ = create_environ('/', method='POST')
    environ['wsgi.input'] = io.BytesIO(body)
    environ['CONTENT_LENGTH'] = str(len(body))
    if case.get('contentType') is not None:
        environ['CONTENT_TYPE'] = case['contentType']
    else:
        environ.pop('CONTENT_TYPE', None)
    environ['QUERY_STRING'] = case.get('query') or ''
    if case.get('path') is not None:
        environ['PATH_INFO'] = unquote(case['path'], 'latin-1')
    if case.get('cookie') is not None:
        environ['HTTP_COOKIE'] = case['cookie']
    out = {'form': [], 'files': [], 'args': [], 'cookies': [], 'json': None, 'path': '', 'errors': []}
    request = Request(environ)
    out['path'] = request.path
    for what in ('form', 'args', 'cookies'):
        try:
            out[what] = [[k, v] for k, v in getattr(request, what).items(multi=True)]
        except Exception as e:
            out['errors'].append(what + ': ' + repr(e))
    try:
        out['files'] = [[k, f.filename] for k, f in request.files.items(multi=True)]
    except Exception as e:
        out['errors'].append('files: ' + repr(e))
    try:
        request2 = Request(dict(environ, **{'wsgi.input': io.BytesIO(body)}))
        parsed = request2.get_json(force=True, silent=True)
        if parsed is not None:
            strings, keys = [], []
            flatten(parsed, strings, keys)
            out['json'] = {'strings': strings, 'keys': keys}
    except Exception as e:
        out['errors'].append('json: ' + repr(e))
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()
`;

export class Werkzeug {
  private readonly child: ChildProcess;
  private readonly waiting: Array<(line: string) => void> = [];
  private stderr = '';

  constructor(python = '/usr/bin/python3') {
    this.child = spawn(python, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.waiting.shift()?.(line));
    this.child.once('exit', (code) => {
      for (const resolve of this.waiting.splice(0)) resolve(JSON.stringify({ crashed: `python3 exited (${code}): ${this.stderr}` }));
    });
  }

  /** What Werkzeug reads from one request. */
  read(input: WerkzeugInput): Promise<WerkzeugReading> {
    return new Promise((resolve, reject) => {
      this.waiting.push((line) => {
        const parsed = JSON.parse(line) as WerkzeugReading & { crashed?: string };
        if (parsed.crashed) reject(new Error(parsed.crashed));
        else resolve(parsed);
      });
      this.child.stdin!.write(JSON.stringify({ ...input, body: input.body?.toString('base64') }) + '\n');
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    await exited;
  }
}

function werkzeugVersion(python: string): string | undefined {
  const r = spawnSync(python, ['-c', 'import importlib.metadata as m; print(m.version("werkzeug"))'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * The pythons to fuzz against: always /usr/bin/python3 with Debian's
 * python3-werkzeug (2.2), which .ci/install guarantees — its absence fails
 * the run loudly instead of registering no test — and, when the python3 on
 * PATH (or WERKZEUG_PYTHON) has another Werkzeug (the machine image's pip
 * Werkzeug 3.1), that one too. A PATH python3 without Werkzeug adds nothing.
 */
export function werkzeugPythons(): string[] {
  const debian = werkzeugVersion('/usr/bin/python3');
  if (debian === undefined) throw new Error('/usr/bin/python3 has no Werkzeug: install python3-werkzeug (bash .ci/install) to run the parser differential tests');
  const out = ['/usr/bin/python3'];
  const other = process.env.WERKZEUG_PYTHON ?? 'python3';
  const otherVersion = werkzeugVersion(other);
  if (otherVersion !== undefined && otherVersion !== debian) out.push(other);
  return out;
}
