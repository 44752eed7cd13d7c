/**
 * The dashboard's files (src/admin/dashboard/: one page, its script and
 * style; no framework, nothing from a CDN), served by the admin listener
 * with a CSP that allows only them: no inline script or style, no other
 * origin, no framing. The files hold no data: the page asks for an admin
 * token and calls the API with it in the Authorization header (never a
 * cookie, so another site cannot make the browser send it: no CSRF).
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answer } from './server.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const DIR = new URL('./dashboard/', import.meta.url);

interface DashboardFile {
  readonly path: string;
  readonly file: string;
  readonly type: string;
  readonly summary: string;
}

const FILES: readonly DashboardFile[] = [
  { path: '/dashboard/', file: 'index.html', type: 'text/html; charset=utf-8', summary: 'The dashboard page' },
  { path: '/dashboard/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8', summary: "The dashboard's script" },
  { path: '/dashboard/app.css', file: 'app.css', type: 'text/css; charset=utf-8', summary: "The dashboard's style" },
];

const cache = new Map<string, Buffer>();

export const dashboardRoutes = FILES.map((f) => ({
  path: f.path,
  type: f.type,
  summary: f.summary,
  async serve(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = cache.get(f.file);
    if (!body) {
      try {
        body = await readFile(new URL(f.file, DIR));
      } catch {
        return answer(res, 404, { error: 'not_found' });
      }
      cache.set(f.file, body);
    }
    res.writeHead(200, {
      'content-type': f.type,
      'content-length': body.length,
      'content-security-policy': CSP,
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
    });
    res.end(body);
  },
}));
