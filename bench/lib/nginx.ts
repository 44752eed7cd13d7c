/**
 * The two nginx instances of the benchmark, each with its own prefix dir and
 * config: the fixed-response upstream, and the reference reverse proxy
 * (1 worker, HTTP/1.1 keep-alive to the upstream). Run in the foreground
 * (daemon off) so the supervisor owns the master process.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntilAnswering } from './http-check.js';
import { freePort } from './ports.js';
import type { Started, Supervisor } from './processes.js';

/** The upstream's fixed response body: exactly 100 bytes of JSON. */
export const FIXED_BODY = (() => {
  const head = '{"ok":true,"from":"bench-upstream","pad":"';
  const tail = '"}';
  return head + 'x'.repeat(100 - head.length - tail.length) + tail;
})();

export interface RunningServer {
  readonly process: Started;
  readonly url: string;
  readonly port: number;
  /** Where the access log goes, when it is on. */
  readonly accessLog: string | undefined;
}

function commonConfig(dir: string, workers = 1): string {
  // As root, nginx workers would drop to "nobody" and lose access to the 0700 temp dir.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}daemon off;
master_process on;
worker_processes ${workers};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
`;
}

function httpCommon(dir: string): string {
  // Keep-alive connections are never closed by a request count: every proxy is measured on the same footing.
  return `  client_body_temp_path ${join(dir, 'tmp/body')};
  proxy_temp_path ${join(dir, 'tmp/proxy')};
  fastcgi_temp_path ${join(dir, 'tmp/fastcgi')};
  uwsgi_temp_path ${join(dir, 'tmp/uwsgi')};
  scgi_temp_path ${join(dir, 'tmp/scgi')};
  keepalive_requests 1000000;
  keepalive_timeout 65s;
`;
}

async function startNginx(supervisor: Supervisor, nginx: string, dir: string, name: string, config: string, port: number, accessLog: string | undefined): Promise<RunningServer> {
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, config);
  // -e: the startup error log, before the config's error_log applies (the default one may not be writable).
  const started = supervisor.spawn(name, nginx, ['-p', dir, '-c', file, '-e', join(dir, 'error.log')]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(`${url}/`, started.exited, name);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${started.stderrTail()}\n(config: ${file}, logs: ${join(dir, 'error.log')})`);
  }
  return { process: started, url, port, accessLog };
}

export async function startUpstream(supervisor: Supervisor, nginx: string, dir: string): Promise<RunningServer> {
  const port = await freePort();
  const config = `${commonConfig(dir)}http {
${httpCommon(dir)}  access_log off;
  server {
    listen 127.0.0.1:${port};
    location / {
      default_type application/json;
      return 200 '${FIXED_BODY}';
    }
  }
}
`;
  return startNginx(supervisor, nginx, dir, 'nginx upstream', config, port, undefined);
}

export async function startProxy(supervisor: Supervisor, nginx: string, dir: string, upstreamPort: number, withAccessLog: boolean, workers = 1): Promise<RunningServer> {
  const port = await freePort();
  const accessLog = withAccessLog ? join(dir, 'access.log') : undefined;
  const config = `${commonConfig(dir, workers)}http {
${httpCommon(dir)}  access_log ${accessLog ? `${accessLog} combined` : 'off'};
  upstream backend {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  return startNginx(supervisor, nginx, dir, withAccessLog ? 'nginx proxy (access log)' : 'nginx proxy', config, port, accessLog);
}
